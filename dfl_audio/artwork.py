"""Adapter over Pillow: check artwork against Apple's rules and make the small ID3 cover.

This is the only module that imports Pillow, so Pillow's exceptions become
:class:`~dfl_audio.errors.ArtworkError` here and nowhere else. Checks return every problem
at once as plain messages; :mod:`dfl_audio.validate` adds the file and field to each.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from dfl_audio.errors import ArtworkError

log = logging.getLogger(__name__)

# Apple: JPEG or PNG, square, 1400-3000 px on a side, RGB colour space.
MIN_PX = 1400
MAX_PX = 3000
EXTENSIONS: dict[str, tuple[str, ...]] = {"JPEG": (".jpg", ".jpeg"), "PNG": (".png",)}

# Pillow mode -> why Apple would refuse it. "RGB" (and "P" without transparency) pass.
MODE_PROBLEMS: dict[str, str] = {
    "CMYK": "uses the CMYK colour space; convert it to RGB",
    "RGBA": "has an alpha channel (transparency); flatten it to RGB",
    "LA": "is greyscale with an alpha channel; convert it to RGB without transparency",
    "PA": "is a palette image with an alpha channel; convert it to RGB without transparency",
    "L": "is greyscale; convert it to RGB",
    "1": "is black-and-white (1 bit); convert it to RGB",
    "I": "uses 32-bit integer pixels; convert it to 8-bit RGB",
    "I;16": "uses 16-bit greyscale pixels; convert it to 8-bit RGB",
    "F": "uses floating-point pixels; convert it to 8-bit RGB",
    "YCbCr": "uses the YCbCr colour space; convert it to RGB",
    "LAB": "uses the Lab colour space; convert it to RGB",
    "HSV": "uses the HSV colour space; convert it to RGB",
}

# Qualities tried in turn until the cover fits its byte budget.
COVER_QUALITIES = (90, 85, 80, 70, 60, 50, 40, 30)


@dataclass(frozen=True)
class ArtworkInfo:
    """What an image file really is, whatever its name says."""

    format: str  # Pillow's format name: "JPEG", "PNG", "GIF", ...
    width: int
    height: int
    mode: str  # Pillow's mode: "RGB", "CMYK", "RGBA", "P", ...
    bytes: int
    transparent: bool = False  # a palette image with a transparent colour


@contextmanager
def _open_image(path: Path) -> Iterator[Image.Image]:
    """Open and fully decode an image, turning Pillow's many failures into ArtworkError.

    Decoding (not just reading the header) is what catches a truncated or corrupt file.
    """
    try:
        image = Image.open(path)
        try:
            image.load()
        except BaseException:
            image.close()
            raise
    except FileNotFoundError as exc:
        raise ArtworkError("image file not found", path=path, original=exc) from exc
    except UnidentifiedImageError as exc:
        raise ArtworkError("not an image Pillow can read", path=path, original=exc) from exc
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ArtworkError(f"cannot decode image: {exc}", path=path, original=exc) from exc
    with image:
        yield image


def artwork_info(path: Path) -> ArtworkInfo:
    """Format, size and colour mode of an image, read from its content.

    Raises :class:`ArtworkError` when the file is missing, not an image or corrupt.
    """
    with _open_image(path) as image:
        return ArtworkInfo(
            format=image.format or "unknown",
            width=image.width,
            height=image.height,
            mode=image.mode,
            bytes=path.stat().st_size,
            transparent=image.mode == "P" and "transparency" in image.info,
        )


def artwork_problems(path: Path, *, show_level: bool) -> list[str]:
    """Every way the image breaks Apple's artwork rules, as messages; empty when it is fine.

    Show and episode artwork follow the same rules; ``show_level`` only names which is which.
    """
    what = "show artwork" if show_level else "episode artwork"
    try:
        info = artwork_info(path)
    except ArtworkError as exc:
        return [f"{what} cannot be read: {exc.message}"]
    checks = (_format_problem, _extension_problem, _square_problem, _size_problem, _mode_problem)
    return [f"{what} {message}" for check in checks if (message := check(info, path))]


CHAPTER_MAX_BYTES = 1_000_000  # every app that shows chapters downloads each image


def chapter_image_problems(path: Path) -> list[str]:
    """Why an image cannot be a chapter image: JPEG or PNG named as what it is, at most
    3000 px on a side and 1 MB (no square or minimum size: it is shown small)."""
    try:
        info = artwork_info(path)
    except ArtworkError as exc:
        return [f"chapter image cannot be read: {exc.message}"]
    messages = [check(info, path) for check in (_format_problem, _extension_problem)]
    if max(info.width, info.height) > MAX_PX:
        messages.append(f"is {info.width}x{info.height} px; at most {MAX_PX} px on a side")
    if info.bytes > CHAPTER_MAX_BYTES:
        messages.append(f"is {info.bytes} bytes; at most {CHAPTER_MAX_BYTES} are allowed")
    return [f"chapter image {message}" for message in messages if message]


def _format_problem(info: ArtworkInfo, path: Path) -> str | None:
    if info.format in EXTENSIONS:
        return None
    return f"is a {info.format} image; Apple accepts only JPEG or PNG"


def _extension_problem(info: ArtworkInfo, path: Path) -> str | None:
    """Apple (and some CDNs) trust the extension, so it must match the content."""
    expected = EXTENSIONS.get(info.format)
    if expected is None or path.suffix.lower() in expected:
        return None
    return (
        f"is a {info.format} image but its name ends in {path.suffix or '(no extension)'!r}; "
        f"rename it to end in {expected[0]!r}"
    )


def _square_problem(info: ArtworkInfo, path: Path) -> str | None:
    if info.width == info.height:
        return None
    return f"is {info.width}x{info.height} px; it must be square"


def _size_problem(info: ArtworkInfo, path: Path) -> str | None:
    if min(info.width, info.height) >= MIN_PX and max(info.width, info.height) <= MAX_PX:
        return None
    return (
        f"is {info.width}x{info.height} px; Apple requires between "
        f"{MIN_PX}x{MIN_PX} and {MAX_PX}x{MAX_PX} px"
    )


def _mode_problem(info: ArtworkInfo, path: Path) -> str | None:
    if info.mode == "RGB" or (info.mode == "P" and not info.transparent):
        return None
    if info.mode == "P":
        return "is a palette image with a transparent colour; convert it to RGB"
    return MODE_PROBLEMS.get(info.mode, f"uses colour mode {info.mode}; convert it to RGB")


def tag_cover(path: Path, max_px: int = 500, max_bytes: int = 300_000) -> bytes:
    """A small baseline RGB JPEG of the artwork for the ID3 ``APIC`` frame.

    Full-size art in every MP3 bloats each download, so the cover is at most ``max_px`` on a
    side and at most ``max_bytes`` long: quality is lowered until it fits, then the size.
    """
    with _open_image(path) as image:
        rgb = _flatten_rgb(ImageOps.exif_transpose(image))
    side = max_px
    while side >= 16:
        rgb.thumbnail((side, side), Image.Resampling.LANCZOS)
        for quality in COVER_QUALITIES:
            data = _jpeg_bytes(rgb, quality)
            if len(data) <= max_bytes:
                log.debug("cover %s: %dx%d q%d %d bytes", path, *rgb.size, quality, len(data))
                return data
        side = side * 3 // 4
    raise ArtworkError(f"cannot make a cover of at most {max_bytes} bytes", path=path)


def _flatten_rgb(image: Image.Image) -> Image.Image:
    """RGB pixels; transparent areas become white instead of whatever colour they hid."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _jpeg_bytes(image: Image.Image, quality: int) -> bytes:
    """Baseline (not progressive) JPEG: the one every car stereo and old player decodes."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=True, progressive=False)
    return buffer.getvalue()
