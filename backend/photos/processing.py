"""Accepting a photo upload: sniff, validate, re-encode with a watermark, hash.

Pure: bytes in, bytes out (the only file read is the watermark font). CPU-bound, so an endpoint
runs :func:`process_photo` in a worker thread (``anyio.to_thread.run_sync``); it hands the steps
that do not depend on each other to a small pool of helper threads, so one upload uses two cores.

What an upload must be (DESIGN §6 "Photos"):

- at most :data:`MAX_UPLOAD_BYTES` (10 MiB) — :func:`read_limited` stops reading a request body a
  little past the limit, so a huge upload is refused without being read whole;
- JPEG, PNG, WebP or HEIC/HEIF by its magic bytes, decoded by exactly that one Pillow decoder
  (``Image.open(..., formats=[...])``), so a GIF, BMP, TIFF, SVG, PDF, HTML page or ZIP renamed to
  ``.jpg`` never reaches any other decoder;
- at most :data:`MAX_PIXELS` (50 megapixels) by the size in its header, checked before any pixel
  is decoded (decompression bombs). Pillow's own guard is set to the same limit and its
  ``DecompressionBombError`` (and the warning, where warnings are errors) is refused too.

What is stored: a fresh JPEG (orientation applied, RGB, alpha flattened on white, long edge at
most 2048 px, a watermark band burned in), with no metadata at all (no EXIF, no GPS, no ICC
profile, nothing trailing: a JPEG with a ZIP appended stores only the image), and a 320 px
thumbnail made from the watermarked copy. The original's capture time and GPS position are read
from its EXIF and returned for the database.

Hashes: ``original_sha256`` (of the uploaded bytes) is the idempotency key — the same bytes sent
again are the same photo. ``sha256`` is of the stored bytes (an integrity check for storage).
``phash`` is a 64-bit DCT perceptual hash of the oriented, resized image *before* the watermark
and without its bottom fifth, where the band goes (so the same picture watermarked for two
visits, or our own watermarked copy uploaded again, still matches), stored as a signed int64 so it
fits a PostgreSQL ``BIGINT``; near-duplicates are found with :func:`hash_bands` /
:func:`probe_keys` and confirmed with :func:`hamming`.
"""

import functools
import hashlib
import io
import math
import os
import threading
from collections.abc import AsyncIterable, Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import combinations
from pathlib import Path
from typing import Any, Final, Generic, Protocol, TypeVar

import numpy as np
import pillow_heif
from PIL import ExifTags, Image, ImageDraw, ImageFont

from backend.photos.exceptions import InvalidPhoto, PhotoTooLarge

MAX_UPLOAD_BYTES: Final = 10 * 1024 * 1024
MAX_PIXELS: Final = 50_000_000
MAX_LONG_EDGE: Final = 2048
THUMB_EDGE: Final = 320
JPEG_QUALITY: Final = 85
THUMB_QUALITY: Final = 80
READ_CHUNK: Final = 64 * 1024

#: Pillow format names of the accepted uploads, and the label stored as ``original_format``.
FORMATS: Final = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp", "HEIF": "heic"}

# Pillow's own bomb guard agrees with ours: it warns above MAX_PIXELS and raises above twice that.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# HEIC/HEIF decoding (iPhones). Registering twice is harmless; this module does it once.
pillow_heif.register_heif_opener(thumbnails=False)

_HEIF_BRANDS: Final = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
)

_EXIF_ORIENTATION: Final = 0x0112
_EXIF_DATETIME_ORIGINAL: Final = 0x9003
_EXIF_DATETIME_DIGITIZED: Final = 0x9004
_EXIF_OFFSET_ORIGINAL: Final = 0x9011
_EXIF_OFFSET_DIGITIZED: Final = 0x9012
_EXIF_SUBSEC_ORIGINAL: Final = 0x9291

# The same table as ImageOps.exif_transpose, applied after the resize (cheaper on fewer pixels).
_TRANSPOSE: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_AXES: Final = frozenset({5, 6, 7, 8})


@dataclass(frozen=True, slots=True)
class UploadInfo:
    """What the header of an acceptable upload says (nothing decoded yet)."""

    format: str  # "jpeg" | "png" | "webp" | "heic"
    width: int
    height: int
    size: int  # bytes

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1_000_000


@dataclass(frozen=True, slots=True)
class ProcessedPhoto:
    """The stored copy, its thumbnail, and what the database keeps about the original.

    ``captured_at`` comes from EXIF ``DateTimeOriginal`` (falling back to ``DateTimeDigitized``);
    with an ``OffsetTime*`` tag it is timezone-aware, without one it is naive (``tzinfo`` None:
    the camera's local time, zone unknown) and must not be compared with UTC times as if it were.
    """

    data: bytes  # the stored JPEG
    thumbnail: bytes  # JPEG, long edge <= thumb_edge
    width: int
    height: int
    thumb_width: int
    thumb_height: int
    sha256: str  # hex, of ``data`` (the stored bytes)
    original_sha256: str  # hex, of the uploaded bytes: the key for "same bytes again"
    phash: int  # 64-bit perceptual hash as a signed int64 (PostgreSQL BIGINT)
    original_format: str  # "jpeg" | "png" | "webp" | "heic"
    original_width: int
    original_height: int
    original_size: int
    captured_at: datetime | None
    gps_lat: float | None
    gps_lng: float | None

    content_type = "image/jpeg"


# --- reading the upload ---------------------------------------------------------------------------


class AsyncReadable(Protocol):
    """Anything with ``await read(n)``, e.g. Starlette's ``UploadFile``."""

    async def read(self, size: int = -1, /) -> bytes: ...


async def read_limited(
    source: AsyncIterable[bytes] | AsyncReadable, limit: int = MAX_UPLOAD_BYTES
) -> bytes:
    """Read a whole upload, refusing it with :class:`PhotoTooLarge` once it exceeds ``limit``.

    From an object with ``read(n)`` at most ``limit + 1`` bytes are read. From an async iterator
    of chunks (``request.stream()``) reading stops at the first chunk that goes past the limit:
    no further chunk is pulled, so at most ``limit`` + one chunk is ever consumed and at most
    ``limit + 1`` bytes are kept.
    """
    buf = bytearray()
    if hasattr(source, "read"):
        while len(buf) <= limit:
            chunk = await source.read(min(READ_CHUNK, limit + 1 - len(buf)))
            if not chunk:
                return bytes(buf)
            buf += chunk
    else:
        async for chunk in source:
            buf += chunk[: limit + 1 - len(buf)]
            if len(buf) > limit:
                break
        else:
            return bytes(buf)
    raise PhotoTooLarge(f"The photo is larger than {_mib(limit)}.", limit_bytes=limit)


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB"


def sniff_format(data: bytes) -> str | None:
    """The Pillow format name that the magic bytes announce, if it is one we accept."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return None


def _check_size(data: bytes) -> None:
    if len(data) > MAX_UPLOAD_BYTES:
        raise PhotoTooLarge(limit_bytes=MAX_UPLOAD_BYTES)
    if not data:
        raise InvalidPhoto("The file is empty.")


def _open(data: bytes) -> tuple[Image.Image, str]:
    """Open (header only) with the one decoder the magic bytes name; refuse bombs."""
    _check_size(data)
    fmt = sniff_format(data)
    if fmt is None:
        raise InvalidPhoto("The file is not a JPEG, PNG, WebP or HEIC photo.")
    try:
        image = Image.open(io.BytesIO(data), formats=[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidPhoto(_too_many_pixels_detail()) from exc
    except Exception as exc:  # any decoder failure on hostile input is the client's problem
        raise InvalidPhoto(f"The file is not a valid {FORMATS[fmt].upper()} image.") from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        raise InvalidPhoto("The image has no pixels.")
    if width * height > MAX_PIXELS:
        raise InvalidPhoto(_too_many_pixels_detail(), width=width, height=height)
    return image, fmt


def _too_many_pixels_detail() -> str:
    return f"The image has more than {MAX_PIXELS // 1_000_000} megapixels."


def inspect_upload(data: bytes) -> UploadInfo:
    """Check size, type and pixel count from the header alone; raise InvalidPhoto/PhotoTooLarge.

    Nothing is decoded: a truncated or corrupt image passes this and fails in
    :func:`process_photo`.
    """
    image, fmt = _open(data)
    with image:
        return UploadInfo(FORMATS[fmt], image.width, image.height, len(data))


# --- metadata ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Meta:
    orientation: int
    captured_at: datetime | None
    gps_lat: float | None
    gps_lng: float | None


def _read_meta(image: Image.Image) -> _Meta:
    try:
        exif = image.getexif()
    except Exception:  # corrupt EXIF is ignored, never fatal
        return _Meta(1, None, None, None)
    orientation = exif.get(_EXIF_ORIENTATION, 1)
    if not isinstance(orientation, int) or orientation not in _TRANSPOSE:
        orientation = 1
    try:
        captured_at = _captured_at(dict(exif.get_ifd(ExifTags.IFD.Exif)))
    except Exception:
        captured_at = None
    try:
        lat, lng = _gps(dict(exif.get_ifd(ExifTags.IFD.GPSInfo)))
    except Exception:
        lat = lng = None
    return _Meta(orientation, captured_at, lat, lng)


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    return value.strip("\x00 ").strip() or None


def _parse_offset(value: Any) -> timezone | None:
    text = _text(value)
    if text is None or len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        hours, minutes = int(text[1:3]), int(text[4:6])
    except ValueError:
        return None
    if hours > 14 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)


def _captured_at(exif_ifd: dict[int, Any]) -> datetime | None:
    for tag, offset_tag in (
        (_EXIF_DATETIME_ORIGINAL, _EXIF_OFFSET_ORIGINAL),
        (_EXIF_DATETIME_DIGITIZED, _EXIF_OFFSET_DIGITIZED),
    ):
        text = _text(exif_ifd.get(tag))
        if text is None:
            continue
        try:
            moment = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
        except ValueError:
            continue
        if tag == _EXIF_DATETIME_ORIGINAL:
            subsec = _text(exif_ifd.get(_EXIF_SUBSEC_ORIGINAL))
            if subsec and subsec.isdigit():
                moment = moment.replace(microsecond=int(subsec[:6].ljust(6, "0")))
        tz = _parse_offset(exif_ifd.get(offset_tag))
        return moment.replace(tzinfo=tz) if tz is not None else moment
    return None


def _degrees(value: Any) -> float | None:
    if not isinstance(value, tuple) or not 1 <= len(value) <= 3:
        return None
    parts = [float(v) for v in value]
    if not all(math.isfinite(p) and p >= 0 for p in parts):
        return None
    parts += [0.0] * (3 - len(parts))
    return parts[0] + parts[1] / 60 + parts[2] / 3600


def _gps(gps: dict[int, Any]) -> tuple[float | None, float | None]:
    lat, lng = _degrees(gps.get(2)), _degrees(gps.get(4))
    lat_ref, lng_ref = _text(gps.get(1)), _text(gps.get(3))
    if lat is None or lng is None or lat > 90 or lng > 180:
        return None, None
    if lat_ref == "S":
        lat = -lat
    if lng_ref == "W":
        lng = -lng
    return round(lat, 7), round(lng, 7)


# --- pixels ---------------------------------------------------------------------------------------


def _draft(image: Image.Image, fmt: str, max_long_edge: int) -> None:
    """Let libjpeg decode a large JPEG at 1/2, 1/4 or 1/8 scale when that is enough (the
    image's ``size`` then is the reduced one, before any pixel is decoded)."""
    if fmt != "JPEG":
        return
    scale = max_long_edge / max(image.size)
    if scale < 1:
        wanted = (math.ceil(image.width * scale), math.ceil(image.height * scale))
        try:
            image.draft("RGB", wanted)
        except Exception as exc:  # hostile header
            raise InvalidPhoto("The JPEG image could not be decoded.") from exc


def _fit(size: tuple[int, int], max_long_edge: int) -> tuple[int, int]:
    """``size`` scaled down so that its long edge is at most ``max_long_edge``."""
    width, height = size
    long_edge = max(width, height)
    if long_edge <= max_long_edge:
        return size
    scale = max_long_edge / long_edge
    return max(1, round(width * scale)), max(1, round(height * scale))


def _decode(image: Image.Image, fmt: str, max_long_edge: int) -> Image.Image:
    """Decode to an RGB image whose long edge is at most ``max_long_edge`` (not yet oriented);
    a JPEG must have been through :func:`_draft`."""
    try:
        image.load()
        rgb = _to_rgb(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidPhoto(_too_many_pixels_detail()) from exc
    except InvalidPhoto:
        raise
    except MemoryError as exc:
        raise InvalidPhoto(_too_many_pixels_detail()) from exc
    except Exception as exc:  # truncated, corrupt, unsupported variant
        raise InvalidPhoto(f"The {FORMATS[fmt].upper()} image could not be decoded.") from exc
    size = _fit(rgb.size, max_long_edge)
    if size != rgb.size:
        rgb = rgb.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return rgb


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


_fonts = threading.local()


def _font(font_path: Path, size: int) -> ImageFont.FreeTypeFont:
    """FreeType faces are not shared between threads: one cache per worker thread."""
    cache: dict[tuple[str, int], ImageFont.FreeTypeFont] | None = getattr(_fonts, "cache", None)
    if cache is None:
        cache = _fonts.cache = {}
    key = (str(font_path), size)
    font = cache.get(key)
    if font is None:
        if len(cache) > 64:
            cache.clear()
        font = cache[key] = ImageFont.truetype(str(font_path), size, index=0)
    return font


_DARKEN: Final = [int(v * 0.4) for v in range(256)] * 3


def watermark_band_height(width: int, height: int, lines: int) -> int:
    """Height of the band :func:`draw_watermark` darkens at the bottom (0 without lines)."""
    if lines == 0:
        return 0
    size, pad = _font_size(width, height), _pad(width, height)
    return min(height, lines * round(size * 1.3) + 2 * pad)


def _font_size(width: int, height: int) -> int:
    return max(10, round(min(width, height) * 0.032))


def _pad(width: int, height: int) -> int:
    return max(4, round(_font_size(width, height) * 0.5))


@dataclass(frozen=True, slots=True)
class _Watermark:
    """The band at the bottom of an image of a given size, and its lines of text rasterised:
    for each, where it goes in the band and its coverage (an ``L`` mask)."""

    box: tuple[int, int, int, int]
    lines: tuple[tuple[tuple[int, int], Image.Image], ...]


_WHITE: Final = (255, 255, 255)


def _render_watermark(
    width: int, height: int, lines: Sequence[str], font_path: Path
) -> _Watermark | None:
    """Lay out and rasterise the text of the band for a ``width`` x ``height`` image.

    Needs no pixel of the photo, so it can run while the photo is being decoded. Each line is
    drawn on its own mask and the masks are applied in turn, which gives the very pixels that
    drawing the lines straight onto the band would (even where lines overlap).

    Cached (the masks are only ever read): the photos of one visit carry the same lines and,
    from one phone, have the same size, so FreeType (which holds the GIL) rasterises the text
    once per visit rather than once per photo. An entry is the glyphs' bounding boxes, a few
    tens of KB.
    """
    return _rendered_watermark(width, height, tuple(lines), font_path)


@functools.lru_cache(maxsize=64)
def _rendered_watermark(
    width: int, height: int, lines: tuple[str, ...], font_path: Path
) -> _Watermark | None:
    if not lines:
        return None
    band_h = watermark_band_height(width, height, len(lines))
    size, pad = _font_size(width, height), _pad(width, height)
    font = _font(font_path, size)
    room = width - 2 * pad
    longest = max(font.getlength(line) for line in lines)
    if longest > room and longest > 0:
        size = max(6, math.floor(size * room / longest))
        font = _font(font_path, size)
        # Too long even at the smallest size: cut with an ellipsis rather than run off the edge.
        lines = tuple(_clipped(line, font, room) for line in lines)
    line_h = (band_h - 2 * pad) // len(lines)
    masks: list[tuple[tuple[int, int], Image.Image]] = []
    for i, line in enumerate(lines):
        mask = Image.new("L", (width, band_h), 0)
        ImageDraw.Draw(mask).text((pad, pad + i * line_h), line, font=font, fill=255)
        bbox = mask.getbbox()
        if bbox is not None:  # nothing drawn (an empty line): nothing to apply
            masks.append((bbox[:2], mask.crop(bbox)))
    return _Watermark((0, height - band_h, width, height), tuple(masks))


def _clipped(line: str, font: ImageFont.FreeTypeFont, room: int) -> str:
    """``line``, or its longest start that fits ``room`` pixels with "…" after it."""
    if font.getlength(line) <= room:
        return line
    low, high = 0, len(line)  # the longest fitting start is line[:low]
    while low < high:
        mid = (low + high + 1) // 2
        if font.getlength(line[:mid] + "…") <= room:
            low = mid
        else:
            high = mid - 1
    return line[:low] + "…" if low else ""


def _watermarked_band(image: Image.Image, mark: _Watermark) -> Image.Image:
    """The band of ``image`` darkened, with the text in white (``image`` is only read)."""
    band = image.crop(mark.box).point(_DARKEN)
    for (x, y), mask in mark.lines:
        band.paste(_WHITE, (x, y, x + mask.width, y + mask.height), mask)
    return band


def draw_watermark(image: Image.Image, lines: Sequence[str], font_path: Path) -> Image.Image:
    """Burn ``lines`` into a darkened band at the bottom of an RGB image (in place; returned).

    The font size follows the short edge (about 3.2 %, so portrait and landscape photos get the
    same text) and shrinks when the longest line would not fit the width (to 6 px at least; a line
    too long even then is cut with "…"). Glyphs come from
    ``font_path`` (face 0 of a .ttc), which must cover CJK.
    """
    mark = _render_watermark(image.width, image.height, lines, font_path)
    if mark is not None:
        image.paste(_watermarked_band(image, mark), mark.box)
    return image


# --- perceptual hash -----------------------------------------------------------------------------

_HASH_SIDE: Final = 32
_HASH_LOW: Final = 8
_DCT_ROWS: Final = np.array(
    [
        [math.cos(math.pi * (2 * n + 1) * k / (2 * _HASH_SIDE)) for n in range(_HASH_SIDE)]
        for k in range(_HASH_LOW)
    ]
)
_MASK64: Final = (1 << 64) - 1


#: Share of the height, at the bottom, left out of the perceptual hash: the watermark band (up to
#: four lines) lives there, so a stored, watermarked copy uploaded again still matches the
#: original it was made from.
HASH_IGNORE_BOTTOM: Final = 0.2


def perceptual_hash(image: Image.Image, *, ignore_bottom: float = HASH_IGNORE_BOTTOM) -> int:
    """64-bit DCT hash (pHash) of the image without its bottom ``ignore_bottom`` share: grayscale
    32x32, the 8x8 lowest frequencies against their median.

    Bits are row-major, most significant first; returned as a signed int64.
    """
    keep = max(1, round(image.height * (1 - ignore_bottom)))
    if keep < image.height:
        image = image.crop((0, 0, image.width, keep))
    small = image.convert("L").resize((_HASH_SIDE, _HASH_SIDE), Image.Resampling.BOX)
    pixels = np.asarray(small, dtype=np.float64)
    low = _DCT_ROWS @ pixels @ _DCT_ROWS.T
    bits = (low > np.median(low)).flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return to_int64(value)


def to_int64(value: int) -> int:
    """An unsigned 64-bit value as the signed int64 with the same bits."""
    value &= _MASK64
    return value - (1 << 64) if value >= 1 << 63 else value


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit hashes (signed or unsigned)."""
    return ((a ^ b) & _MASK64).bit_count()


def hash_bands(h: int, *, bits_per_band: int = 8) -> list[int]:
    """Split a 64-bit hash into bands, each tagged with its index: ``index << bits | value``.

    All tags go into one indexed integer column (a row per band, or an array with a GIN index);
    a stored hash is a candidate when any of its band keys is among :func:`probe_keys` of the
    query, and the candidate is then confirmed with :func:`hamming`.

    Pigeonhole: two hashes at distance ``d`` differ in at most ``d`` bands, so with ``m`` bands
    they share a band exactly when ``d < m`` is guaranteed. 4 bands of 16 bits only guarantee
    ``d <= 3``; 8 bands of 8 bits (the default) guarantee ``d <= 7``, so "distance <= 6" is
    exact with plain equality. Keys are 0..2047 (8-bit) or 0..262143 (16-bit).
    """
    if bits_per_band not in (8, 16):
        raise ValueError("bits_per_band must be 8 or 16")
    h &= _MASK64
    bands = 64 // bits_per_band
    mask = (1 << bits_per_band) - 1
    return [
        (i << bits_per_band) | ((h >> (64 - bits_per_band * (i + 1))) & mask) for i in range(bands)
    ]


def probe_keys(h: int, max_distance: int = 6, *, bits_per_band: int = 8) -> list[int]:
    """Band keys to look up so that every stored hash within ``max_distance`` is a candidate.

    With ``m`` bands, a hash within distance ``d`` has some band differing in at most
    ``d // m`` bits (generalised pigeonhole), so each band is probed with its value and every
    value within that radius. 8-bit bands, ``d = 6``: radius 0, the 8 keys of
    :func:`hash_bands`. 16-bit bands, ``d = 6``: radius 1, 4 x 17 = 68 keys — more keys, but each
    matches ~256 times fewer stored rows (about 15 per million photos instead of ~3,900).
    """
    if max_distance < 0:
        raise ValueError("max_distance must be >= 0")
    keys = hash_bands(h, bits_per_band=bits_per_band)
    radius = max_distance // (64 // bits_per_band)
    if radius == 0:
        return keys
    out: list[int] = []
    for key in keys:
        tag, value = key & ~((1 << bits_per_band) - 1), key & ((1 << bits_per_band) - 1)
        for r in range(radius + 1):
            for flips in combinations(range(bits_per_band), r):
                flipped = value
                for bit in flips:
                    flipped ^= 1 << bit
                out.append(tag | flipped)
    return out


# --- the whole acceptance -------------------------------------------------------------------------


def _shrink(image: Image.Image, edge: int) -> Image.Image:
    """A copy whose long edge is at most ``edge``: an integer box reduction, then a small resize."""
    long_edge = max(image.size)
    factor = long_edge // edge
    small = image.reduce(factor) if factor > 1 else image.copy()
    if max(small.size) > edge:
        scale = edge / max(small.size)
        size = (max(1, round(small.width * scale)), max(1, round(small.height * scale)))
        small = small.resize(size, Image.Resampling.BICUBIC)
    return small


def _rows_hashed(width: int, height: int, edge: int) -> int:
    """How many top rows of a ``width`` x ``height`` image :func:`perceptual_hash` of its
    :func:`_shrink` to ``edge`` reads (with a margin): no pixel below them can change it.

    The reduction by ``factor`` reads ``factor`` rows per row; the bicubic resize after it
    reads up to its support (2 rows, times the scale) below each row's centre; the hash leaves
    out the bottom :data:`HASH_IGNORE_BOTTOM` of the result.
    """
    factor = max(1, max(width, height) // edge)
    w, h = -(-width // factor), -(-height // factor)  # Image.reduce rounds up
    if max(w, h) > edge:
        out_h = max(1, round(h * edge / max(w, h)))
        keep = max(1, round(out_h * (1 - HASH_IGNORE_BOTTOM)))
        ratio = h / out_h
        rows = min(h, math.ceil((keep - 0.5) * ratio + 2 * max(ratio, 1)) + 2)
    else:
        rows = max(1, round(h * (1 - HASH_IGNORE_BOTTOM)))
    return min(height, rows * factor)


def _jpeg(image: Image.Image, quality: int) -> bytes:
    """Baseline JPEG bytes (no Huffman optimisation, not progressive: both cost a lot of CPU).

    Encoded into an anonymous in-memory file where the OS has them (Linux ``memfd``): Pillow's
    encoder releases the GIL only while it writes to a file descriptor, not into a ``BytesIO``,
    so the thumbnail and the event loop keep running during the encode. Same bytes either way.
    """
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is not None:
        try:
            fd = memfd_create("doorstep-jpeg", os.MFD_CLOEXEC)
        except OSError:  # not allowed here (seccomp, old kernel): encode into memory instead
            pass
        else:
            with os.fdopen(fd, "w+b", buffering=0) as fh:
                image.save(fh, "JPEG", quality=quality, optimize=False, progressive=False)
                fh.seek(0)
                return fh.read()
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=False, progressive=False)
    return out.getvalue()


def _thumbnail(
    image: Image.Image, edge: int, on_phash: Callable[[int], object] | None
) -> tuple[int, int, bytes, int]:
    """The thumbnail's size and JPEG, and the perceptual hash of the same reduction, handed to
    ``on_phash`` (when given) before the thumbnail is encoded."""
    thumb = _shrink(image, edge)
    phash = perceptual_hash(thumb)
    if on_phash is not None:
        on_phash(phash)
    return thumb.width, thumb.height, _jpeg(thumb, THUMB_QUALITY), phash


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Independent steps of one acceptance run side by side on a second core: Pillow releases the GIL
# while it decodes, resizes and (see _jpeg) encodes. Shared by all uploads; a step that has not
# started by the time its result is needed runs in the caller's thread instead, so a busy pool
# never makes an upload wait.
_helpers = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="photo")


_T = TypeVar("_T")


class _Aside(Generic[_T]):
    """``fn(*args)`` started on a helper thread; :meth:`result` waits for it, or runs it here
    if no helper has picked it up yet."""

    def __init__(self, fn: Callable[..., _T], *args: Any) -> None:
        self._fn, self._args = fn, args
        self._future: Future[_T] = _helpers.submit(fn, *args)

    def result(self) -> _T:
        if self._future.cancel():
            return self._fn(*self._args)
        return self._future.result()

    def cancel(self) -> None:
        self._future.cancel()


def process_photo(
    data: bytes,
    *,
    watermark_lines: Sequence[str],
    font_path: Path,
    max_long_edge: int = MAX_LONG_EDGE,
    thumb_edge: int = THUMB_EDGE,
    on_phash: Callable[[int], object] | None = None,
) -> ProcessedPhoto:
    """Validate and re-encode an upload; raise :class:`InvalidPhoto` or :class:`PhotoTooLarge`.

    CPU-bound (about ten milliseconds of wall time for a phone photo, using two cores): call it
    in a worker thread from async code. ``on_phash`` is called (on this or a helper thread)
    with the perceptual hash as soon as it is known, before the stored copy is encoded, so a
    caller can look up duplicates meanwhile.

    Steps on a helper thread (see :class:`_Aside`): the watermark text is laid out and rasterised
    while the photo decodes (its size is known from the header, and the result is cached); the
    thumbnail, and the perceptual hash from the same reduction, are made while the stored copy
    is encoded. The outputs are exactly those of doing it all in turn: the hash reads only rows
    above the watermark band (see :func:`_rows_hashed`; for a small image whose band reaches
    higher, it is taken from the unmarked photo first, as the band is darkened aside).
    """
    image, fmt = _open(data)  # over an in-memory buffer: nothing to close
    meta = _read_meta(image)
    original_width, original_height = image.size
    _draft(image, fmt, max_long_edge)
    size = _fit(image.size, max_long_edge)
    if meta.orientation in _SWAPS_AXES:
        size = size[1], size[0]
    lines = list(watermark_lines)
    original_sha256 = _Aside(_sha256_hex, data)
    mark = _Aside(_render_watermark, *size, lines, font_path)
    asides: list[_Aside[Any]] = [original_sha256, mark]
    try:
        clean = _decode(image, fmt, max_long_edge)
        if meta.orientation in _TRANSPOSE:
            clean = clean.transpose(_TRANSPOSE[meta.orientation])
        watermark = mark.result()
        if clean.size != size:  # the decoder disagreed with the header: lay out again
            watermark = _render_watermark(clean.width, clean.height, lines, font_path)
        stored = clean
        phash: int | None = None
        if watermark is None or _rows_hashed(*clean.size, thumb_edge) <= watermark.box[1]:
            # The hash reads no pixel of the band (the usual case): it is taken from the
            # thumbnail's reduction of the stored copy, one reduction instead of two.
            if watermark is not None:
                stored.paste(_watermarked_band(clean, watermark), watermark.box)
            thumb = _Aside(_thumbnail, stored, thumb_edge, on_phash)
            asides.append(thumb)
        else:  # a small image, whose band reaches into the hashed part
            band = _Aside(_watermarked_band, clean, watermark)
            asides.append(band)
            phash = perceptual_hash(_shrink(clean, thumb_edge))  # before the watermark
            if on_phash is not None:
                on_phash(phash)
            stored.paste(band.result(), watermark.box)  # in place: phash is taken
            thumb = _Aside(_thumbnail, stored, thumb_edge, None)
            asides.append(thumb)
        stored_bytes = _jpeg(stored, JPEG_QUALITY)
        sha256 = _sha256_hex(stored_bytes)
        thumb_width, thumb_height, thumb_bytes, thumb_phash = thumb.result()
        if phash is None:
            phash = thumb_phash
        return ProcessedPhoto(
            data=stored_bytes,
            thumbnail=thumb_bytes,
            width=stored.width,
            height=stored.height,
            thumb_width=thumb_width,
            thumb_height=thumb_height,
            sha256=sha256,
            original_sha256=original_sha256.result(),
            phash=phash,
            original_format=FORMATS[fmt],
            original_width=original_width,
            original_height=original_height,
            original_size=len(data),
            captured_at=meta.captured_at,
            gps_lat=meta.gps_lat,
            gps_lng=meta.gps_lng,
        )
    finally:
        for aside in asides:  # after a failure: drop the steps that have not started
            aside.cancel()
