"""The bad-input and fault corpus (issue 10, item 7): every case refuses clearly and
changes nothing, or (for faults a run must repair) repairs and leaves no temp files.

Golden messages: tests/golden/bad_inputs.tsv. Cases failing on main: known_failures.py.
Tally: ``python scripts/bad_input_tally.py`` (writes docs/bad-inputs.md).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from badinputs.case import Case
from badinputs.corpus import CASES
from badinputs.golden import read_golden
from badinputs.known_failures import KNOWN_FAILURES
from badinputs.runner import Context, run_case
from badinputs.session import UPDATE, publish_in_process, record

GOLDEN = read_golden()


def _marks(case: Case) -> list[Any]:
    marks: list[Any] = []
    if "rgw" in case.needs:
        marks.append(pytest.mark.integration)
    if case.id in KNOWN_FAILURES:
        marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[case.id]))
    return marks


def test_corpus_is_big_and_varied() -> None:
    """At least 200 cases, and no category is a token one."""
    assert len(CASES) >= 200
    categories = {case.category for case in CASES}
    assert categories >= {"files", "audio", "state", "processes", "storage", "serve", "cli"}
    assert all(sum(c.category == name for c in CASES) >= 5 for name in categories)


def test_known_failures_name_real_cases() -> None:
    assert set(KNOWN_FAILURES) <= {case.id for case in CASES}


def test_golden_has_one_row_per_case() -> None:
    """Every case has a row (possibly still empty), and no row outlives its case."""
    assert set(GOLDEN) == {case.id for case in CASES}


def test_only_known_failures_lack_a_golden_row() -> None:
    undecided = {case_id for case_id, row in GOLDEN.items() if not row.decided}
    assert undecided <= set(KNOWN_FAILURES)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=_marks(c)) for c in CASES])
def test_bad_input(
    case: Case, template: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with _context(case, template, tmp_path, request) as (ctx, case):
        outcome = run_case(case, ctx)
    expected = GOLDEN.get(case.id)
    record(case, outcome, expected)
    shown = f"exit {outcome.exit}: {outcome.message}\n--- stderr ---\n{outcome.stderr[-3000:]}"
    assert not outcome.traceback, shown
    assert not outcome.hung, shown
    if case.expect == "accept":
        assert outcome.exit == 0, shown
    elif case.mode in ("inprocess", "subprocess"):
        assert outcome.exit != 0, shown
    assert outcome.changed == [], shown
    if not UPDATE:
        assert expected is not None and expected.decided, f"no golden row yet; {shown}"
        assert (outcome.exit, outcome.message) == (expected.exit, expected.message), shown


@contextmanager
def _context(
    case: Case, template: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Context, Case]]:
    """A fresh copy of the template, damaged by the case; S3 buckets and ports it needs."""
    root = tmp_path / "project"
    shutil.copytree(template, root, symlinks=True)
    with ExitStack() as stack:
        port = _unused_port()
        if "busy-port" in case.needs:
            stack.enter_context(_listening(port))
        endpoint = admin = bucket = None
        if "moto" in case.needs:
            endpoint = request.getfixturevalue("moto_endpoint")
        if "rgw" in case.needs:
            endpoint = os.environ.get("AWS_ENDPOINT_URL")
            if not endpoint:
                pytest.skip("integration: set AWS_ENDPOINT_URL (see scripts/ci_s3.sh)")
            real = {n: os.environ[n] for n in _AWS if n in os.environ}
            case = dataclasses.replace(case, env={**real, **case.env})
        if endpoint:
            admin = _admin(endpoint, rgw="rgw" in case.needs)
            bucket = "bi-" + hashlib.sha1(case.id.encode()).hexdigest()[:12]
            admin.create_bucket(Bucket=bucket)
            stack.callback(_drop_bucket, admin, bucket)
        ctx = Context(root, endpoint, bucket, admin, port)
        if "s3-published" in case.needs:
            env = {name: ctx.fill(value) for name, value in case.env.items()}
            publish_in_process(root, ["publish", "--storage", f"s3://{bucket}/pod"], env)
        if case.setup is not None:
            case.setup(root)
        if case.s3_damage is not None:
            assert bucket is not None, f"{case.id}: s3_damage needs an S3 server"
            case.s3_damage(admin, bucket)
        yield ctx, case


_AWS = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")


def _admin(endpoint: str, *, rgw: bool) -> Any:
    """A client with the server's own credentials (moto takes any)."""
    import boto3

    key, secret = "badinputs-key", "badinputs-secret"
    if rgw:
        key, secret = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )


def _drop_bucket(admin: Any, bucket: str) -> None:
    try:
        for item in admin.list_objects_v2(Bucket=bucket).get("Contents", []):
            admin.delete_object(Bucket=bucket, Key=item["Key"])
        admin.delete_bucket(Bucket=bucket)
    except Exception:  # best effort: moto is thrown away, RGW's cluster too
        pass


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _listening(port: int) -> Iterator[None]:
    """Something else already serving on ``port``."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        yield
