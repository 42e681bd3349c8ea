"""The site's two static files, the player's JS and CSS, under content-addressed keys.

A key names its content (``assets/player-<first 12 hex of the SHA-256>.js``), so the files
are served immutable and a new version is a new key the pages link to.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

from dfl_audio.fsutil import sha256_bytes

ASSET_NAMES = ("player.js", "player.css")


@dataclass(frozen=True)
class Asset:
    """One static file: its key in the storage and its bytes."""

    key: str
    data: bytes


@dataclass(frozen=True)
class Assets:
    """The player's script and stylesheet, as every page links them."""

    script: Asset
    stylesheet: Asset

    @property
    def all(self) -> tuple[Asset, Asset]:
        return (self.script, self.stylesheet)


def asset_key(name: str, data: bytes) -> str:
    """``assets/<stem>-<12 hex>.<ext>``.

    >>> asset_key("player.js", b"")
    'assets/player-e3b0c44298fc.js'
    """
    stem, _, ext = name.partition(".")
    return f"assets/{stem}-{sha256_bytes(data)[:12]}.{ext}"


@functools.cache
def player_assets() -> Assets:
    """The shipped ``static/player.js`` and ``static/player.css`` (read once per process)."""
    script, stylesheet = (_asset(name) for name in ASSET_NAMES)
    return Assets(script, stylesheet)


def _asset(name: str) -> Asset:
    data = resources.files("dfl_audio.site").joinpath("static", name).read_bytes()
    return Asset(asset_key(name, data), data)
