"""Server time to accept a camera-like 1600x1200 JPEG: validate, decode, watermark, re-encode,
thumbnail, SHA-256 and perceptual hash (``process_photo``). Goal: median <= 25 ms.

The photo is synthetic but behaves like a phone picture for the codec: gradients, a few dozen
shapes and sensor-like noise, saved at quality 85 (about 300-500 KB).

Usage: python bench/bench_photo_processing.py [--repeat N] [--font PATH]
"""

import argparse
import io
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from backend.kit import fonts
from backend.photos.processing import process_photo

GOAL_MS = 25.0
# The packaged CJK font when installed (npm ci), else the first system one found.
DEFAULT_FONT = next(
    (Path(path) for path in fonts.CANDIDATES if Path(path).is_file()), fonts.PACKAGED_FONT
)
LINES = ["益丰大药房（文三路店）", "张三 · 2026-11-23 10:32 (UTC+8)"]


def camera_like_jpeg(width: int = 1600, height: int = 1200, seed: int = 7) -> bytes:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (x * math.cos(0.6) + y * math.sin(0.6)) / (width + height)
    base = np.stack([90 + 120 * ramp, 110 + 80 * ramp, 160 - 90 * ramp], axis=-1)
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = (int(v) for v in rng.integers(30, 400, 2))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.rectangle((x0, y0, x0 + w, y0 + h), fill=fill)
        else:
            draw.ellipse((x0, y0, x0 + w, y0 + h), fill=fill)
    pixels = np.asarray(image, dtype=np.int16) + rng.normal(0, 9, (height, width, 3)).astype(
        np.int16
    )
    out = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--font", type=Path, default=DEFAULT_FONT)
    args = parser.parse_args()
    if not args.font.is_file():
        print(f"no CJK font at {args.font}: {fonts.FIX}")
        return 2

    data = camera_like_jpeg()
    print(f"input: 1600x1200 JPEG q85, {len(data) / 1024:.0f} KiB")
    process_photo(data, watermark_lines=LINES, font_path=args.font)  # warm-up (font, codecs)
    times_ms: list[float] = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = process_photo(data, watermark_lines=LINES, font_path=args.font)
        times_ms.append((time.perf_counter() - start) * 1000)
    times_ms.sort()
    median = statistics.median(times_ms)
    p95 = times_ms[min(len(times_ms) - 1, math.ceil(0.95 * len(times_ms)) - 1)]
    print(
        f"output: {result.width}x{result.height} {len(result.data) / 1024:.0f} KiB, "
        f"thumbnail {result.thumb_width}x{result.thumb_height} "
        f"{len(result.thumbnail) / 1024:.0f} KiB"
    )
    print(
        f"process_photo x{args.repeat}: median {median:.1f} ms, p95 {p95:.1f} ms, "
        f"min {times_ms[0]:.1f} ms (goal: median <= {GOAL_MS:.0f} ms)"
    )
    print("PASS" if median <= GOAL_MS else "SLOWER THAN GOAL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
