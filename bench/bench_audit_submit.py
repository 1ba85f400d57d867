"""An audit tour's submit: 12 checklist items, 3 item photos, 3 failed items raising rectifications.

Starts an embedded PostgreSQL in a temporary directory and migrates it. Seeded through the
services: an organization (which comes with the ``standard`` template: 12 items in 4 sections),
a supervisor who leads a team, a rep in it, and one store of that team per sample, a few metres
apart (so that starting one audit after another is neither impossible travel nor a repeat of the
same store on the same day). Then the real app runs under uvicorn (1 worker, local storage) and,
before anything is timed, the rep checks in at every store and abandons the visit, so each store
has a visit in the last 30 days: the default assignee of its failed items.

Each sample is one whole audit tour by the supervisor, one request at a time over a keep-alive
connection, as the phone sends it:

1. ``POST /api/v1/audits``: start at the store's door code;
2. ``PUT /api/v1/audits/{id}/results``: all 12 items, 3 failing (``price_tags``, a check with a
   photo on fail; ``promo_price_applied``, a check; ``days_of_stock``, a number below its
   minimum), the scale item at 4 of 5;
3. three ``PUT .../items/{key}/photo`` (``storefront_sign`` and ``display_score`` require one,
   ``price_tags`` failed), each a different 1600 x 1200 camera-like JPEG (the size the phone
   sends after its downscale; the mean size is printed): decoded, re-encoded with the
   watermark, thumbnailed, hashed and looked up for duplicates across the org's photos;
4. ``POST /api/v1/audits/{id}/submit`` naming the assignee and due time of one failed item (the
   other two take the defaults: the rep of the store's latest visit, due in 7 days): scored, the
   audit locked, 3 rectifications raised with their history, events and notifications.

Every answer is checked (201 / 200, 78.3 % amber, not passed, 3 rectifications assigned to the
rep). Figures: the time of each request on loopback (the server's time plus well under a
millisecond of local transfer; the app sets no ``Server-Timing`` header), median and p95, for
the submit and for the whole tour (results, photos, submit); and the server process's CPU per
submit (from /proc). The first samples warm up caches and the JPEG codec and are left out.

Usage: python bench/bench_audit_submit.py [--samples N] [--warmup N]
"""

import argparse
import asyncio
import functools
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import _harness
import httpx
from bench_photo_upload import camera_jpeg

from backend.auth.principal import Principal
from backend.auth.tokens import issue_access_token
from backend.config import Settings
from backend.db import create_engine, create_sessionmaker, session_scope
from backend.models.user import Role
from backend.orgs import service as org_service
from backend.stores import qr
from backend.stores import service as store_service
from backend.stores.schemas import StoreCreate
from backend.teams import service as team_service
from backend.teams.schemas import TeamCreate
from backend.users import service as user_service
from backend.users.schemas import UserCreate

PASSWORD = _harness.PASSWORD
CENTRE = (30.2741, 120.1551)
# About 5.5 m between neighbouring stores: a tour of 200 stays within 1.1 km.
STEP_DEG = 0.00005

# The standard checklist's 12 items: what each sample answers.
RESULTS: dict[str, dict[str, Any]] = {
    "storefront_sign": {"result": "pass"},
    "store_clean": {"result": "pass"},
    "lighting_ok": {"result": "pass"},
    "hero_in_golden_zone": {"result": "pass"},
    "facings": {"value": 6},
    "display_score": {"value": 4},
    "price_tags": {"result": "fail", "note": "3 个价签与系统价格不符"},
    "posm_in_place": {"result": "pass"},
    "promo_price_applied": {"result": "fail", "note": "促销价未在收银系统生效"},
    "no_expired_products": {"result": "pass"},
    "key_skus_in_stock": {"result": "pass"},
    "days_of_stock": {"value": 3, "note": "库存只够 3 天"},
}
PHOTO_ITEMS = ("storefront_sign", "display_score", "price_tags")
FAILED = ("price_tags", "promo_price_applied", "days_of_stock")
# earned 14.1 of 18 (price_tags 1.5, promo 1, days_of_stock 1 lost; display 4/5 of 2).
EXPECTED_PERCENT = 78.3


@dataclass(frozen=True)
class Seeded:
    supervisor: Principal
    rep: Principal
    qr_urls: list[str]
    stores: list[tuple[float, float]]


async def _seed(settings: Settings, stores: int) -> Seeded:
    assert settings.database_url
    engine = create_engine(settings.database_url, settings)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            org, admin = await org_service.create_org(session, "Bench", "bench-admin", PASSWORD)
            supervisor = await user_service.create_user(
                session,
                org.id,
                UserCreate(
                    username="bench-sup",
                    display_name="王主管",
                    role=Role.supervisor,
                    password=PASSWORD,
                ),
                admin.id,
            )
            rep = await user_service.create_user(
                session,
                org.id,
                UserCreate(
                    username="bench-rep", display_name="李明", role=Role.rep, password=PASSWORD
                ),
                admin.id,
            )
            team = await team_service.create_team(
                session,
                Principal(admin.id, org.id, Role.admin),
                TeamCreate(name="杭州一组", supervisor_id=supervisor.id, member_ids=[rep.id]),
            )
            urls: list[str] = []
            places: list[tuple[float, float]] = []
            for i in range(stores):
                lat, lng = CENTRE[0] + i * STEP_DEG, CENTRE[1]
                store = await store_service.create_store(
                    session,
                    settings,
                    org.id,
                    StoreCreate(
                        code=f"HZ-{i:04d}",
                        name=f"益丰大药房（文三路 {i + 1} 号店）",
                        address=f"浙江省杭州市西湖区文三路 {i + 1} 号",
                        lat=lat,
                        lng=lng,
                        customer_type="pharmacy",
                        team_id=team.id,
                    ),
                    admin.id,
                )
                urls.append(qr.qr_url_for(settings, org, store))
                places.append((lat, lng))
            return Seeded(
                Principal(supervisor.id, org.id, Role.supervisor),
                Principal(rep.id, org.id, Role.rep),
                urls,
                places,
            )
    finally:
        await engine.dispose()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _door_body(qr_url: str, place: tuple[float, float]) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": str(uuid.uuid4()),
        "qr": qr_url,
        "position": {
            "lat": place[0],
            "lng": place[1],
            "accuracy_m": 12,
            "captured_at": _iso(now - timedelta(seconds=2)),
        },
        "device_time": _iso(now),
        "queued_offline": False,
    }


def _expect(response: httpx.Response, status: int, what: str) -> dict[str, Any]:
    if response.status_code != status:
        raise RuntimeError(f"{what}: {response.status_code} {response.text[:400]}")
    body: dict[str, Any] = response.json()
    return body


def _visit_every_store(client: httpx.Client, seeded: Seeded, headers: dict[str, str]) -> None:
    """The rep checks in at each store and abandons the visit: each store's latest visitor."""
    for qr_url, place in zip(seeded.qr_urls, seeded.stores, strict=True):
        visit = _expect(
            client.post("/api/v1/visits", json=_door_body(qr_url, place), headers=headers),
            201,
            "rep check-in",
        )
        _expect(
            client.post(
                f"/api/v1/visits/{visit['id']}/abandon",
                json={"reason": "bench: seeding the store's latest visit"},
                headers=headers,
            ),
            200,
            "rep abandon",
        )


@dataclass
class Sample:
    start_ms: float
    results_ms: float
    photo_ms: list[float]
    submit_ms: float
    submit_cpu_s: float | None

    @property
    def tour_ms(self) -> float:
        """Results, photos and submit: the tour after the door."""
        return self.results_ms + sum(self.photo_ms) + self.submit_ms


def _timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = call()
    return response, (time.perf_counter() - started) * 1000


def _tour(
    client: httpx.Client,
    server: _harness.Server,
    seeded: Seeded,
    headers: dict[str, str],
    index: int,
    photos: list[bytes],
) -> Sample:
    body = _door_body(seeded.qr_urls[index], seeded.stores[index])
    response, start_ms = _timed(lambda: client.post("/api/v1/audits", json=body, headers=headers))
    audit = _expect(response, 201, "start")
    path = f"/api/v1/audits/{audit['id']}"
    keys = [item["key"] for item in audit["template"]["items"]]
    if sorted(keys) != sorted(RESULTS):
        raise RuntimeError(f"the standard checklist changed: {keys}")

    response, results_ms = _timed(
        lambda: client.put(f"{path}/results", json={"results": RESULTS}, headers=headers)
    )
    _expect(response, 200, "results")
    photo_ms: list[float] = []
    for key, data in zip(PHOTO_ITEMS, photos, strict=True):
        upload = functools.partial(
            client.put,
            f"{path}/items/{key}/photo",
            files={"file": (f"{key}.jpg", data, "image/jpeg")},
            headers=headers,
        )
        response, took = _timed(upload)
        _expect(response, 201, f"photo {key}")
        photo_ms.append(took)

    due = datetime.now(UTC) + timedelta(days=5)
    submit_body = {
        "rectifications": [
            {
                "item_key": "promo_price_applied",
                "assignee_id": str(seeded.rep.user_id),
                "due_at": _iso(due),
                "note": "请门店联系区域经理确认促销价",
            }
        ]
    }
    cpu_before = server.cpu_seconds()
    response, submit_ms = _timed(
        lambda: client.post(f"{path}/submit", json=submit_body, headers=headers)
    )
    cpu_after = server.cpu_seconds()
    submitted = _expect(response, 200, "submit")
    _check_submitted(submitted, seeded)
    cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
    return Sample(start_ms, results_ms, photo_ms, submit_ms, cpu)


def _check_submitted(audit: dict[str, Any], seeded: Seeded) -> None:
    score = audit["score"]
    rectifications = audit["rectifications"]
    problems = []
    if audit["status"] != "submitted":
        problems.append(f"status {audit['status']}")
    if score["percent"] != EXPECTED_PERCENT or score["band"] != "amber" or audit["passed"]:
        problems.append(f"score {score}, passed {audit['passed']}")
    if sorted(r["item_key"] for r in rectifications) != sorted(FAILED):
        problems.append(f"rectifications {[r['item_key'] for r in rectifications]}")
    if any(r["assignee"]["id"] != str(seeded.rep.user_id) for r in rectifications):
        problems.append("a rectification is not assigned to the rep")
    if problems:
        raise RuntimeError("unexpected submit answer: " + "; ".join(problems))


def _summary(times: list[float]) -> str:
    return (
        f"median {statistics.median(times):7.1f} ms   p95 {_harness.percentile(times, 95):7.1f} ms"
        f"   max {max(times):7.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--samples", type=int, default=30, help="timed audit tours")
    parser.add_argument("--warmup", type=int, default=3, help="tours before the timed ones")
    args = parser.parse_args()
    total = args.warmup + args.samples
    started = time.perf_counter()
    photos = [camera_jpeg(seed) for seed in range(total * len(PHOTO_ITEMS))]
    photo_kb = statistics.mean(len(p) for p in photos) / 1024
    print(f"drew {len(photos)} camera JPEGs in {time.perf_counter() - started:.1f} s")

    samples: list[Sample] = []
    with _harness.migrated_postgres("doorstep-bench-audit-") as (url, tmp):
        settings = _harness.bench_settings(url, tmp / "data")
        started = time.perf_counter()
        seeded = asyncio.run(_seed(settings, total))
        print(
            f"seeded 1 org (standard template), a supervisor, a rep and {total} stores "
            f"in {time.perf_counter() - started:.1f} s"
        )
        env = _harness.app_env(url, tmp / "data")
        with _harness.uvicorn_server("backend.main:create_app", env, tmp / "app.log") as server:
            now = datetime.now(UTC)
            supervisor = {
                "Authorization": "Bearer "
                + issue_access_token(settings.secret, seeded.supervisor, now, 3600)
            }
            rep = {
                "Authorization": "Bearer "
                + issue_access_token(settings.secret, seeded.rep, now, 3600)
            }
            base = f"http://127.0.0.1:{server.port}"
            with httpx.Client(base_url=base, timeout=60) as client:
                _visit_every_store(client, seeded, rep)
                for i in range(total):
                    per_photo = len(PHOTO_ITEMS)
                    sample = _tour(
                        client,
                        server,
                        seeded,
                        supervisor,
                        i,
                        photos[i * per_photo : (i + 1) * per_photo],
                    )
                    if i >= args.warmup:
                        samples.append(sample)

    print(
        f"{len(samples)} audit tours after {args.warmup} warm-up, one request at a time, real "
        f"server (uvicorn, 1 worker) on loopback, local storage; 12 items, 3 photos "
        f"(1600x1200 JPEG, mean {photo_kb:.0f} KB), 3 failed items -> 3 rectifications"
    )
    print(f"  submit (score + 3 rectifications)    {_summary([s.submit_ms for s in samples])}")
    print(f"  whole tour (results, photos, submit) {_summary([s.tour_ms for s in samples])}")
    print(f"    start at the door                  {_summary([s.start_ms for s in samples])}")
    print(f"    results PUT (12 items)             {_summary([s.results_ms for s in samples])}")
    every_photo = [ms for s in samples for ms in s.photo_ms]
    print(f"    one item photo PUT                 {_summary(every_photo)}")
    cpu = [s.submit_cpu_s for s in samples if s.submit_cpu_s is not None]
    if cpu:
        print(f"  server process CPU per submit: {sum(cpu) * 1000 / len(cpu):.1f} ms (mean)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
