"""Artwork checks and the ID3 cover, on real image files made with Pillow in tmp_path."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dfl_audio.artwork import ArtworkInfo, artwork_info, artwork_problems, tag_cover
from dfl_audio.errors import ArtworkError, DflAudioError

ROOT = Path(__file__).resolve().parent.parent


def save(image: Image.Image, path: Path, format: str | None = None) -> Path:
    image.save(path, format=format)
    return path


def square(mode: str = "RGB", side: int = 1400, colour: object = (30, 60, 90)) -> Image.Image:
    return Image.new(mode, (side, side), colour)  # type: ignore[arg-type]


def noise(side: int, seed: int = 7) -> Image.Image:
    """Random pixels: the worst case for JPEG size."""
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


def test_square_rgb_jpeg_is_fine(tmp_path: Path) -> None:
    path = save(square(), tmp_path / "art.jpg")
    assert artwork_problems(path, show_level=True) == []
    assert artwork_info(path) == ArtworkInfo("JPEG", 1400, 1400, "RGB", path.stat().st_size)


@pytest.mark.parametrize("side", [1400, 3000])
def test_png_at_both_size_limits_is_fine(tmp_path: Path, side: int) -> None:
    path = save(square(side=side), tmp_path / "art.png")
    assert artwork_problems(path, show_level=False) == []


def test_palette_png_without_transparency_is_fine(tmp_path: Path) -> None:
    path = save(square().convert("P"), tmp_path / "art.png")
    assert artwork_info(path).mode == "P"
    assert artwork_problems(path, show_level=True) == []


def test_small_image(tmp_path: Path) -> None:
    path = save(square(side=800), tmp_path / "art.jpg")
    assert artwork_problems(path, show_level=True) == [
        "show artwork is 800x800 px; Apple requires between 1400x1400 and 3000x3000 px"
    ]


def test_too_big_image(tmp_path: Path) -> None:
    path = save(square(side=3001), tmp_path / "art.jpg")
    assert artwork_problems(path, show_level=False) == [
        "episode artwork is 3001x3001 px; Apple requires between 1400x1400 and 3000x3000 px"
    ]


def test_non_square_image(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (1600, 1400)), tmp_path / "art.jpg")
    assert artwork_problems(path, show_level=True) == [
        "show artwork is 1600x1400 px; it must be square"
    ]


def test_non_square_and_small_gives_both(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (1400, 900)), tmp_path / "art.jpg")
    problems = artwork_problems(path, show_level=True)
    assert problems == [
        "show artwork is 1400x900 px; it must be square",
        "show artwork is 1400x900 px; Apple requires between 1400x1400 and 3000x3000 px",
    ]


def test_cmyk_jpeg(tmp_path: Path) -> None:
    path = save(square("CMYK", colour=(10, 20, 30, 40)), tmp_path / "art.jpg")
    assert artwork_info(path).mode == "CMYK"
    assert artwork_problems(path, show_level=True) == [
        "show artwork uses the CMYK colour space; convert it to RGB"
    ]


def test_gif(tmp_path: Path) -> None:
    path = save(square(), tmp_path / "art.gif")
    problems = artwork_problems(path, show_level=True)
    assert problems == ["show artwork is a GIF image; Apple accepts only JPEG or PNG"]


def test_png_named_jpg(tmp_path: Path) -> None:
    path = save(square(), tmp_path / "art.jpg", format="PNG")
    assert artwork_problems(path, show_level=False) == [
        "episode artwork is a PNG image but its name ends in '.jpg'; rename it to end in '.png'"
    ]


def test_jpeg_named_png(tmp_path: Path) -> None:
    path = save(square(), tmp_path / "art.png", format="JPEG")
    assert artwork_problems(path, show_level=True) == [
        "show artwork is a JPEG image but its name ends in '.png'; rename it to end in '.jpg'"
    ]


def test_uppercase_jpeg_extension_is_fine(tmp_path: Path) -> None:
    path = save(square(), tmp_path / "ART.JPEG", format="JPEG")
    assert artwork_problems(path, show_level=True) == []


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("RGBA", "has an alpha channel (transparency); flatten it to RGB"),
        ("L", "is greyscale; convert it to RGB"),
        ("LA", "is greyscale with an alpha channel; convert it to RGB without transparency"),
    ],
)
def test_colour_modes_that_are_not_rgb(tmp_path: Path, mode: str, message: str) -> None:
    path = save(Image.new(mode, (1400, 1400)), tmp_path / "art.png")
    assert artwork_problems(path, show_level=True) == [f"show artwork {message}"]


def test_palette_png_with_transparency(tmp_path: Path) -> None:
    image = square().convert("P")
    image.info["transparency"] = 0
    path = tmp_path / "art.png"
    image.save(path, transparency=0)
    assert artwork_problems(path, show_level=True) == [
        "show artwork is a palette image with a transparent colour; convert it to RGB"
    ]


def test_truncated_jpeg(tmp_path: Path) -> None:
    whole = save(noise(1400), tmp_path / "whole.jpg")
    path = tmp_path / "art.jpg"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    [problem] = artwork_problems(path, show_level=True)
    assert problem.startswith("show artwork cannot be read: cannot decode image: ")
    assert "truncated" in problem


def test_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "art.jpg"
    path.write_bytes(b"<html>404 Not Found</html>")
    assert artwork_problems(path, show_level=False) == [
        "episode artwork cannot be read: not an image Pillow can read"
    ]


def test_unreadable_image_raises_our_error_with_path_and_original(tmp_path: Path) -> None:
    path = tmp_path / "art.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0garbage")
    with pytest.raises(ArtworkError) as caught:
        artwork_info(path)
    assert isinstance(caught.value, DflAudioError)
    assert caught.value.path == str(path)
    assert isinstance(caught.value.original, OSError)
    assert str(caught.value).startswith(f"{path}: ")


def test_missing_image(tmp_path: Path) -> None:
    with pytest.raises(ArtworkError, match="image file not found") as caught:
        artwork_info(tmp_path / "nope.jpg")
    assert isinstance(caught.value.original, FileNotFoundError)


def test_tag_cover_of_big_noisy_image_is_small(tmp_path: Path) -> None:
    path = tmp_path / "art.jpg"
    noise(3000).save(path, quality=95)
    assert path.stat().st_size > 5_000_000  # really big: noise does not compress
    data = tag_cover(path)
    assert len(data) <= 300_000
    with Image.open(io.BytesIO(data)) as cover:
        assert (cover.format, cover.mode, cover.size) == ("JPEG", "RGB", (500, 500))
        assert "progressive" not in cover.info


def test_tag_cover_lowers_quality_to_fit(tmp_path: Path) -> None:
    path = save(noise(1400, seed=1), tmp_path / "art.jpg")
    roomy = tag_cover(path, max_px=400, max_bytes=10_000_000)
    tight = tag_cover(path, max_px=400, max_bytes=60_000)
    assert len(tight) <= 60_000 < len(roomy)
    with Image.open(io.BytesIO(tight)) as cover:
        assert cover.size == (400, 400)


def test_tag_cover_keeps_aspect_and_never_upscales(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (300, 150), "red"), tmp_path / "art.jpg")
    with Image.open(io.BytesIO(tag_cover(path))) as cover:
        assert cover.size == (300, 150)


def test_tag_cover_flattens_transparency_onto_white(tmp_path: Path) -> None:
    path = save(Image.new("RGBA", (600, 600), (0, 0, 0, 0)), tmp_path / "art.png")
    with Image.open(io.BytesIO(tag_cover(path))) as cover:
        assert cover.mode == "RGB"
        red, green, blue = cover.getpixel((250, 250))  # type: ignore[misc]
        assert min(red, green, blue) >= 250


def test_tag_cover_that_cannot_fit_raises(tmp_path: Path) -> None:
    path = save(noise(600), tmp_path / "art.png")
    with pytest.raises(ArtworkError, match="at most 200 bytes"):
        tag_cover(path, max_bytes=200)


@pytest.mark.parametrize(("name", "show_level"), [("show.jpg", True), ("sample.jpg", False)])
def test_committed_fixture_art_meets_apple_rules(name: str, show_level: bool) -> None:
    path = ROOT / "episodes" / "art" / name
    assert artwork_problems(path, show_level=show_level) == []
    info = artwork_info(path)
    assert (info.format, info.width, info.height, info.mode) == ("JPEG", 1400, 1400, "RGB")
    assert info.bytes < 150_000
