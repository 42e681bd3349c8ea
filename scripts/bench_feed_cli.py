"""Benchmark ``dfl-audio feed`` end to end: regenerate the feed of a 1,000-episode show.

Targets: (a) ``dfl-audio feed`` on local storage under 1 s (issue 2); (b) feed-only
regeneration + upload to S3 under 2 s (issue 4), against a moto server always and against the
S3 endpoint in AWS_ENDPOINT_URL (e.g. Ceph RGW) when it is set.

The project is generated in a temp folder: 1,000 copies of the sample episode (own date,
slug, GUID and title; all sharing the sample's 62 KB recording, artwork, transcript and
chapters) and a ``feeds/interviews.published.json`` that records each as published, built
with the pipeline's own helpers, exactly as a publish would have left it. Each command runs
as a real ``dfl-audio`` process (Python start-up and imports included, as a user waits for
it); the first run writes the feed, then "unchanged" runs and runs after editing one
episode's title are timed. With ``--profile``, or when a target is missed, the in-process
run is profiled and the time split by stage.

    .venv/bin/python scripts/bench_feed_cli.py --episodes 1000 --runs 5
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import io
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dfl_audio.episode_audio import (  # noqa: E402
    content_key,
    episode_tags_digest,
    settings_digest,
)
from dfl_audio.episodes import Project, read_show  # noqa: E402
from dfl_audio.feed import chapters_json  # noqa: E402
from dfl_audio.fsutil import sha256_bytes, sha256_file  # noqa: E402
from dfl_audio.records import Published  # noqa: E402
from dfl_audio.side_files import side_files  # noqa: E402
from dfl_audio.state import PublishState, save_state  # noqa: E402
from dfl_audio.validate import load_catalog  # noqa: E402

SAMPLE = "episodes/2026-11-20-welcome.md"
SAMPLE_GUID = "190bd4dd-f34d-4f16-a06a-213eaff1a95a"
CLI = [sys.executable, "-m", "dfl_audio"]
TARGETS = {"local": 1.0, "s3": 2.0}
# Where the time goes: (label, a substring of "file:function" in the profile).
STAGES = [
    ("python start-up + imports (not in profile)", ""),
    ("load_catalog (read + validate all files)", "validate.py:load_catalog"),
    ("  YAML front matter parsing", "yamlfile.py:load_with_lines"),
    ("  show notes markdown -> html/text", "notes.py:"),
    ("  artwork checks (Pillow)", "validate.py:_artwork"),
    ("storage inventory (the storage check)", ".inventory"),
    ("plan_episode (fingerprints)", "plan.py:plan_episode"),
    ("side files (hash art/transcripts)", "side_files.py:side_files"),
    ("store side files (skip rule)", "side_files.py:store_side_files"),
    ("  sha256 of repository files", "fsutil.py:sha256_file"),
    ("save_state", "state.py:save_state"),
    ("render (feed items + feedgen)", "feed_build.py:render"),
    ("merge_foreign_items", "feed.py:merge_foreign_items"),
    ("diff_feeds", "feed.py:diff_feeds"),
    ("storage get (feed)", ".get"),
    ("storage put_conditional (feed)", ".put_conditional"),
]


# -- the generated project ------------------------------------------------------------------------


def make_project(root: Path, count: int) -> Project:
    """``count`` published episodes; the sample itself is removed, drafts stay."""
    shutil.copytree(REPO / "episodes", root / "episodes")
    (root / "feeds").mkdir()
    template = (root / SAMPLE).read_text(encoding="utf-8")
    (root / SAMPLE).unlink()
    for number in range(count):
        day = date(2026, 11, 20) - timedelta(days=number)
        text = (
            template.replace("2026-11-20 09:00:00", f"{day.isoformat()} 09:00:00")
            .replace(SAMPLE_GUID, str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-{number}")))
            .replace("Welcome to the Depth First", f"Episode {number}: Welcome to the Depth First")
        )
        path = root / "episodes" / f"{day.isoformat()}-bench-{number:04d}.md"
        path.write_text(text, encoding="utf-8")
    project = Project(root)
    write_state(project)
    return project


def write_state(project: Project) -> None:
    """The state a publish of every episode would have written (keys as publish makes them)."""
    show, episodes = load_catalog(project).require_valid()
    state = PublishState()
    show_art = project.root / show.artwork
    state.show_artwork_key = content_key("art", "show", sha256_file(show_art), ".jpg")
    digest = settings_digest(show)
    published_at = datetime(2026, 11, 25, tzinfo=UTC)
    for episode in episodes:
        meta = episode.meta
        if meta.draft:
            continue
        assert meta.audio is not None and meta.artwork and meta.transcript
        source = project.root / meta.audio
        stat = source.stat()
        fake_mp3_sha = sha256_bytes(fake_mp3(meta.guid))
        chapters = chapters_json(meta.chapters)
        state.episodes[meta.guid] = Published(
            guid=meta.guid,
            episode_path=episode.path,
            source_sha256=sha256_file(source),
            source_size=stat.st_size,
            source_mtime_ns=stat.st_mtime_ns,
            settings_digest=digest,
            audio_key=content_key("audio", episode.slug, fake_mp3_sha, ".mp3"),
            audio_sha256=fake_mp3_sha,
            audio_bytes=len(fake_mp3(meta.guid)),
            duration=7.8,
            chapters_key=content_key(
                "audio", episode.slug, sha256_bytes(chapters), ".chapters.json"
            ),
            artwork_key=content_key(
                "art", episode.slug, sha256_file(project.root / meta.artwork), ".jpg"
            ),
            published_at=published_at,
            tags_digest=episode_tags_digest(project, show, episode, 0.0, 7.8),
        )
    state, _ = side_files(project, show, episodes, state)  # the transcripts' keys, as publish's
    save_state(project.state_file(show), state)


@functools.cache
def fake_mp3(guid: str) -> bytes:
    """Stands in for an episode's published MP3: the sample's own MP3 recording, so an edit
    that re-tags it (a title change) works on real MPEG frames."""
    return (REPO / "episodes/audio/sample-clip.mp3").read_bytes()


def claim_storage(project: Project, options: list[str], env: dict[str, str]) -> None:
    """Store the audio objects the state records, and record in the state that the case's
    storage holds the files, as a publish there would."""
    from dfl_audio.config import Overrides, effective_show
    from dfl_audio.state import load_state
    from dfl_audio.storage import open_storage

    show = read_show(project).item
    assert show is not None
    show = effective_show(show, Overrides(*_storage_and_url(options)), env)
    saved = dict(os.environ)
    os.environ.update(env)  # boto3 reads the endpoint and credentials from the environment
    try:
        storage = open_storage(show.storage.location, root=project.root, settings=show.storage)
        identity = storage.identity(create=True)
        for record in load_state(project.state_file(show)).episodes.values():
            storage.put_bytes(record.audio_key, fake_mp3(record.guid))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    state_path = project.state_file(show)
    state = load_state(state_path)
    state.storage = identity
    save_state(state_path, state)


def edit_one_title(project: Project, run: int) -> None:
    """A metadata edit: one episode's title changes (the feed changes, no audio does)."""
    path = sorted(project.episodes_dir.glob("*-bench-0000.md"))[0]
    text = path.read_text(encoding="utf-8")
    start = text.index('title: "') + len('title: "')
    end = text.index('"', start)
    path.write_text(text[:start] + f"Edited title {run}" + text[end:], encoding="utf-8")


# -- running the CLI ------------------------------------------------------------------------------


def feed_command(project: Project, options: list[str]) -> list[str]:
    return [*CLI, "--root", str(project.root), "-q", "feed", *options]


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stdout}{done.stderr}")
    return elapsed


def bench(
    name: str, project: Project, options: list[str], env: dict[str, str], runs: int
) -> dict[str, float | list[float]]:
    """First run, then ``runs`` unchanged runs and ``runs`` runs each after one edit."""
    command = feed_command(project, options)
    first = timed(command, env)
    unchanged = [timed(command, env) for _ in range(runs)]
    edited = []
    for run in range(runs):
        edit_one_title(project, run)
        edited.append(timed(command, env))
    startup = [timed([*CLI, "--version"], env) for _ in range(3)]
    return {
        "first": first,
        "unchanged": unchanged,
        "edited": edited,
        "startup": min(startup),
    }


# -- S3 servers -----------------------------------------------------------------------------------


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_env(endpoint: str, credentials: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DFL_AUDIO_"))}
    return env | credentials | {"AWS_ENDPOINT_URL": endpoint}


def make_bucket(endpoint: str, credentials: dict[str, str]) -> str:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        region_name=credentials["AWS_DEFAULT_REGION"],
    )
    bucket = f"dfl-bench-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    return bucket


# -- profiling ------------------------------------------------------------------------------------


def profile_run(project: Project, storage_options: list[str], env: dict[str, str]) -> str:
    """The in-process ``feed`` run under cProfile: a stage table and the top functions."""
    from dfl_audio.config import Overrides, effective_show
    from dfl_audio.publish import RunOptions, run
    from dfl_audio.storage import open_storage

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        show = read_show(project).item
        assert show is not None
        overrides = Overrides(*_storage_and_url(storage_options))
        show = effective_show(show, overrides)
        storage = open_storage(show.storage.location, root=project.root, settings=show.storage)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.runcall(run, project, storage, RunOptions(process_audio=False), None, show)
        total = time.perf_counter() - started
    finally:
        os.environ.clear()
        os.environ.update(saved)
    stats = pstats.Stats(profiler)
    lines = [f"  in-process run(): {total:.3f} s (profiled; cProfile adds overhead)"]
    for label, needle in STAGES[1:]:
        lines.append(f"    {label:<42} {_cumulative(stats, needle):7.3f} s")
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(12)
    top = [line for line in text.getvalue().splitlines() if line.strip()][-13:]
    return "\n".join([*lines, "  top functions by own time:", *("    " + t for t in top)])


def _storage_and_url(options: list[str]) -> tuple[str | None, str | None]:
    values = dict(zip(options[::2], options[1::2], strict=True))
    return values.get("--storage"), values.get("--public-url")


def _cumulative(stats: pstats.Stats, needle: str) -> float:
    """The largest cumulative time of a function matching ``needle`` (file:function)."""
    best = 0.0
    for (filename, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
        key = f"{Path(filename).name}:{function}"
        if needle.startswith("."):
            matched = function == needle[1:] and Path(filename).name in {"s3.py", "storage.py"}
        else:
            matched = key.startswith(needle) or (needle.endswith(":") and key.startswith(needle))
        if matched:
            best = max(best, float(row[3]))
    return best


# -- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per case")
    parser.add_argument("--profile", action="store_true", help="profile even if on target")
    args = parser.parse_args()

    base_env = {k: v for k, v in os.environ.items() if not k.startswith("DFL_AUDIO_")}
    rgw = os.environ.get("AWS_ENDPOINT_URL")
    rgw_credentials = {
        name: os.environ.get(name, "")
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    }
    moto_credentials = {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    results: list[tuple[str, str, dict[str, float | list[float]]]] = []
    profiles: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dfl-bench-feed-") as tmp, moto_server() as moto:
        cases: list[tuple[str, str, list[str], dict[str, str]]] = []
        local_env = {k: v for k, v in base_env.items() if not k.startswith("AWS_")}
        cases.append(("local", "local folder", [], local_env))
        bucket = make_bucket(moto, moto_credentials)
        moto_options = ["--storage", f"s3://{bucket}/pod", "--public-url", f"{moto}/{bucket}/pod/"]
        cases.append(("s3", "S3: moto server", moto_options, s3_env(moto, moto_credentials)))
        if rgw:
            bucket = make_bucket(rgw, rgw_credentials)
            rgw_options = [
                "--storage",
                f"s3://{bucket}/pod",
                "--public-url",
                f"{rgw}/{bucket}/pod/",
            ]
            cases.append(("s3", f"S3: {rgw}", rgw_options, s3_env(rgw, rgw_credentials)))
        started = time.perf_counter()
        template = make_project(Path(tmp) / "template", args.episodes)
        made = time.perf_counter() - started
        print(f"generated {args.episodes} episodes + state in {made:.1f} s", file=sys.stderr)
        print_header(args.episodes, args.runs)
        for number, (kind, label, options, env) in enumerate(cases):
            project = Project(Path(tmp) / f"case{number}")
            shutil.copytree(template.root, project.root)
            claim_storage(project, options, env)
            result = bench(label, project, options, env, args.runs)
            results.append((kind, label, result))
            print_row(kind, label, result)
            if args.profile or statistics.median(result["unchanged"]) > TARGETS[kind]:  # type: ignore[arg-type]
                profiles.append(f"{label} (unchanged run):\n" + profile_run(project, options, env))
    startup = min(float(result["startup"]) for _, _, result in results)  # type: ignore[arg-type]
    imports = min(
        timed([sys.executable, "-c", "import dfl_audio.publish"], base_env) for _ in range(3)
    )
    print(
        f"(`python -m dfl_audio --version` alone: {startup:.2f} s; "
        f"`python -c 'import dfl_audio.publish'`: {imports:.2f} s)"
    )
    for text in profiles:
        print()
        print(text)


def print_header(episodes: int, runs: int) -> None:
    print(
        f"Python {sys.version.split()[0]}, {episodes} episodes, {runs} runs per case, "
        "each a `dfl-audio -q feed` process"
    )
    header = (
        f"{'storage':<34} {'first':>7} {'unchanged (min/med)':>21} "
        f"{'1 edit (min/med)':>18} {'target':>9}"
    )
    print(header)
    print("-" * len(header), flush=True)


def print_row(kind: str, label: str, result: dict[str, float | list[float]]) -> None:
    unchanged, edited = result["unchanged"], result["edited"]
    assert isinstance(unchanged, list) and isinstance(edited, list)
    target = TARGETS[kind]
    worst = max(statistics.median(unchanged), statistics.median(edited))
    print(
        f"{label:<34} {result['first']:6.2f}s "
        f"{min(unchanged):9.2f}s / {statistics.median(unchanged):5.2f}s "
        f"{min(edited):7.2f}s / {statistics.median(edited):5.2f}s "
        f"{'<' + format(target, '.0f') + ' s':>5} {'OK' if worst < target else 'MISSED'}",
        flush=True,
    )


if __name__ == "__main__":
    main()
