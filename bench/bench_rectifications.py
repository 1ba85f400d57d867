"""A rep's rectification list (``GET /api/v1/rectifications?assignee=me``) with 500 open items.

Starts an embedded PostgreSQL in a temporary directory and migrates it. Everything is written by
the real services, at simulated times (services take ``now``), so the rows are exactly what the
app writes: an organization (with the ``standard`` template, 12 items), a supervisor who leads a
team, the rep under test and a second rep, one store per audit. Each audit is a whole tour
through the audits service: started at the store's door code (the door check), results that fail
up to all 12 items, an item photo for every item whose photo is required or asked for on fail
(a different small JPEG each: decoded, re-encoded, watermarked, hashed, looked up for
duplicates), submitted with the failed items assigned to the rep: each becomes an open
rectification with its before photo, its first history step, a ``rectification.created`` event
and a notification. The audits are spread over the last days, one every 90 minutes, so due times
(2 days for a critical item, 7 for the others) spread too and some of the critical ones are
already overdue (still open). A few more audits assign their items to the other rep, whom the
list must filter out. ``VACUUM ANALYZE`` follows.

Then the real app runs under uvicorn (1 worker) and each scenario sends ``--samples`` requests
after a warm-up, one at a time over a keep-alive connection, as the rep: the first page
(default ``limit``, 50), ``limit=200``, and a page further down (the cursor after three default
pages). Before timing, every page is walked with ``limit=200`` and checked: 500 items, all the
rep's, all open, soonest due first. Figures: median, p95, p99 of the time on loopback; goal
p95 <= 50 ms (PASS / MISS per scenario); the server process's CPU per request.

Usage: python bench/bench_rectifications.py [--open N] [--samples N] [--noise-audits N]
"""

import argparse
import asyncio
import io
import random
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import _harness
import httpx
from PIL import Image, ImageDraw
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audits import service as audit_service
from backend.audits.checklist import Checklist, ChecklistItem
from backend.audits.schemas import AuditStartRequest, RectificationChoice, SubmitRequest
from backend.auth.principal import Principal
from backend.auth.tokens import issue_access_token
from backend.config import Settings
from backend.db import create_engine, create_sessionmaker, session_scope
from backend.kit.storage import Storage, build_storage
from backend.models import Organization, Store
from backend.models.user import Role
from backend.orgs import service as org_service
from backend.stores import qr
from backend.stores import service as store_service
from backend.stores.schemas import StoreCreate
from backend.teams import service as team_service
from backend.teams.schemas import TeamCreate
from backend.users import service as user_service
from backend.users.schemas import UserCreate
from backend.visits.schemas import Position

GOAL_MS = 50.0
PASSWORD = _harness.PASSWORD
CENTRE = (30.2741, 120.1551)
STEP_DEG = 0.00005  # about 5.5 m between neighbouring stores
AUDIT_EVERY = timedelta(minutes=90)
PATH = "/api/v1/rectifications?assignee=me"


@dataclass(frozen=True)
class Seeded:
    org_id: uuid.UUID
    rep: Principal
    open_items: int
    audits: int
    other_items: int


def _photo(seed: int) -> bytes:
    """A small JPEG unlike any other seed's (so no photo is flagged as a duplicate)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (480, 360), (rng.randrange(256), rng.randrange(256), 120))
    draw = ImageDraw.Draw(image)
    for _ in range(24):
        x, y = rng.randrange(440), rng.randrange(320)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.rectangle((x, y, x + rng.randint(20, 160), y + rng.randint(20, 120)), fill=colour)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _failing(item: ChecklistItem) -> dict[str, Any]:
    if item.kind == "check":
        return {"result": "fail", "note": "巡店发现问题"}
    if item.kind == "scale":
        return {"value": 0}
    if item.min is not None:
        return {"value": item.min - 1}
    assert item.max is not None
    return {"value": item.max + 1}


def _passing(item: ChecklistItem) -> dict[str, Any]:
    if item.kind == "check":
        return {"result": "pass"}
    if item.kind == "scale":
        return {"value": item.scale_max}
    return {"value": item.min if item.min is not None else item.max}


def _needs_photo(item: ChecklistItem, failed: bool) -> bool:
    return item.photo == "required" or (item.photo == "on_fail" and failed)


@dataclass
class _People:
    org: Organization
    supervisor: Principal
    rep: Principal
    other_rep: Principal
    stores: list[Store]


async def _people(session: AsyncSession, settings: Settings, stores: int) -> _People:
    org, admin = await org_service.create_org(session, "Bench", "bench-admin", PASSWORD)
    made: dict[str, uuid.UUID] = {}
    for username, name, role in (
        ("bench-sup", "王主管", Role.supervisor),
        ("bench-rep", "李明", Role.rep),
        ("bench-rep2", "张伟", Role.rep),
    ):
        user = await user_service.create_user(
            session,
            org.id,
            UserCreate(username=username, display_name=name, role=role, password=PASSWORD),
            admin.id,
        )
        made[username] = user.id
    team = await team_service.create_team(
        session,
        Principal(admin.id, org.id, Role.admin),
        TeamCreate(
            name="杭州一组",
            supervisor_id=made["bench-sup"],
            member_ids=[made["bench-rep"], made["bench-rep2"]],
        ),
    )
    shops = [
        await store_service.create_store(
            session,
            settings,
            org.id,
            StoreCreate(
                code=f"HZ-{i:04d}",
                name=f"益丰大药房（文三路 {i + 1} 号店）",
                address=f"浙江省杭州市西湖区文三路 {i + 1} 号",
                lat=CENTRE[0] + i * STEP_DEG,
                lng=CENTRE[1],
                customer_type="pharmacy",
                team_id=team.id,
            ),
            admin.id,
        )
        for i in range(stores)
    ]
    return _People(
        org,
        Principal(made["bench-sup"], org.id, Role.supervisor),
        Principal(made["bench-rep"], org.id, Role.rep),
        Principal(made["bench-rep2"], org.id, Role.rep),
        shops,
    )


async def _audit(
    session: AsyncSession,
    settings: Settings,
    storage: Storage,
    people: _People,
    checklist: Checklist,
    store: Store,
    at: datetime,
    fail: int,
    assignee: Principal,
    photo_seed: int,
) -> int:
    """One whole audit tour at ``at`` failing the first ``fail`` items, each assigned to
    ``assignee``; the number of photos taken."""
    supervisor = people.supervisor
    start = AuditStartRequest(
        id=uuid.uuid4(),
        qr=qr.qr_url_for(settings, people.org, store),
        position=Position(
            lat=store.lat, lng=store.lng, accuracy_m=12, captured_at=at - timedelta(seconds=2)
        ),
        device_time=at,
        queued_offline=False,
    )
    started = await audit_service.start(session, settings, supervisor, start, at)
    audit_id = started.view.audit.id
    failed = {item.key for item in checklist.items[:fail]}
    results: Mapping[str, Any] = {
        item.key: _failing(item) if item.key in failed else _passing(item)
        for item in checklist.items
    }
    await audit_service.save_results(
        session, supervisor, audit_id, dict(results), at + timedelta(minutes=5)
    )
    photos = 0
    for item in checklist.items:
        if _needs_photo(item, item.key in failed):
            await audit_service.put_item_photo(
                session,
                settings,
                storage,
                supervisor,
                audit_id,
                item.key,
                _photo(photo_seed + photos),
                at + timedelta(minutes=6 + photos),
            )
            photos += 1
    choices = [
        RectificationChoice(item_key=key, assignee_id=assignee.user_id) for key in sorted(failed)
    ]
    submitted = await audit_service.submit(
        session,
        supervisor,
        audit_id,
        SubmitRequest(rectifications=choices),
        at + timedelta(minutes=20),
    )
    if len(submitted.rectifications) != fail:
        raise RuntimeError(f"expected {fail} rectifications, got {len(submitted.rectifications)}")
    return photos


async def _seed(settings: Settings, open_items: int, noise_audits: int) -> Seeded:
    assert settings.database_url
    engine = create_engine(settings.database_url, settings)
    sessionmaker = create_sessionmaker(engine)
    storage = build_storage(settings)
    await storage.start()
    try:
        async with session_scope(sessionmaker) as session:
            checklist_size = 12  # the standard checklist; checked below
            rep_audits = -(-open_items // checklist_size)
            people = await _people(session, settings, rep_audits + noise_audits)
            checklist = await audit_service.checklist_of(session, people.org.id, "standard", None)
        if len(checklist.items) != checklist_size:
            raise RuntimeError(f"the standard checklist has {len(checklist.items)} items")
        plan: list[tuple[int, Principal]] = []
        left = open_items
        for _ in range(rep_audits):
            plan.append((min(checklist_size, left), people.rep))
            left -= plan[-1][0]
        plan += [(checklist_size, people.other_rep)] * noise_audits
        random.Random(7).shuffle(plan)
        # Oldest first, the last one 30 minutes ago: services run in time order, as in life.
        first = datetime.now(UTC) - AUDIT_EVERY * len(plan) - timedelta(minutes=30)
        photo_seed = 0
        for index, (fail, assignee) in enumerate(plan):
            async with session_scope(sessionmaker) as session:
                photo_seed += await _audit(
                    session,
                    settings,
                    storage,
                    people,
                    checklist,
                    people.stores[index],
                    first + AUDIT_EVERY * index,
                    fail,
                    assignee,
                    photo_seed,
                )
        await _harness.vacuum_and_checkpoint(engine)
        return Seeded(
            people.org.id,
            people.rep,
            open_items,
            len(plan),
            noise_audits * checklist_size,
        )
    finally:
        await storage.close()
        await engine.dispose()


def _walk(client: httpx.Client, headers: dict[str, str], seeded: Seeded) -> str | None:
    """Every page with limit=200, checked; returns the cursor after three default pages (None
    when there are not that many)."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = f"{PATH}&limit=200" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(query, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"list: {response.status_code} {response.text[:300]}")
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    problems = []
    if len(items) != seeded.open_items:
        problems.append(f"{len(items)} items, expected {seeded.open_items}")
    if any(i["assignee"]["id"] != str(seeded.rep.user_id) for i in items):
        problems.append("an item of another assignee")
    if any(i["status"] != "open" for i in items):
        problems.append("an item that is not open")
    dues = [i["due_at"] for i in items]
    if dues != sorted(dues):
        problems.append("not sorted by due time")
    if problems:
        raise RuntimeError("unexpected list: " + "; ".join(problems))
    for page_number in range(3):
        query = PATH + (f"&cursor={cursor}" if page_number else "")
        cursor = client.get(query, headers=headers).json()["next_cursor"]
        if cursor is None:
            return None
    return cursor


@dataclass
class Outcome:
    name: str
    result: _harness.LoadResult
    items: int
    size: int
    cpu_ms: float | None


def _measure(
    server: _harness.Server,
    name: str,
    path: str,
    headers: dict[str, str],
    samples: int,
    warmup: int,
) -> Outcome:
    first = httpx.get(f"http://127.0.0.1:{server.port}{path}", headers=headers)
    requests = [_harness.http_request("GET", path, headers=headers)] * (warmup + samples)
    cpu_before = server.cpu_seconds()
    result = _harness.run_async(_harness.http_load(server.port, requests, 1))
    cpu_after = server.cpu_seconds()
    if result.failures:
        raise RuntimeError(f"{name}: {result.failures}")
    result.latencies_ms = result.latencies_ms[warmup:]
    cpu_ms = (
        (cpu_after - cpu_before) * 1000 / len(requests)
        if cpu_before is not None and cpu_after is not None
        else None
    )
    return Outcome(name, result, len(first.json()["items"]), len(first.content), cpu_ms)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--open", type=int, default=500, help="open rectifications of the rep")
    parser.add_argument("--samples", type=int, default=200, help="timed requests per scenario")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--noise-audits", type=int, default=5, help="audits whose items go to another rep"
    )
    args = parser.parse_args()

    outcomes: list[Outcome] = []
    with _harness.migrated_postgres("doorstep-bench-rect-") as (url, tmp):
        settings = _harness.bench_settings(url, tmp / "data")
        started = time.perf_counter()
        seeded = asyncio.run(_seed(settings, args.open, args.noise_audits))
        print(
            f"seeded {seeded.audits} audits at {seeded.audits} stores through the services: "
            f"{seeded.open_items} open rectifications for the rep, {seeded.other_items} for "
            f"another rep, in {time.perf_counter() - started:.1f} s"
        )
        env = _harness.app_env(url, tmp / "data")
        with _harness.uvicorn_server("backend.main:create_app", env, tmp / "app.log") as server:
            token = issue_access_token(settings.secret, seeded.rep, datetime.now(UTC), 3600)
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as client:
                cursor = _walk(client, headers, seeded)
            scenarios = [
                ("assignee=me (limit 50)", PATH),
                ("assignee=me&limit=200", f"{PATH}&limit=200"),
            ]
            if cursor is not None:
                scenarios.append(("assignee=me, 4th page of 50", f"{PATH}&cursor={cursor}"))
            for name, path in scenarios:
                outcomes.append(_measure(server, name, path, headers, args.samples, args.warmup))

    print(
        f"GET {PATH} as the rep through uvicorn (1 worker), {args.samples} requests per "
        f"scenario after {args.warmup} warm-up, one at a time; goal p95 <= {GOAL_MS:.0f} ms"
    )
    for outcome in outcomes:
        p95 = _harness.percentile(outcome.result.latencies_ms, 95)
        verdict = "PASS" if p95 <= GOAL_MS else "MISS"
        timings = _harness.timing_summary(outcome.result.latencies_ms)
        print(f"  {outcome.name:<30} {timings}  {verdict}")
        cpu = f"{outcome.cpu_ms:.1f} ms" if outcome.cpu_ms is not None else "n/a"
        print(
            f"    {outcome.items} items, {outcome.size / 1024:.0f} KiB per response; "
            f"server CPU per request {cpu}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
