"""The PWA's figures, measured in Chromium (Debian's, through Playwright) against a real server.

- First load of the app shell: bytes on the wire (compressed bodies + headers) for everything the
  first visit fetches — the page's own requests and the service worker's precache. Goal <= 100 KB.
- Offline reload to the Today screen: signed in, service worker installed, network off; the time
  from ``page.reload()`` to Today's heading being visible. Goal <= 1 s (median of 7).
- Phone-side downscale of a 4032x3024 camera JPEG (long edge <= 1600 px, JPEG 0.8): the size of
  the result, and how long it took. Goal <= 400 KB.

Usage: python bench/bench_pwa.py [--reloads N]
"""

import argparse
import asyncio
import base64
import io
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import _harness
from PIL import Image, ImageDraw, ImageFilter

from backend.pwa import ON_DEMAND_FILES

PASSWORD = _harness.PASSWORD
CHROMIUM = os.environ.get("DOORSTEP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = _harness.CHROMIUM_ARGS
STORE_AT = _harness.STORE_AT
GOAL_SHELL_KB = 100
GOAL_RELOAD_S = 1.0
GOAL_PHOTO_KB = 400


async def seed(url: str, data_dir: Path) -> None:
    await _harness.seed_org(_harness.bench_settings(url, data_dir))


def camera_jpeg() -> bytes:
    """A 4032x3024 JPEG with a camera photo's texture (gradients, edges and sensor noise), so it
    compresses like one (several MB), not like a flat test card."""
    width, height = 4032, 3024
    noise = Image.effect_noise((width // 2, height // 2), 48).resize((width, height))
    image = Image.merge(
        "RGB", (noise, noise.rotate(180), noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    )
    draw = ImageDraw.Draw(image)
    for i in range(60):
        x, y = (i * 397) % width, (i * 211) % height
        draw.rectangle([x, y, x + 500, y + 300], outline=(250, 250, 250), width=12)
        draw.ellipse(
            [y % width, x % height, y % width + 400, x % height + 400], fill=(i * 4, 90, 160)
        )
    image = image.filter(ImageFilter.GaussianBlur(0.6))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


async def measure(base_url: str, reloads: int) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    figures: dict[str, Any] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            locale="en-US",
            geolocation={"latitude": STORE_AT[0], "longitude": STORE_AT[1], "accuracy": 10},
            permissions=["geolocation"],
            base_url=base_url,
        )
        transfers: list[tuple[str, int]] = []

        async def finished(request: Any) -> None:
            sizes = await request.sizes()
            on_wire = sizes["responseBodySize"] + sizes["responseHeadersSize"]
            transfers.append((request.url.removeprefix(base_url), on_wire))

        context.on("requestfinished", lambda request: asyncio.ensure_future(finished(request)))
        page = await context.new_page()
        await page.goto("/")
        await page.wait_for_selector("#username")
        await page.wait_for_function("navigator.serviceWorker.controller !== null")
        await page.wait_for_timeout(500)
        # The scan screen's decoder (/vendor/...) and the managers' on-demand screens are not
        # part of the first load: the worker caches them once the app is up (bench_scan.py
        # counts the decoder).
        later = {f"/{name}" for name in ON_DEMAND_FILES}
        shell = [
            (u, s)
            for u, s in transfers
            if not u.startswith(("/api/", "/vendor/")) and u.split("?")[0] not in later
        ]
        figures["shell_requests"] = len(shell)
        figures["shell_bytes"] = sum(size for _, size in shell)
        figures["shell_largest"] = sorted(shell, key=lambda item: -item[1])[:3]

        await page.fill("#username", "bench-rep")
        await page.fill("#password", PASSWORD)
        await page.click("form button[type=submit]")
        await page.wait_for_selector("h1:has-text('Today')")
        # Polled with evaluate, which awaits the page's promise (wait_for_function would not).
        today_cached = """() => new Promise((resolve) => {
            const open = indexedDB.open('doorstep');
            open.onsuccess = () => {
                const get = open.result.transaction('kv').objectStore('kv').get('today');
                get.onsuccess = () => { resolve(Boolean(get.result)); open.result.close(); };
                get.onerror = () => resolve(false);
            };
            open.onerror = () => resolve(false);
        })"""
        while not await page.evaluate(today_cached):
            await page.wait_for_timeout(100)
        await context.set_offline(True)
        timings = []
        for _ in range(reloads):
            started = time.perf_counter()
            await page.reload()
            await page.wait_for_selector("h1:has-text('Today')")
            await page.wait_for_selector("#h-actions")
            timings.append(time.perf_counter() - started)
        figures["reload_median_s"] = statistics.median(timings)
        figures["reload_max_s"] = max(timings)
        await context.set_offline(False)

        original = camera_jpeg()
        result = await page.evaluate(
            """async (b64) => {
                const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                const file = new File([bytes], 'camera.jpg', { type: 'image/jpeg' });
                const { downscale } = await import('/app/photos.js');
                const started = performance.now();
                const shot = await downscale(file);
                return { bytes: shot.bytes, width: shot.width, height: shot.height,
                         thumb: shot.thumb.size, ms: performance.now() - started };
            }""",
            base64.b64encode(original).decode(),
        )
        figures["photo_original_bytes"] = len(original)
        figures["photo"] = result
        await browser.close()
    return figures


def verdict(met: bool) -> str:
    return "ok" if met else "MISSED"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reloads", type=int, default=7)
    args = parser.parse_args(argv)
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        print(f"bench_pwa: Chromium not found at {CHROMIUM}; apt-get install -y chromium")
        return 1
    with _harness.migrated_postgres("doorstep-bench-pwa-") as (url, tmp):
        asyncio.run(seed(url, tmp / "data"))
        env = _harness.app_env(url, tmp / "data", public_base_url=None)
        log = tmp / "server.log"
        with _harness.uvicorn_server("backend.main:create_app", env, log) as server:
            figures = asyncio.run(measure(f"http://127.0.0.1:{server.port}", args.reloads))

    shell_kb = figures["shell_bytes"] / 1024
    photo = figures["photo"]
    photo_kb = photo["bytes"] / 1024
    print(
        f"app shell, first load: {shell_kb:.1f} KB on the wire in {figures['shell_requests']} "
        f"requests (page + service-worker precache, gzip)  goal <= {GOAL_SHELL_KB} KB  "
        f"{'ok' if shell_kb <= GOAL_SHELL_KB else 'MISSED'}"
    )
    largest = ", ".join(f"{url} {size / 1024:.1f} KB" for url, size in figures["shell_largest"])
    print(f"  largest: {largest}")
    print(
        f"offline reload -> Today: median {figures['reload_median_s'] * 1000:.0f} ms, "
        f"max {figures['reload_max_s'] * 1000:.0f} ms over {args.reloads}  goal <= "
        f"{GOAL_RELOAD_S * 1000:.0f} ms  {verdict(figures['reload_median_s'] <= GOAL_RELOAD_S)}"
    )
    print(
        f"camera photo 4032x3024 ({figures['photo_original_bytes'] / 1024:.0f} KB) -> "
        f"{photo['width']}x{photo['height']} JPEG 0.8: {photo_kb:.0f} KB in {photo['ms']:.0f} ms "
        f"(thumbnail {photo['thumb'] / 1024:.0f} KB)  goal <= {GOAL_PHOTO_KB} KB  "
        f"{'ok' if photo_kb <= GOAL_PHOTO_KB else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
