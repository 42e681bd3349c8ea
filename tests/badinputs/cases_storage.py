"""Storage faults: the local folder broken, the stored feed object damaged, S3 unreachable.

Local-folder cases damage the published copy's ``storage/``; S3 cases run against a moto
server on 127.0.0.1 (``needs={"moto"}``) or, for what only a real server enforces (SigV4
signatures), against Ceph RGW in CI (``needs={"rgw"}``, marked ``integration``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from badinputs.case import Case
from badinputs.damage import (
    BILLION_LAUGHS,
    STATE,
    STORED_FEED,
    chain,
    damage_stored_audio,
    edit_bytes,
    make_dir,
    remove,
    symlink,
    write,
)
from badinputs.runner import Context

PUBLISH = ("publish",)

FEED_BODIES: dict[str, bytes | str] = {
    "not_xml": "this is not XML\n",
    "empty": b"",
    "html": "<!DOCTYPE html>\n<html><body><h1>403 Forbidden</h1></body></html>\n",
    "entity_bomb": BILLION_LAUGHS,
    "doctype_external_entity": (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        '<rss version="2.0"><channel><title>&x;</title></channel></rss>\n'
    ),
    "atom_feed": '<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom"/>\n',
    "rss_without_channel": '<?xml version="1.0"?>\n<rss version="2.0"/>\n',
    "item_without_guid": (
        '<?xml version="1.0"?>\n<rss version="2.0"><channel><title>x</title>'
        "<item><title>Someone else's</title></item></channel></rss>\n"
    ),
    "two_items_one_guid": (
        '<?xml version="1.0"?>\n<rss version="2.0"><channel><title>x</title>'
        "<item><title>A</title><guid>g1</guid></item>"
        "<item><title>B</title><guid>g1</guid></item></channel></rss>\n"
    ),
    "binary": bytes(range(256)) * 4,
    "utf16": '<?xml version="1.0" encoding="UTF-16"?><rss/>'.encode("utf-16"),
}


def state_matches_storage(ctx: Context) -> str:
    """Verdict for repair cases: every key the state records is stored with the recorded
    audio size (so the feed points at nothing missing)."""
    root = ctx.root
    state = json.loads((root / STATE).read_text(encoding="utf-8"))
    keys = [state.get("show_artwork_key")]
    for record in state["episodes"].values():
        keys += [record.get(k) for k in ("audio_key", "chapters_key")]
        keys += [stored["key"] for stored in record.get("transcripts", [])]
        keys.append(record.get("artwork_key"))
        audio = root / "storage" / record["audio_key"]
        if audio.is_file() and audio.stat().st_size != record["audio_bytes"]:
            return f"stored {record['audio_key']} is not the recorded {record['audio_bytes']} bytes"
    missing = [key for key in keys if key and not (root / "storage" / key).is_file()]
    if missing:
        return "the state lists keys the storage does not hold: " + ", ".join(sorted(missing))
    feed, local = root / STORED_FEED, root / "feeds" / "interviews.xml"
    if not feed.is_file() or feed.read_bytes() != local.read_bytes():
        return "the stored feed is missing or differs from feeds/"
    return "every recorded key is stored"


def _repair(name: str, setup: object, argv: tuple[str, ...] = PUBLISH) -> Case:
    return Case(
        f"storage.repair.{name}",
        "storage",
        argv,
        setup,  # type: ignore[arg-type]
        expect="accept",
        check=state_matches_storage,
    )


def _first_stored(folder: str) -> object:
    """Remove the first stored object under ``storage/<folder>/`` (artwork, chapters)."""

    def setup(root: Path) -> None:
        state = json.loads((root / STATE).read_text(encoding="utf-8"))
        (record,) = state["episodes"].values()
        key = record["chapters_key"] if folder == "chapters" else record["artwork_key"]
        (root / "storage" / key).unlink()

    return setup


LOCAL_CASES = [
    Case(
        "storage.folder.is_a_file",
        "storage",
        PUBLISH,
        chain(remove("storage"), write("storage", "x")),
    ),
    Case(
        "storage.folder.is_a_file.force",
        "storage",
        ("publish", "--force"),
        chain(remove("storage"), write("storage", "x")),
    ),
    Case(
        "storage.folder.symlink_loop",
        "storage",
        PUBLISH,
        chain(remove("storage"), symlink("storage", "storage")),
    ),
    Case(
        "storage.audio_folder.is_a_file.force",
        "storage",
        ("publish", "--force"),
        chain(remove("storage/audio"), write("storage/audio", "x")),
    ),
    Case(
        "storage.index_folder.is_a_file",
        "storage",
        PUBLISH,
        chain(remove("storage/.dfl-index"), write("storage/.dfl-index", "x")),
    ),
    Case(
        "storage.lock.is_a_folder",
        "storage",
        ("publish", "--force"),
        make_dir("storage/.dfl-index/.lock"),
    ),
    Case(
        "storage.feeds_folder.is_a_file",
        "storage",
        PUBLISH,
        chain(remove("feeds"), write("feeds", "x")),
    ),
    Case("storage.local_feed.is_a_folder", "storage", PUBLISH, make_dir("feeds/interviews.xml")),
    Case("storage.feed_object.is_a_folder", "storage", PUBLISH, make_dir(STORED_FEED)),
    Case(
        "storage.feed_object.symlink_out",
        "storage",
        PUBLISH,
        symlink(STORED_FEED, "/etc/hostname"),
    ),
    _repair("audio_deleted", damage_stored_audio(lambda path: path.unlink())),
    _repair("audio_garbage", damage_stored_audio(lambda path: path.write_text("garbage\n"))),
    _repair(
        "audio_truncated",
        damage_stored_audio(lambda path: path.write_bytes(path.read_bytes()[:1000])),
    ),
    Case(  # feed stores no audio: it must refuse, and say to run publish
        "storage.audio_deleted.feed_refuses",
        "storage",
        ("feed",),
        damage_stored_audio(lambda path: path.unlink()),
    ),
    _repair("chapters_deleted", _first_stored("chapters")),
    _repair("artwork_deleted", _first_stored("artwork")),
    _repair("storage_id_deleted", remove("storage/.dfl-index/storage-id")),
    _repair("index_deleted", remove("storage/.dfl-index")),
    _repair(
        "audio_sidecar_garbage",
        lambda root: [
            p.write_text("garbage") for p in (root / "storage/.dfl-index/audio").glob("*.mp3.json")
        ],
    ),
    _repair("stored_feed_deleted", remove(STORED_FEED)),
]

for _name, _body in FEED_BODIES.items():
    LOCAL_CASES.append(
        Case(f"storage.feed_object.{_name}", "storage", PUBLISH, write(STORED_FEED, _body))
    )
for _name in ("not_xml", "html", "entity_bomb"):
    LOCAL_CASES.append(
        Case(
            f"storage.feed_object.{_name}.feed",
            "storage",
            ("feed",),
            write(STORED_FEED, FEED_BODIES[_name]),
        )
    )
LOCAL_CASES.append(
    Case(
        "storage.feed_object.not_xml.dry_run",
        "storage",
        ("publish", "--dry-run"),
        write(STORED_FEED, FEED_BODIES["not_xml"]),
    )
)
LOCAL_CASES.append(
    Case(
        "storage.local_feed.not_xml",
        "storage",
        ("publish",),
        chain(
            write(STORED_FEED, FEED_BODIES["not_xml"]),
            edit_bytes("feeds/interviews.xml", lambda d: b"<<<"),
        ),
    )
)

MOTO_ENV = {
    "AWS_ENDPOINT_URL": "{endpoint}",
    "AWS_ACCESS_KEY_ID": "badinputs-key",
    "AWS_SECRET_ACCESS_KEY": "badinputs-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
DOWN_ENV = {**MOTO_ENV, "AWS_ENDPOINT_URL": "http://127.0.0.1:{port}"}
SECRET_URL_ENV = {**MOTO_ENV, "AWS_ENDPOINT_URL": "http://USERKEY:USERSECRET@127.0.0.1:{port}"}
NO_CREDENTIALS_ENV = {
    "AWS_ENDPOINT_URL": "{endpoint}",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
}
MOTO = frozenset({"moto"})
MISSING_BUCKET = ("--storage", "s3://badinputs-no-such-bucket/pod")
CASE_BUCKET = ("--storage", "s3://{bucket}/pod")


def _s3(name: str, argv: tuple[str, ...], env: dict[str, str], **kwargs: object) -> Case:
    return Case(f"s3.{name}", "storage", argv, env=env, needs=MOTO, **kwargs)  # type: ignore[arg-type]


S3_CASES = [
    _s3("bucket_missing.publish", ("publish", *MISSING_BUCKET), MOTO_ENV),
    _s3("bucket_missing.feed", ("feed", *MISSING_BUCKET), MOTO_ENV),
    _s3("bucket_missing.doctor", ("doctor", *MISSING_BUCKET), MOTO_ENV),
    _s3(
        "bucket_missing.unpublish",
        ("unpublish", "{root}/episodes/2026-11-20-welcome.md", *MISSING_BUCKET),
        MOTO_ENV,
    ),
    _s3("endpoint_down.publish", ("publish", *CASE_BUCKET), DOWN_ENV),
    _s3("endpoint_down.doctor", ("doctor", *CASE_BUCKET), DOWN_ENV),
    _s3("secret_in_endpoint_url.publish", ("publish", *CASE_BUCKET), SECRET_URL_ENV),
    _s3("no_credentials.publish", ("publish", *CASE_BUCKET), NO_CREDENTIALS_ENV),
    _s3("bucket_name_invalid", ("publish", "--storage", "s3://Bad_Bucket/pod"), MOTO_ENV),
    _s3("bucket_name_too_short", ("publish", "--storage", "s3://ab/pod"), MOTO_ENV),
    _s3("location_without_bucket", ("publish", "--storage", "s3://"), MOTO_ENV),
]
# Published to the case's bucket first (by the runner), then the object at the feed key or
# the stored audio is damaged in the bucket.
S3_PUBLISHED = frozenset({"moto", "s3-published"})


def _put_feed(body: bytes | str) -> Callable[[Any, str], None]:
    def damage(admin: Any, bucket: str) -> None:
        data = body.encode() if isinstance(body, str) else body
        admin.put_object(Bucket=bucket, Key="pod/interviews.xml", Body=data)

    return damage


def _delete_audio(admin: Any, bucket: str) -> None:
    listing = admin.list_objects_v2(Bucket=bucket, Prefix="pod/audio/")
    for item in listing.get("Contents", []):
        if item["Key"].endswith(".mp3"):
            admin.delete_object(Bucket=bucket, Key=item["Key"])


def bucket_matches_state(ctx: Context) -> str:
    """Verdict for S3 repair cases: every recorded key is in the bucket."""
    state = json.loads((ctx.root / STATE).read_text(encoding="utf-8"))
    listing = ctx.s3_admin.list_objects_v2(Bucket=ctx.bucket, Prefix="pod/")
    stored = {item["Key"].removeprefix("pod/") for item in listing.get("Contents", [])}
    keys = {state.get("show_artwork_key")}
    for record in state["episodes"].values():
        keys |= {record.get(k) for k in ("audio_key", "chapters_key")}
        keys |= {stored["key"] for stored in record.get("transcripts", [])}
    missing = sorted(key for key in keys if key and key not in stored)
    if missing:
        return "the state lists keys the bucket does not hold: " + ", ".join(missing)
    return "every recorded key is stored"


S3_PUBLISHED_CASES = [
    Case(
        f"s3.feed_object.{name}",
        "storage",
        ("publish", *CASE_BUCKET),
        env=MOTO_ENV,
        needs=S3_PUBLISHED,
        s3_damage=_put_feed(FEED_BODIES[name]),
    )
    for name in ("not_xml", "html", "entity_bomb", "empty")
] + [
    Case(
        "s3.repair.audio_object_deleted",
        "storage",
        ("publish", *CASE_BUCKET),
        env=MOTO_ENV,
        needs=S3_PUBLISHED,
        expect="accept",
        s3_damage=_delete_audio,
        check=bucket_matches_state,
    )
]

# Only a real server checks signatures: run by scripts/ci_s3.sh against Ceph RGW.
RGW = frozenset({"rgw"})
RGW_CASES = [
    Case(
        "rgw.wrong_secret.publish",
        "storage",
        ("publish", *CASE_BUCKET),
        env={"AWS_SECRET_ACCESS_KEY": "not-the-secret"},
        needs=RGW,
    ),
    Case(
        "rgw.wrong_secret.doctor",
        "storage",
        ("doctor", *CASE_BUCKET),
        env={"AWS_SECRET_ACCESS_KEY": "not-the-secret"},
        needs=RGW,
    ),
    Case("rgw.bucket_missing.publish", "storage", ("publish", *MISSING_BUCKET), needs=RGW),
]


def storage_cases() -> list[Case]:
    return LOCAL_CASES + S3_CASES + S3_PUBLISHED_CASES + RGW_CASES
