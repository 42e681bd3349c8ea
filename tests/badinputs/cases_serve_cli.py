"""The command line itself, ``serve`` (its options and hostile requests), and signals."""

from __future__ import annotations

import signal

from badinputs.case import Case, HttpRequest, SignalPlan
from badinputs.damage import LOCAL_FEED, STORED_FEED, WELCOME, chain, episode, remove, symlink

WELCOME_ABS = "{root}/" + WELCOME
BUSY = frozenset({"busy-port"})


def _cli(name: str, argv: tuple[str, ...], **kwargs: object) -> Case:
    return Case(f"cli.{name}", "cli", argv, **kwargs)  # type: ignore[arg-type]


CLI_CASES = [
    _cli("storage.ftp_url", ("publish", "--storage", "ftp://example.org/pod")),
    _cli("storage.http_url", ("publish", "--storage", "https://example.org/pod")),
    _cli("storage.a_file", ("publish", "--storage", "episodes/show.yaml")),
    _cli("storage.dev_null", ("publish", "--storage", "/dev/null")),
    _cli("storage.inside_episodes", ("publish", "--storage", "episodes")),
    _cli("public_url.http_public_host", ("publish", "--public-url", "http://example.org/")),
    _cli("public_url.not_a_url", ("publish", "--public-url", "audio bucket")),
    _cli("public_url.scheme_only", ("publish", "--public-url", "https://")),
    _cli(
        "public_url.loopback_prefix_trick",
        ("publish", "--public-url", "http://127.0.0.1.evil.example/"),
    ),
    _cli("public_url.doctor_http", ("doctor", "--public-url", "http://example.org/")),
    _cli("env.storage_ftp", ("publish",), env={"DFL_AUDIO_STORAGE": "ftp://example.org/pod"}),
    _cli("env.public_url_http", ("publish",), env={"DFL_AUDIO_PUBLIC_URL": "http://example.org/"}),
    _cli("publish.unknown_episode", ("publish", "{root}/episodes/2026-01-01-nope.md")),
    _cli("publish.outside_repo", ("publish", "/etc/hostname")),
    _cli("publish.a_folder", ("publish", "{root}/episodes")),
    _cli("publish.show_yaml", ("publish", "{root}/episodes/show.yaml")),
    _cli("publish.unknown_option", ("publish", "--everything")),
    _cli("publish.json_with_bad_episode", ("publish", "--json"), setup=episode({"explicit": 7})),
    _cli("unpublish.unknown_episode", ("unpublish", "{root}/episodes/2026-01-01-nope.md")),
    _cli("unpublish.never_published", ("unpublish", "{root}/episodes/2021-07-27-t5.md")),
    _cli("unpublish.no_argument", ("unpublish",)),
    _cli("validate.missing_file", ("validate", "{root}/episodes/2026-01-01-nope.md")),
    _cli("validate.unknown_option", ("validate", "--strict")),
    _cli("root.missing_folder", ("--root", "{root}/nowhere", "validate")),
    _cli("root.a_file", ("--root", "{root}/episodes/show.yaml", "validate")),
    _cli("new.empty_title", ("new", "")),
    _cli("new.control_char_title", ("new", "Hello\x07there")),
    _cli("feed.check_stale", ("feed", "--check"), setup=episode({"title": "A new title"})),
    _cli("feed.unknown_option", ("feed", "--force")),
    _cli("unknown_command", ("pubish",)),
]


def _serve(name: str, *argv: str, **kwargs: object) -> Case:
    return Case(
        f"cli.serve.{name}",
        "cli",
        ("serve", *argv),
        mode="subprocess",
        timeout=60,
        **kwargs,  # type: ignore[arg-type]
    )


SERVE_CLI_CASES = [
    _serve("port_negative", "--port", "-1"),
    _serve("port_too_big", "--port", "99999"),
    _serve("port_word", "--port", "eighty"),
    _serve("port_in_use", "--port", "{port}", needs=BUSY),
    _serve("no_feed_yet", setup=chain(remove(STORED_FEED), remove(LOCAL_FEED))),
    _serve("s3_storage", "--storage", "s3://dfl-audio/pod"),
    _serve("storage_folder_missing", "--storage", "nowhere"),
]


def _get(
    name: str, path: str, *, method: str = "GET", setup: object = None, **headers: str
) -> Case:
    return Case(
        f"serve.{name}",
        "serve",
        (),
        setup,  # type: ignore[arg-type]
        mode="http",
        request=HttpRequest(path, method, headers),
    )


SERVE_REQUEST_CASES = [
    _get("path.parent_traversal", "/../feeds/interviews.published.json"),
    _get("path.encoded_traversal", "/%2e%2e/feeds/interviews.published.json"),
    _get("path.encoded_backslash_traversal", "/..%5cfeeds%5cinterviews.published.json"),
    _get("path.index_storage_id", "/.dfl-index/storage-id"),
    _get("path.index_sidecar", "/.dfl-index/interviews.xml.json"),
    _get("path.index_lock", "/.dfl-index/.lock"),
    _get(
        "path.symlink_to_system_file",
        "/audio/link.mp3",
        setup=symlink("storage/audio/link.mp3", "/etc/hostname"),
    ),
    _get(
        "path.symlinked_folder_out",
        "/etc/hostname",
        setup=symlink("storage/etc", "/etc"),
    ),
    _get("path.very_long", "/" + "a" * 9000),
    _get("path.nul_byte", "/audio/%00.mp3"),
    _get("path.a_folder", "/audio/"),
    _get("path.missing", "/audio/nope.mp3"),
    _get("method.post", "/interviews.xml", method="POST"),
    _get("method.delete", "/interviews.xml", method="DELETE"),
    _get("feed.one_date_header", "/interviews.xml"),
    _get("range.multiple", "/{audio_key}", Range="bytes=0-1,5-9"),
    _get("range.unsatisfiable", "/{audio_key}", Range="bytes=999999999-"),
    _get("range.garbage", "/{audio_key}", Range="bytes=abc"),
    _get("range.reversed", "/{audio_key}", Range="bytes=9-5"),
]


def _signal(name: str, signum: signal.Signals, *, rerun: bool = False) -> Case:
    return Case(
        f"process.{name}",
        "processes",
        ("publish", "--force"),
        mode="signal",
        signal=SignalPlan(signum, rerun=rerun),
        timeout=60,
    )


PROCESS_CASES = [
    _signal("sigint.while_encoding", signal.SIGINT),
    _signal("sigterm.while_encoding", signal.SIGTERM),
    _signal("sighup.while_encoding", signal.SIGHUP),
    _signal("sigterm.while_encoding.then_rerun", signal.SIGTERM, rerun=True),
    _signal("sigkill.while_encoding.then_rerun", signal.SIGKILL, rerun=True),
]


def serve_cli_process_cases() -> list[Case]:
    return CLI_CASES + SERVE_CLI_CASES + SERVE_REQUEST_CASES + PROCESS_CASES
