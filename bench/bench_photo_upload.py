"""Server time to accept a 1600 px camera JPEG: ``PUT /api/v1/visits/{id}/photos/{kind}``.

A real server (uvicorn, one worker, local storage, embedded PostgreSQL) receives photos one at a
time, as a rep's phone sends them after its own downscale (1600 x 1200, about 400 KB). Every
upload is a different image, so each one is fully accepted: decoded, checked, re-encoded with the
watermark, thumbnailed, hashed, looked up for duplicates, written to storage and recorded. The
figure is the time from the request to the response as seen on loopback, which is the server's
time plus a negligible local transfer. Goal: median <= 25 ms.

Usage: python bench/bench_photo_upload.py [--uploads N]
"""

import argparse
import io
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import _harness
import httpx
from PIL import Image, ImageDraw, ImageFilter

from backend.config import Settings
from backend.stores import qr

GOAL_MEDIAN_MS = 25.0
PASSWORD = _harness.PASSWORD
STORE_AT = _harness.STORE_AT
KINDS = ("storefront", "shelf", "conversation")


def camera_jpeg(seed: int) -> bytes:
    """A photo-like 1600 x 1200 JPEG (shapes, gradients, grain), different for every seed."""
    image = Image.new("RGB", (1600, 1200), (200 - seed % 50, 180, 150 + seed % 80))
    draw = ImageDraw.Draw(image)
    for i in range(40):
        x, y = (seed * 37 + i * 211) % 1500, (seed * 53 + i * 97) % 1100
        colour = ((seed * 13 + i * 31) % 256, (i * 67) % 256, (seed + i * 19) % 256)
        draw.rectangle((x, y, x + 80 + i * 3, y + 60 + i * 2), fill=colour)
    noise = Image.effect_noise((1600, 1200), 24).convert("RGB")
    image = Image.blend(image, noise, 0.15).filter(ImageFilter.SMOOTH)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


async def seed(settings: Settings) -> tuple[str, str, str]:
    store = _harness.bench_store(name="益丰大药房（文三路店）", address="杭州市西湖区文三路 100 号")
    org, made = await _harness.seed_org(settings, store, rep_display_name="李明")
    return qr.qr_url_for(settings, org, made), "bench-rep", PASSWORD


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--uploads", type=int, default=120)
    args = parser.parse_args()
    photos = [camera_jpeg(i) for i in range(args.uploads + 10)]
    sizes = [len(p) for p in photos]
    with _harness.migrated_postgres("doorstep-bench-photo-") as (url, tmp):
        settings = _harness.bench_settings(url, tmp / "data")
        qr_url, username, password = _harness.run_async(seed(settings))
        env = _harness.app_env(url, tmp / "data")
        with _harness.uvicorn_server("backend.main:create_app", env, tmp / "app.log") as server:
            base = f"http://127.0.0.1:{server.port}"
            with httpx.Client(base_url=base, timeout=30) as client:
                token = client.post(
                    "/api/v1/auth/token",
                    data={"grant_type": "password", "username": username, "password": password},
                ).json()["access_token"]
                auth = {"Authorization": f"Bearer {token}"}
                now = datetime.now(UTC)
                visit = client.post(
                    "/api/v1/visits",
                    json={
                        "id": str(uuid.uuid4()),
                        "qr": qr_url,
                        "position": {
                            "lat": STORE_AT[0],
                            "lng": STORE_AT[1],
                            "accuracy_m": 10,
                            "captured_at": iso(now - timedelta(seconds=2)),
                        },
                        "device_time": iso(now),
                    },
                    headers=auth,
                ).json()
                times: list[float] = []
                cpu_before = server.cpu_seconds()
                for i, photo in enumerate(photos):
                    kind = KINDS[i % len(KINDS)]
                    started = time.perf_counter()
                    response = client.put(
                        f"/api/v1/visits/{visit['id']}/photos/{kind}",
                        files={"file": (f"{kind}.jpg", photo, "image/jpeg")},
                        headers=auth,
                    )
                    elapsed = (time.perf_counter() - started) * 1000
                    if response.status_code != 201:
                        print(f"upload {i}: {response.status_code} {response.text[:200]}")
                        return 1
                    if i >= 10:  # the first ones warm up caches and the JPEG codec
                        times.append(elapsed)
                cpu_after = server.cpu_seconds()
    median = statistics.median(times)
    print(
        f"{len(times)} uploads of a 1600x1200 JPEG (mean {statistics.mean(sizes) / 1024:.0f} KB), "
        "one at a time, real server on loopback, local storage"
    )
    print(
        f"  server time to accept: median {median:.1f} ms   p95 "
        f"{_harness.percentile(times, 95):.1f} ms   max {max(times):.1f} ms"
    )
    if cpu_before is not None and cpu_after is not None:
        per_upload = (cpu_after - cpu_before) * 1000 / len(photos)
        print(f"  server process CPU per upload: {per_upload:.1f} ms")
    verdict = "OK" if median <= GOAL_MEDIAN_MS else "OVER GOAL"
    print(f"  goal median <= {GOAL_MEDIAN_MS:.0f} ms: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
