"""Accepting photo uploads: hostile files, re-encoding, metadata, watermark, perceptual hash."""

import hashlib
import io
import math
import os
import random
import time
import zipfile
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageChops, ImageFont
from PIL.TiffImagePlugin import IFDRational

from backend.kit import fonts
from backend.photos.exceptions import InvalidPhoto, PhotoTooLarge
from backend.photos.processing import (
    MAX_UPLOAD_BYTES,
    ProcessedPhoto,
    draw_watermark,
    hamming,
    hash_bands,
    inspect_upload,
    perceptual_hash,
    probe_keys,
    process_photo,
    read_limited,
    sniff_format,
    to_int64,
    watermark_band_height,
)
from tests.factories.images import (
    FONT_CANDIDATES,
    decode,
    encode,
    jpeg_with_size,
    png,
    png_bomb,
    synthetic_photo,
)

LINES = ["益丰大药房（文三路店）", "张三 · 2026-11-23 10:32 (UTC+8)"]


@pytest.fixture(scope="session")
def font_path() -> Path:
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    pytest.fail(f"no CJK font: {fonts.FIX}")


@pytest.fixture(scope="module")
def photo_jpeg() -> bytes:
    return encode(synthetic_photo(1), "JPEG", quality=85)


def process(data: bytes, font_path: Path, lines: list[str] | None = None) -> ProcessedPhoto:
    return process_photo(
        data, watermark_lines=LINES if lines is None else lines, font_path=font_path
    )


def assert_clean_jpeg(data: bytes) -> Image.Image:
    """Stored bytes: one JPEG, nothing before or after, no metadata segments."""
    assert data.startswith(b"\xff\xd8\xff")
    assert data.endswith(b"\xff\xd9")
    assert b"Exif" not in data
    assert b"ICC_PROFILE" not in data
    assert b"PK\x03\x04" not in data
    image = decode(data)
    assert image.format == "JPEG"
    assert image.mode == "RGB"
    assert len(image.getexif()) == 0
    return image


# --- accepted formats -----------------------------------------------------------------------------


def test_jpeg_is_re_encoded_with_hashes(photo_jpeg: bytes, font_path: Path) -> None:
    result = process(photo_jpeg, font_path)
    image = assert_clean_jpeg(result.data)
    assert (image.width, image.height) == (result.width, result.height) == (1600, 1200)
    assert result.original_format == "jpeg"
    assert (result.original_width, result.original_height) == (1600, 1200)
    assert result.original_size == len(photo_jpeg)
    assert result.original_sha256 == hashlib.sha256(photo_jpeg).hexdigest()
    assert result.sha256 == hashlib.sha256(result.data).hexdigest()
    assert result.content_type == "image/jpeg"
    assert -(2**63) <= result.phash < 2**63
    assert result.captured_at is None
    assert result.gps_lat is None
    assert result.gps_lng is None


def test_same_bytes_give_the_same_result(photo_jpeg: bytes, font_path: Path) -> None:
    assert process(photo_jpeg, font_path) == process(photo_jpeg, font_path)


def test_png_with_alpha_is_flattened_on_white(font_path: Path) -> None:
    image = synthetic_photo(2, (800, 600)).convert("RGBA")
    alpha = Image.new("L", image.size, 255)
    alpha.paste(0, (0, 0, 200, 200))  # a fully transparent corner
    image.putalpha(alpha)
    result = process(encode(image, "PNG"), font_path)
    stored = assert_clean_jpeg(result.data)
    assert result.original_format == "png"
    corner = stored.crop((10, 10, 190, 190))
    assert np.asarray(corner).min() >= 245


def test_webp_accepted(font_path: Path) -> None:
    data = encode(synthetic_photo(3, (900, 700)), "WEBP", quality=80)
    assert sniff_format(data) == "WEBP"
    result = process(data, font_path)
    assert result.original_format == "webp"
    assert (result.width, result.height) == (900, 700)
    assert_clean_jpeg(result.data)


def test_heic_accepted(font_path: Path) -> None:
    data = encode(synthetic_photo(4, (640, 480)), "HEIF", quality=70)
    assert data[4:12] == b"ftypheic"
    info = inspect_upload(data)
    assert (info.format, info.width, info.height) == ("heic", 640, 480)
    result = process(data, font_path)
    assert result.original_format == "heic"
    assert (result.width, result.height) == (640, 480)
    assert_clean_jpeg(result.data)


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "I;16", "LA"])
def test_other_pixel_modes_become_rgb(mode: str, font_path: Path) -> None:
    image = synthetic_photo(5, (300, 200))
    if mode == "I;16":
        converted = Image.fromarray(np.asarray(image.convert("L"), dtype=np.uint16) * 257)
        data = encode(converted, "PNG")
    elif mode == "CMYK":
        data = encode(image.convert("CMYK"), "JPEG")
    else:
        data = encode(image.convert(mode), "PNG")
    result = process(data, font_path)
    stored = assert_clean_jpeg(result.data)
    assert stored.size == (300, 200)
    centre = stored.crop((100, 40, 200, 120)).convert("L")
    assert np.asarray(centre).max() > 40  # not black: the pixels survived the conversion


def test_inspect_upload_reads_only_the_header(photo_jpeg: bytes) -> None:
    info = inspect_upload(photo_jpeg[:2000])  # truncated, but the header is there
    assert (info.format, info.width, info.height, info.size) == ("jpeg", 1600, 1200, 2000)
    assert info.megapixels == pytest.approx(1.92)


# --- hostile uploads ------------------------------------------------------------------------------

HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<script>alert(1)</script><rect width="10" height="10"/></svg>'
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("photo.jpg", b"not really")
    return out.getvalue()


def _small(fmt: str, **params: object) -> bytes:
    return encode(synthetic_photo(6, (64, 48)), fmt, **params)


HOSTILE = {
    "empty": b"",
    "html": HTML,
    "html-with-bom-and-space": b"\xef\xbb\xbf  " + HTML,
    "svg": SVG,
    "pdf": PDF,
    "zip": _zip(),
    "gif": _small("GIF"),
    "bmp": _small("BMP"),
    "tiff": _small("TIFF"),
    "ico": _small("ICO"),
    "jpeg-magic-then-garbage": b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40,
    "png-magic-only": b"\x89PNG\r\n\x1a\n",
    "webp-riff-garbage": b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 64,
    "heic-ftyp-garbage": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
    "avif-brand": b"\x00\x00\x00\x18ftypavif\x00\x00\x00\x00mif1avif" + b"\x00" * 64,
    "png-bad-crc": png(10, 10, zlib_zeros := b"x\x9c\x03\x00\x00\x00\x00\x01")[:-4] + b"XXXX",
    "png-zero-size": png(0, 0, zlib_zeros),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_files_are_invalid_photo(name: str, font_path: Path) -> None:
    data = HOSTILE[name]
    with pytest.raises(InvalidPhoto) as excinfo:
        process(data, font_path)
    assert excinfo.value.code == "invalid_photo"
    assert excinfo.value.status == 422
    assert excinfo.value.detail


def test_the_disguise_does_not_matter(font_path: Path) -> None:
    """The name is never consulted: an HTML page renamed photo.jpg is still HTML."""
    for data in (HTML, SVG, PDF):
        assert sniff_format(data) is None
        with pytest.raises(InvalidPhoto, match="not a JPEG, PNG, WebP or HEIC"):
            inspect_upload(data)


def test_empty_file_says_so(font_path: Path) -> None:
    with pytest.raises(InvalidPhoto, match="empty"):
        process(b"", font_path)


@pytest.mark.parametrize("keep", [0.5, 0.1])
def test_truncated_jpeg_is_refused(photo_jpeg: bytes, font_path: Path, keep: float) -> None:
    with pytest.raises(InvalidPhoto, match="could not be decoded"):
        process(photo_jpeg[: int(len(photo_jpeg) * keep)], font_path)


def test_truncated_png_is_refused(font_path: Path) -> None:
    data = encode(synthetic_photo(7, (400, 300)), "PNG")
    with pytest.raises(InvalidPhoto):
        process(data[: len(data) // 2], font_path)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return png_bomb(20_000)


def test_png_bomb_is_refused_from_the_header(bomb: bytes, font_path: Path) -> None:
    assert len(bomb) < 200_000  # tiny compressed, 400 megapixels decoded
    start = time.perf_counter()
    with pytest.raises(InvalidPhoto, match="megapixels"):
        process(bomb, font_path)
    with pytest.raises(InvalidPhoto, match="megapixels"):
        inspect_upload(bomb)
    assert time.perf_counter() - start < 0.5


@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")
def test_just_over_50_megapixels_is_refused_without_decoding(font_path: Path) -> None:
    # 8000 x 6300 = 50.4 MP, below Pillow's own error threshold; the IDAT is garbage, so only a
    # header check (not a decode) can give this answer.
    data = png(8000, 6300, b"garbage that never decodes")
    with pytest.raises(InvalidPhoto, match="more than 50 megapixels") as excinfo:
        process(data, font_path)
    assert "50 megapixels" in excinfo.value.detail


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_jpeg_claiming_huge_dimensions_is_refused(photo_jpeg: bytes, font_path: Path) -> None:
    start = time.perf_counter()
    with pytest.raises(InvalidPhoto, match="megapixels"):
        process(jpeg_with_size(photo_jpeg, 60_000, 60_000), font_path)
    with pytest.raises(InvalidPhoto, match="megapixels"):
        process(jpeg_with_size(photo_jpeg, 10_000, 6_000), font_path)
    assert time.perf_counter() - start < 0.5


def test_exactly_50_megapixels_header_is_allowed_by_inspect() -> None:
    info = inspect_upload(png(10_000, 5_000, b"unchecked until decoded"))
    assert info.width * info.height == 50_000_000


def test_eleven_mib_is_photo_too_large(font_path: Path) -> None:
    data = b"\xff\xd8\xff" + b"\x00" * (11 * 1024 * 1024)
    with pytest.raises(PhotoTooLarge) as excinfo:
        process(data, font_path)
    assert (excinfo.value.status, excinfo.value.code) == (413, "photo_too_large")
    with pytest.raises(PhotoTooLarge):
        inspect_upload(data)


def test_jpeg_with_zip_appended_stores_only_the_image(photo_jpeg: bytes, font_path: Path) -> None:
    polyglot = photo_jpeg + _zip()
    assert b"PK\x03\x04" in polyglot
    result = process(polyglot, font_path)
    image = assert_clean_jpeg(result.data)
    assert image.size == (1600, 1200)
    assert b"PK\x03\x04" not in result.thumbnail
    assert result.original_sha256 == hashlib.sha256(polyglot).hexdigest()


# --- reading with a limit -------------------------------------------------------------------------


class CountingChunks:
    """An async byte iterator (like ``request.stream()``) that counts what it handed out."""

    def __init__(self, total: int, chunk: int = 64 * 1024) -> None:
        self.total, self.chunk, self.yielded = total, chunk, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.yielded < self.total:
            n = min(self.chunk, self.total - self.yielded)
            self.yielded += n
            yield b"\xab" * n


class CountingReader:
    """An object with ``await read(n)`` (like ``UploadFile``) that counts bytes read."""

    def __init__(self, total: int) -> None:
        self.total, self.read_bytes = total, 0

    async def read(self, size: int = -1, /) -> bytes:
        n = self.total - self.read_bytes if size < 0 else min(size, self.total - self.read_bytes)
        self.read_bytes += n
        return b"\xab" * n


async def test_read_limited_stops_an_11_mib_stream_after_the_limit() -> None:
    source = CountingChunks(11 * 1024 * 1024)
    with pytest.raises(PhotoTooLarge):
        await read_limited(source, MAX_UPLOAD_BYTES)
    assert MAX_UPLOAD_BYTES < source.yielded <= MAX_UPLOAD_BYTES + source.chunk


async def test_read_limited_with_an_odd_chunk_size_reads_at_most_one_chunk_over() -> None:
    source = CountingChunks(11 * 1024 * 1024, chunk=1_000_003)
    with pytest.raises(PhotoTooLarge):
        await read_limited(source, MAX_UPLOAD_BYTES)
    assert source.yielded <= MAX_UPLOAD_BYTES + source.chunk


async def test_read_limited_reads_at_most_limit_plus_one_from_a_reader() -> None:
    reader = CountingReader(11 * 1024 * 1024)
    with pytest.raises(PhotoTooLarge):
        await read_limited(reader, MAX_UPLOAD_BYTES)
    assert reader.read_bytes == MAX_UPLOAD_BYTES + 1


@pytest.mark.parametrize("size", [0, 1, 64 * 1024, MAX_UPLOAD_BYTES])
async def test_read_limited_returns_uploads_up_to_the_limit(size: int) -> None:
    assert len(await read_limited(CountingChunks(size))) == size
    assert len(await read_limited(CountingReader(size))) == size


async def test_read_limited_one_byte_over() -> None:
    with pytest.raises(PhotoTooLarge):
        await read_limited(CountingChunks(101, chunk=7), 100)
    with pytest.raises(PhotoTooLarge):
        await read_limited(CountingReader(101), 100)


# --- orientation, size, metadata ------------------------------------------------------------------


def _exif(
    orientation: int | None = None,
    taken: str | None = None,
    offset: str | None = None,
    gps: tuple[str, tuple[float, ...], str, tuple[float, ...]] | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Doorstep Test Camera"  # Make
    if orientation is not None:
        exif[0x0112] = orientation
    if taken is not None:
        exif_ifd = exif.get_ifd(0x8769)
        exif_ifd[0x9003] = taken
        if offset is not None:
            exif_ifd[0x9011] = offset
    if gps is not None:
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[1], gps_ifd[3] = gps[0], gps[2]
        gps_ifd[2] = tuple(IFDRational(v) for v in gps[1])
        gps_ifd[4] = tuple(IFDRational(v) for v in gps[3])
    return exif


def test_exif_orientation_6_is_applied(font_path: Path) -> None:
    image = Image.new("RGB", (400, 200), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 40, 40))  # a red mark top-left of the sensor image
    data = encode(image, "JPEG", quality=95, exif=_exif(orientation=6))
    result = process(data, font_path, lines=[])
    stored = assert_clean_jpeg(result.data)
    assert stored.size == (200, 400)
    assert (result.original_width, result.original_height) == (400, 200)
    # orientation 6: the camera was turned right; shown upright, sensor top-left is top-right
    pixels = np.asarray(stored, dtype=np.int32)
    r, _g, b = pixels[10, 190]  # (row, column)
    assert r > 200 and b < 60
    r, _g, b = pixels[10, 10]
    assert b > 200 and r < 60
    assert decode(result.thumbnail).size == (160, 320)


def test_gps_and_capture_time_are_read_then_stripped(font_path: Path) -> None:
    exif = _exif(
        taken="2026:11:23 10:32:05",
        offset="+08:00",
        gps=("N", (30.0, 16.0, 26.76), "E", (120.0, 9.0, 18.36)),
    )
    original = encode(synthetic_photo(8, (800, 600)), "JPEG", exif=exif)
    assert b"Exif" in original and b"Doorstep Test Camera" in original
    result = process(original, font_path)
    assert result.gps_lat == pytest.approx(30.2741, abs=1e-6)
    assert result.gps_lng == pytest.approx(120.1551, abs=1e-6)
    assert result.captured_at == datetime(
        2026, 11, 23, 10, 32, 5, tzinfo=timezone(timedelta(hours=8))
    )
    for stored in (result.data, result.thumbnail):
        image = assert_clean_jpeg(stored)
        assert image.getexif().get_ifd(0x8825) == {}
        assert b"Doorstep Test Camera" not in stored
        assert b"GPS" not in stored


def test_southern_western_gps_and_naive_time(font_path: Path) -> None:
    exif = _exif(taken="2026:01:02 03:04:05", gps=("S", (33.0, 52.0, 4.0), "W", (70.0, 30.0, 0.0)))
    result = process(encode(synthetic_photo(9, (320, 240)), "JPEG", exif=exif), font_path)
    assert result.gps_lat == pytest.approx(-(33 + 52 / 60 + 4 / 3600), abs=1e-6)
    assert result.gps_lng == pytest.approx(-70.5, abs=1e-6)
    assert result.captured_at == datetime(2026, 1, 2, 3, 4, 5)  # naive: the zone is unknown
    assert result.captured_at.tzinfo is None


@pytest.mark.parametrize(
    "exif",
    [
        _exif(taken="not a date", offset="+99:99"),
        _exif(taken="2026:13:45 25:61:00", offset="garbage"),
        _exif(gps=("N", (0.0, 0.0), "E", (1.0,))),  # wrong arity handled, no crash
        _exif(gps=("N", (200.0, 0.0, 0.0), "E", (10.0, 0.0, 0.0))),  # out of range
        _exif(orientation=42),
    ],
)
def test_garbage_metadata_is_ignored_not_fatal(exif: Image.Exif, font_path: Path) -> None:
    data = encode(synthetic_photo(10, (320, 240)), "JPEG", exif=exif)
    result = process(data, font_path)
    assert result.captured_at is None
    if result.gps_lat is not None:  # a two-part position is still a position
        assert -90 <= result.gps_lat <= 90
    assert (result.width, result.height) == (320, 240)


def test_zero_denominator_gps_is_ignored(font_path: Path) -> None:
    exif = Image.Exif()
    gps_ifd = exif.get_ifd(0x8825)
    gps_ifd[1], gps_ifd[3] = "N", "E"
    gps_ifd[2] = (IFDRational(1, 0), IFDRational(0, 1), IFDRational(0, 1))
    gps_ifd[4] = (IFDRational(120, 1), IFDRational(0, 1), IFDRational(0, 1))
    result = process(encode(synthetic_photo(11, (320, 240)), "JPEG", exif=exif), font_path)
    assert (result.gps_lat, result.gps_lng) == (None, None)


@pytest.mark.parametrize(
    ("size", "stored"), [((4000, 3000), (2048, 1536)), ((3000, 4000), (1536, 2048))]
)
def test_long_edge_is_at_most_2048(
    size: tuple[int, int], stored: tuple[int, int], font_path: Path
) -> None:
    result = process(encode(synthetic_photo(12, size), "JPEG", quality=80), font_path)
    assert (result.width, result.height) == stored
    assert decode(result.data).size == stored
    thumb = decode(result.thumbnail)
    assert max(thumb.size) == 320
    assert (result.thumb_width, result.thumb_height) == thumb.size
    assert thumb.size == (320, 240) if size[0] > size[1] else (240, 320)


def test_thumbnail_of_a_small_photo_is_not_upscaled(font_path: Path) -> None:
    result = process(encode(synthetic_photo(13, (200, 100)), "PNG"), font_path)
    assert decode(result.thumbnail).size == (200, 100)
    assert (result.width, result.height) == (200, 100)


def test_custom_edges(photo_jpeg: bytes, font_path: Path) -> None:
    result = process_photo(
        photo_jpeg, watermark_lines=LINES, font_path=font_path, max_long_edge=1000, thumb_edge=100
    )
    assert (result.width, result.height) == (1000, 750)
    assert decode(result.thumbnail).size == (100, 75)


# --- watermark ------------------------------------------------------------------------------------


def test_watermark_band_is_darkened_and_carries_the_text(font_path: Path) -> None:
    base = synthetic_photo(14, (1600, 1200))
    band_h = watermark_band_height(1600, 1200, 2)
    assert 0 < band_h < 1200 // 5
    box = (0, 1200 - band_h, 1600, 1200)
    empty = draw_watermark(base.copy(), ["", ""], font_path)
    texted = draw_watermark(base.copy(), LINES, font_path)
    # the band is darker than the photo it covers, and the rest of the image is untouched
    assert _mean(empty.crop(box)) < 0.6 * _mean(base.crop(box))
    assert (
        ImageChops.difference(
            empty.crop((0, 0, 1600, 1200 - band_h)), base.crop((0, 0, 1600, 1200 - band_h))
        ).getbbox()
        is None
    )
    # the glyphs: white pixels only where there is text
    diff = ImageChops.difference(texted.crop(box), empty.crop(box)).convert("L")
    changed = int((np.asarray(diff) > 64).sum())
    assert changed > 2000
    assert draw_watermark(base.copy(), [], font_path).tobytes() == base.tobytes()


def test_processed_photo_shows_the_watermark(photo_jpeg: bytes, font_path: Path) -> None:
    plain = decode(process(photo_jpeg, font_path, lines=[]).data)
    marked = decode(process(photo_jpeg, font_path).data)
    band_h = watermark_band_height(1600, 1200, len(LINES))
    box = (0, 1200 - band_h, 1600, 1200)
    assert _mean(marked.crop(box)) < 0.7 * _mean(plain.crop(box))
    top = (0, 0, 1600, 600)
    assert _mean(ImageChops.difference(marked.crop(top), plain.crop(top))) < 1.0


def _glyph(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> bytes:
    image = Image.new("L", (200, 80), 0)
    from PIL import ImageDraw

    ImageDraw.Draw(image).text((5, 5), text, font=font, fill=255)
    return image.tobytes()


def test_the_font_renders_cjk_glyphs_not_tofu(font_path: Path) -> None:
    font = ImageFont.truetype(str(font_path), 48, index=0)
    ce, shi = _glyph("测", font), _glyph("试", font)
    assert ce != shi  # tofu would draw the same box for both
    assert any(ce) and any(shi)
    default = ImageFont.load_default(size=48)
    assert _glyph("测试", font) != _glyph("测试", default)
    # the default font has no CJK: both characters come out as the same missing-glyph box
    assert _glyph("测", default) == _glyph("试", default)


def test_long_lines_shrink_to_fit(font_path: Path) -> None:
    base = Image.new("RGB", (400, 300), (255, 255, 255))
    long_line = "益丰大药房" * 20
    marked = draw_watermark(base.copy(), [long_line], font_path)
    band_h = watermark_band_height(400, 300, 1)
    # the text still starts at the left padding and does not reach the right edge column
    right_edge = marked.crop((398, 300 - band_h, 400, 300))
    assert np.asarray(right_edge).max() < 200


def _drawn_on_the_band(base: Image.Image, lines: list[str], font_path: Path) -> Image.Image:
    """The watermark drawn the plain way: darken the band, draw each line straight onto it."""
    from PIL import ImageDraw

    from backend.photos.processing import _DARKEN, _clipped, _font, _font_size, _pad

    image = base.copy()
    width, height = image.size
    band_h = watermark_band_height(width, height, len(lines))
    size, pad = _font_size(width, height), _pad(width, height)
    font = _font(font_path, size)
    longest = max(font.getlength(line) for line in lines)
    if longest > width - 2 * pad and longest > 0:
        size = max(6, math.floor(size * (width - 2 * pad) / longest))
        font = _font(font_path, size)
        lines = [_clipped(line, font, width - 2 * pad) for line in lines]
    box = (0, height - band_h, width, height)
    band = image.crop(box).point(_DARKEN)
    draw = ImageDraw.Draw(band)
    line_h = (band_h - 2 * pad) // len(lines)
    for i, line in enumerate(lines):
        draw.text((pad, pad + i * line_h), line, font=font, fill=(255, 255, 255))
    image.paste(band, box)
    return image


@pytest.mark.parametrize(
    ("size", "lines"),
    [
        ((1600, 1200), LINES),
        ((1200, 1600), LINES),
        ((400, 300), ["益丰大药房" * 20]),
        ((2048, 27), LINES),  # a band too short for its lines: they overlap
        ((300, 200), ["第一行", "", "第三行 · 3"]),
    ],
)
def test_watermark_pixels_match_drawing_the_lines_on_the_band(
    size: tuple[int, int], lines: list[str], font_path: Path
) -> None:
    base = synthetic_photo(15, (max(size[0], 60), max(size[1], 60))).resize(size)
    for _ in range(2):  # rendered, then from the cache
        marked = draw_watermark(base.copy(), lines, font_path)
        assert marked.tobytes() == _drawn_on_the_band(base, lines, font_path).tobytes()


def _mean(image: Image.Image) -> float:
    return float(np.asarray(image.convert("L"), dtype=np.float64).mean())


# --- perceptual hash ------------------------------------------------------------------------------


def _recompressed_half(data: bytes) -> bytes:
    image = decode(data)
    half = image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)
    return encode(half, "JPEG", quality=60)


@pytest.mark.parametrize("seed", [1, 21, 22, 23])
def test_phash_survives_resize_and_recompression(seed: int, font_path: Path) -> None:
    original = encode(synthetic_photo(seed), "JPEG", quality=90)
    copy = _recompressed_half(original)
    a = process(original, font_path, lines=["店 A", "张三"])
    b = process(copy, font_path, lines=["另一家店", "李四 · 2026-11-24"])  # other watermark
    assert a.original_sha256 != b.original_sha256
    assert hamming(a.phash, b.phash) <= 6
    assert set(hash_bands(a.phash)) & set(probe_keys(b.phash, 6))


def test_phash_matches_our_own_watermarked_copy_uploaded_again(font_path: Path) -> None:
    """A rep who saves the stored (watermarked) photo and sends it for another visit is caught:
    the bottom band is outside the hash."""
    for seed in (1, 2, 3):
        first = process(encode(synthetic_photo(seed), "JPEG", quality=90), font_path)
        again = process(first.data, font_path, lines=["另一家店", "李四"])
        smaller = process(_recompressed_half(first.data), font_path, lines=["另一家店"])
        assert hamming(first.phash, again.phash) <= 6
        assert hamming(first.phash, smaller.phash) <= 6


def test_phash_separates_different_photos(font_path: Path) -> None:
    hashes = [
        process(encode(synthetic_photo(seed), "JPEG", quality=85), font_path).phash
        for seed in range(30, 38)
    ]
    distances = [hamming(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1 :]]
    assert min(distances) > 10


def test_phash_of_an_image_object_matches_process(photo_jpeg: bytes, font_path: Path) -> None:
    direct = perceptual_hash(decode(photo_jpeg))
    assert hamming(direct, process(photo_jpeg, font_path).phash) <= 2


@pytest.mark.parametrize(
    ("size", "orientation"),
    [
        ((1600, 1200), 1),
        ((1200, 1600), 1),
        ((4032, 3024), 6),
        ((3000, 4000), 8),
        ((2049, 100), 1),
        ((330, 330), 3),
        ((400, 300), 1),
        ((100, 80), 1),  # small: the band reaches into the hashed part
        ((64, 300), 6),
    ],
)
def test_the_watermark_never_changes_the_phash(
    size: tuple[int, int], orientation: int, font_path: Path
) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(synthetic_photo(3, size), "JPEG", quality=90, exif=exif)
    published: list[int] = []
    marked = process_photo(
        data, watermark_lines=LINES, font_path=font_path, on_phash=published.append
    )
    plain = process(data, font_path, lines=[])
    assert marked.phash == plain.phash
    assert published == [marked.phash]  # once, and the same hash


def test_encoding_without_memfd_gives_the_same_bytes(
    photo_jpeg: bytes, font_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_memfd = process(photo_jpeg, font_path)
    monkeypatch.delattr(os, "memfd_create", raising=False)
    without = process(photo_jpeg, font_path)
    assert (without.data, without.thumbnail) == (with_memfd.data, with_memfd.thumbnail)


def test_hamming_and_int64() -> None:
    assert hamming(0, 0) == 0
    assert hamming(0, -1) == 64
    assert hamming(to_int64(2**64 - 1), -1) == 0
    assert to_int64(2**63) == -(2**63)
    assert to_int64(2**63 - 1) == 2**63 - 1
    assert hamming(0b1011, 0b0001) == 2


def test_hash_bands_layout() -> None:
    h = to_int64(0x0123456789ABCDEF)
    assert hash_bands(h) == [i * 256 + b for i, b in enumerate(bytes.fromhex("0123456789abcdef"))]
    assert hash_bands(h, bits_per_band=16) == [
        0 << 16 | 0x0123,
        1 << 16 | 0x4567,
        2 << 16 | 0x89AB,
        3 << 16 | 0xCDEF,
    ]
    assert all(0 <= k < 2048 for k in hash_bands(-1))
    with pytest.raises(ValueError, match="bits_per_band"):
        hash_bands(h, bits_per_band=7)


@pytest.mark.parametrize("bits_per_band", [8, 16])
def test_banded_lookup_finds_every_hash_within_distance_6(bits_per_band: int) -> None:
    rng = random.Random(1234)
    for _ in range(400):
        a = to_int64(rng.getrandbits(64))
        distance = rng.randint(0, 6)
        b = a
        for bit in rng.sample(range(64), distance):
            b = to_int64(b ^ (1 << bit))
        assert hamming(a, b) == distance
        stored = set(hash_bands(a, bits_per_band=bits_per_band))
        assert stored & set(probe_keys(b, 6, bits_per_band=bits_per_band))


def test_probe_keys_sizes() -> None:
    assert probe_keys(5, 6) == hash_bands(5)  # 8 bands: radius 0, plain equality
    assert len(probe_keys(5, 6, bits_per_band=16)) == 4 * 17  # radius 1 per 16-bit band
    assert len(probe_keys(5, 3, bits_per_band=16)) == 4
    with pytest.raises(ValueError, match="max_distance"):
        probe_keys(5, -1)


def test_four_16_bit_bands_alone_miss_distance_4() -> None:
    """Why plain equality needs 8 bands: one flipped bit per 16-bit band shares no band."""
    a = 0
    b = to_int64(sum(1 << (16 * i) for i in range(4)))
    assert hamming(a, b) == 4
    assert not set(hash_bands(a, bits_per_band=16)) & set(hash_bands(b, bits_per_band=16))
    assert set(hash_bands(a)) & set(hash_bands(b))
