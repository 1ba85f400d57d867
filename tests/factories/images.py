"""Synthetic but photo-like test images, and hand-made hostile files."""

import io
import math
import struct
import zlib
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from backend.kit import fonts

# Where the watermark font is looked for: the packaged one first, then the system locations.
FONT_CANDIDATES = fonts.CANDIDATES


def synthetic_photo(seed: int, size: tuple[int, int] = (1600, 1200)) -> Image.Image:
    """Gradient sky, a few dozen coloured shapes, sensor-like noise: varies with ``seed``."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = x * math.cos(angle) + y * math.sin(angle)
    ramp = (ramp - ramp.min()) / max(1e-6, float(ramp.max() - ramp.min()))
    c1, c2 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    base = c1 + (c2 - c1) * ramp[..., None]
    image = Image.fromarray(base.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    scale = min(width, height)
    for _ in range(int(rng.integers(12, 30))):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = (int(v) for v in rng.integers(scale // 20, scale // 3, 2))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        kind = int(rng.integers(0, 3))
        if kind == 0:
            draw.rectangle((x0, y0, x0 + w, y0 + h), fill=fill)
        elif kind == 1:
            draw.ellipse((x0, y0, x0 + w, y0 + h), fill=fill)
        else:
            draw.polygon([(x0, y0), (x0 + w, y0 + h // 3), (x0 + w // 3, y0 + h)], fill=fill)
    pixels = np.asarray(image, dtype=np.int16)
    pixels = pixels + rng.normal(0, 10, pixels.shape).astype(np.int16)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def encode(image: Image.Image, fmt: str = "JPEG", **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png(width: int, height: int, idat: bytes, *, bit_depth: int = 8, color_type: int = 2) -> bytes:
    """A PNG with the given header and raw (already compressed) IDAT bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def png_bomb(side: int = 20_000) -> bytes:
    """A valid 1-bit ``side`` x ``side`` black PNG: tens of KB that decode to hundreds of MB."""
    row = b"\x00" * (1 + (side + 7) // 8)
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row * 1000) for _ in range(side // 1000)]
    parts.append(compressor.compress(row * (side % 1000)))
    parts.append(compressor.flush())
    return png(side, side, b"".join(parts), bit_depth=1, color_type=0)


def jpeg_with_size(data: bytes, width: int, height: int) -> bytes:
    """A real JPEG whose SOF header is patched to claim another size (a JPEG 'bomb')."""
    pos = 2
    while pos < len(data):
        marker, length = data[pos + 1], struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            return data[: pos + 5] + struct.pack(">HH", height, width) + data[pos + 9 :]
        pos += 2 + length
    raise ValueError("no SOF marker")
