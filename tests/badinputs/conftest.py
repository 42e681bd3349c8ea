"""Fixtures of the bad-input suite: one published template project and the moto server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from s3_helpers import moto_server

from badinputs.session import finish, publish_in_process

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped show with the sample episode published to local storage, once a session:
    every case starts from a copy of this."""
    root = tmp_path_factory.mktemp("badinputs") / "template"
    shutil.copytree(REPO / "episodes", root / "episodes")
    (root / "feeds").mkdir()
    publish_in_process(root, ["publish"], {})
    shutil.rmtree(root / ".dfl-audio", ignore_errors=True)
    assert (root / "feeds" / "interviews.published.json").is_file()
    return root


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto S3 server over real HTTP on 127.0.0.1, started only if an S3 case runs."""
    with moto_server() as endpoint:
        yield endpoint


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    finish()
