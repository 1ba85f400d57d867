"""The supervisor review queue (``GET /api/v1/review-queue``) with 100,000 submitted visits.

Starts an embedded PostgreSQL in a temporary directory and migrates it. One org with 10 teams of
10 reps, each team led by its own supervisor, and one store per team. One visit goes through the
real flows (check-in, three photos drawn and processed like the demo's, answers, next action,
submit: so it has a summary card); then, in SQL, it is copied into 100,000 submitted visits
spread evenly over the 100 reps and over the last 60 days (every 10th one flagged: trust 85 with
a ``clock_skew`` flag), each with its three photo rows and its next action. Foreign-key triggers
are skipped while copying (``session_replication_role = replica``); the copies are consistent by
construction. ``VACUUM ANALYZE`` follows.

Then the real app runs under uvicorn (1 worker) and each scenario sends ~300 requests, one at a
time over a keep-alive connection, after a warm-up: the first page (``limit=50``) as a
supervisor (their team: 10,000 waiting visits), with ``flagged=true``, with ``rep_id=`` one of
their reps, a page in the middle of their queue (a cursor), and as the admin (all 100,000),
with ``flagged=true``. Figures: median, p95, p99 in ms; goal p95 <= 50 ms. The main query's
plan (``EXPLAIN ANALYZE``) is summarised for each scenario, printed in full with ``--explain``
or when a scenario misses the goal.

Usage: python bench/bench_review_queue.py [--visits N] [--requests N] [--explain]
"""

import argparse
import asyncio
import random
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import _harness
import httpx
from sqlalchemy import and_, insert, or_, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from backend.actions.schemas import NextActionInput
from backend.auth.principal import Principal
from backend.auth.tokens import issue_access_token
from backend.config import Settings
from backend.db import create_engine, create_sessionmaker, driver_connection, session_scope
from backend.demo import PhotoSpec, demo_answers, draw_photo
from backend.forms import service as form_service
from backend.kit.fonts import cjk_font_path
from backend.kit.pagination import encode_cursor
from backend.kit.storage import build_storage
from backend.models import LoginName, PhotoKind, Store, User, Visit, VisitStatus
from backend.models.user import Role
from backend.orgs import service as org_service
from backend.stores import qr
from backend.stores import service as store_service
from backend.stores.schemas import StoreCreate
from backend.teams import service as team_service
from backend.teams.schemas import TeamCreate
from backend.users import service as user_service
from backend.users.schemas import UserCreate
from backend.visits import check_in as visit_check_in
from backend.visits import completion
from backend.visits import photos as visit_photos
from backend.visits import repository as visit_repository
from backend.visits.schemas import CheckInRequest, Position
from backend.visits.service import VisitView

GOAL_MS = 50.0
PASSWORD = "bench-password-123"
TEAMS = 10
REPS_PER_TEAM = 10
SPREAD_S = 60 * 86_400
CENTRE = (30.2741, 120.1551)
FLAG = (
    '[{"code": "clock_skew", "weight": 15, "detail": {"zh": "手机时间与服务器相差 17 分钟",'
    ' "en": "phone clock off by -17 min"}}]'
)


@dataclass(frozen=True)
class Seeded:
    org_id: uuid.UUID
    admin_id: uuid.UUID
    supervisor_ids: list[uuid.UUID]  # team t's supervisor
    rep_ids: list[uuid.UUID]  # rep r is in team r // REPS_PER_TEAM
    template_visit_id: uuid.UUID


async def _people(
    session: AsyncSession, settings: Settings
) -> tuple[uuid.UUID, uuid.UUID, list[uuid.UUID], list[uuid.UUID], list[Store]]:
    org, admin = await org_service.create_org(session, "Bench org", "bench-admin", PASSWORD)
    first = await user_service.create_user(
        session,
        org.id,
        UserCreate(username="rep000", display_name="代表 0", role=Role.rep, password=PASSWORD),
        actor_id=admin.id,
    )
    # Everyone else shares the first one's argon2 hash (110 hashes would take most of a minute).
    rows: list[dict[str, object]] = []
    rep_ids, supervisor_ids = [first.id], []
    for i in range(1, TEAMS * REPS_PER_TEAM):
        rep_ids.append(uuid.uuid4())
        rows.append(_user_row(org.id, rep_ids[-1], f"rep{i:03d}", f"代表 {i}", Role.rep, first))
    for t in range(TEAMS):
        supervisor_ids.append(uuid.uuid4())
        rows.append(
            _user_row(
                org.id, supervisor_ids[-1], f"sup{t:02d}", f"主管 {t}", Role.supervisor, first
            )
        )
    await session.execute(insert(User).values(rows))
    await session.execute(
        insert(LoginName).values(
            [{"username": r["username"], "org_id": org.id, "user_id": r["id"]} for r in rows]
        )
    )
    principal = Principal(admin.id, org.id, Role.admin)
    stores: list[Store] = []
    for t in range(TEAMS):
        team = await team_service.create_team(
            session,
            principal,
            TeamCreate(
                name=f"第 {t + 1} 组",
                supervisor_id=supervisor_ids[t],
                member_ids=rep_ids[t * REPS_PER_TEAM : (t + 1) * REPS_PER_TEAM],
            ),
        )
        stores.append(
            await store_service.create_store(
                session,
                settings,
                org.id,
                StoreCreate(
                    code=f"S{t:02d}",
                    name=f"益丰大药房（文三路 {t + 1} 号店）",
                    address=f"浙江省杭州市西湖区文三路 {t + 1} 号",
                    lat=CENTRE[0] + t * 0.01,
                    lng=CENTRE[1],
                    customer_type="pharmacy",
                    team_id=team.id,
                ),
                actor_id=admin.id,
            )
        )
    return org.id, admin.id, supervisor_ids, rep_ids, stores


def _user_row(
    org_id: uuid.UUID, user_id: uuid.UUID, username: str, name: str, role: Role, like: User
) -> dict[str, object]:
    return {
        "id": user_id,
        "org_id": org_id,
        "username": username,
        "display_name": name,
        "role": role,
        "password_hash": like.password_hash,
        "locale": "zh-CN",
        "is_active": True,
    }


async def _template_visit(
    session: AsyncSession, settings: Settings, org_id: uuid.UUID, rep_id: uuid.UUID, store: Store
) -> uuid.UUID:
    """One complete visit through the real services: check-in, photos, answers, action, submit."""
    rep = Principal(rep_id, org_id, Role.rep)
    org = await org_service.get_org(session, org_id)
    now = datetime.now(UTC)
    view = await visit_check_in.check_in(
        await driver_connection(session),
        settings,
        rep,
        CheckInRequest(
            id=uuid.uuid4(),
            qr=qr.qr_url_for(settings, org, store),
            position=Position(lat=store.lat, lng=store.lng, accuracy_m=12, captured_at=now),
            device_time=now,
        ),
        now,
    )
    if not isinstance(view, VisitView):
        raise RuntimeError("the seed check-in was taken for a replay")
    visit_id = view.visit.id
    storage = build_storage(settings)
    await storage.start()
    font = cjk_font_path(settings)
    try:
        for seed, kind in enumerate(PhotoKind):
            spec = PhotoSpec(kind, seed, store.name, store.customer_type, now)
            data = draw_photo(spec, font)
            await visit_photos.put_photo(session, settings, storage, rep, visit_id, kind, data, now)
    finally:
        await storage.close()
    form = await form_service.current_form(session, org_id, store.customer_type)
    answers = demo_answers(random.Random(1), store, form, now.date())
    await completion.put_answers(session, rep, visit_id, answers, now)
    await completion.put_next_action(
        session,
        settings,
        rep,
        visit_id,
        NextActionInput(
            id=uuid.uuid4(), type="send_sample", due_at=now + timedelta(days=3), note="送样 3 盒"
        ),
        now,
    )
    await completion.submit(session, settings, rep, visit_id, now)
    return visit_id


async def _columns(connection: AsyncConnection, table: str) -> list[str]:
    return [
        name
        for (name,) in await connection.execute(
            text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = :table "
                "AND is_generated = 'NEVER' ORDER BY ordinal_position"
            ),
            {"table": table},
        )
    ]


def _copy_sql(table: str, columns: list[str], replaced: dict[str, str], source: str) -> str:
    values = ", ".join(replaced.get(c, f"t.{c}") for c in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} FROM {source}"  # noqa: S608


async def _copy(connection: AsyncConnection, seeded: Seeded, stores: list[Store], n: int) -> None:
    reps = "ARRAY[" + ", ".join(f"'{r}'::uuid" for r in seeded.rep_ids) + "]"
    team_stores = "ARRAY[" + ", ".join(f"'{s.id}'::uuid" for s in stores) + "]"
    step = SPREAD_S / n
    at = f"(now() - make_interval(secs => g * {step}))"
    shift = f"({at} - t.submitted_at)"
    visit_columns = await _columns(connection, "visits")
    replaced = {
        "id": "md5('v' || g)::uuid",
        "rep_id": f"({reps})[g % {len(seeded.rep_ids)} + 1]",
        "store_id": f"({team_stores})[(g % {len(seeded.rep_ids)}) / {REPS_PER_TEAM} + 1]",
        "status": "'submitted'",
        "trust_score": "CASE WHEN g % 10 = 0 THEN 85 ELSE 100 END",
        "flags": f"CASE WHEN g % 10 = 0 THEN '{FLAG}'::jsonb ELSE '[]'::jsonb END",
        **{
            c: f"t.{c} + {shift}"
            for c in (
                "checked_in_at",
                "captured_at",
                "device_time",
                "server_received_at",
                "checked_out_at",
                "submitted_at",
                "answers_updated_at",
                "created_at",
                "updated_at",
            )
        },
    }
    source = f"visits t, generate_series(1, {n - 1}) g WHERE t.id = '{seeded.template_visit_id}'"
    await connection.exec_driver_sql(_copy_sql("visits", visit_columns, replaced, source))

    copies = f"visits v JOIN {{table}} t ON t.visit_id = '{seeded.template_visit_id}' "
    copies += f"WHERE v.org_id = '{seeded.org_id}' AND v.id <> '{seeded.template_visit_id}'"
    photo_columns = await _columns(connection, "photos")
    await connection.exec_driver_sql(
        _copy_sql(
            "photos",
            photo_columns,
            {"id": "md5(t.kind || v.id::text)::uuid", "visit_id": "v.id"},
            copies.format(table="photos"),
        )
    )
    action_columns = await _columns(connection, "next_actions")
    await connection.exec_driver_sql(
        _copy_sql(
            "next_actions",
            action_columns,
            {
                "id": "md5('a' || v.id::text)::uuid",
                "visit_id": "v.id",
                "store_id": "v.store_id",
                "assignee_id": "v.rep_id",
                "due_at": "v.checked_in_at + interval '3 days'",
            },
            copies.format(table="next_actions"),
        )
    )


async def _seed(url: str, settings: Settings, n: int) -> Seeded:
    engine = create_engine(url, settings)
    try:
        sessionmaker = create_sessionmaker(engine)
        async with session_scope(sessionmaker) as session:
            org_id, admin_id, supervisor_ids, rep_ids, stores = await _people(session, settings)
        async with session_scope(sessionmaker) as session:
            template = await _template_visit(session, settings, org_id, rep_ids[0], stores[0])
        seeded = Seeded(org_id, admin_id, supervisor_ids, rep_ids, template)
        async with engine.begin() as connection:
            await connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            await connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
            await connection.exec_driver_sql("SET LOCAL work_mem = '256MB'")
            await _copy(connection, seeded, stores, n)
        await _harness.vacuum_and_checkpoint(engine)
        return seeded
    finally:
        await engine.dispose()


# --- scenarios ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    principal: Principal
    paths: list[str]  # cycled through
    flagged: bool | None = None
    rep_id: uuid.UUID | None = None
    cursor: tuple[datetime, uuid.UUID] | None = None


async def _middle_cursor(
    sessionmaker: async_sessionmaker[AsyncSession], principal: Principal
) -> tuple[datetime, uuid.UUID]:
    """The sort key of the visit halfway down the supervisor's queue."""
    async with sessionmaker() as session:
        stmt = visit_repository.visible(principal).where(Visit.status == VisitStatus.submitted)
        count = len((await session.scalars(stmt.with_only_columns(Visit.id))).all())
        row = (
            await session.execute(
                stmt.with_only_columns(Visit.submitted_at, Visit.id)
                .order_by(Visit.submitted_at, Visit.id)
                .offset(count // 2)
                .limit(1)
            )
        ).one()
        assert row[0] is not None
        return row[0], row[1]


def _scenarios(seeded: Seeded, middle: tuple[datetime, uuid.UUID]) -> list[Scenario]:
    base = "/api/v1/review-queue?limit=50"
    supervisor = Principal(seeded.supervisor_ids[0], seeded.org_id, Role.supervisor)
    admin = Principal(seeded.admin_id, seeded.org_id, Role.admin)
    team_reps = seeded.rep_ids[:REPS_PER_TEAM]
    cursor = encode_cursor([middle[0].isoformat(), str(middle[1])])
    return [
        Scenario("supervisor, first page", supervisor, [base]),
        Scenario("supervisor, flagged=true", supervisor, [base + "&flagged=true"], flagged=True),
        Scenario(
            "supervisor, rep_id=<one of theirs>",
            supervisor,
            [f"{base}&rep_id={r}" for r in team_reps],
            rep_id=team_reps[3],
        ),
        Scenario(
            "supervisor, page in the middle",
            supervisor,
            [f"{base}&cursor={cursor}"],
            cursor=middle,
        ),
        Scenario("admin, first page", admin, [base]),
        Scenario("admin, flagged=true", admin, [base + "&flagged=true"], flagged=True),
    ]


def _queue_sql(scenario: Scenario, dialect: Dialect, *, seekable: bool = False) -> str:
    """The queue's main query as ``reviews.review_queue`` builds it, with literal values.

    ``seekable``: with the cursor's ``submitted_at >= ...`` also stated on its own, which the
    index can seek to (the OR of the cursor condition is only a filter): the proposed fix.
    """
    stmt = visit_repository.visible(scenario.principal).where(Visit.status == VisitStatus.submitted)
    if scenario.rep_id is not None:
        stmt = stmt.where(Visit.rep_id == scenario.rep_id)
    if scenario.flagged is not None:
        stmt = stmt.where(Visit.trust_score < 100 if scenario.flagged else Visit.trust_score == 100)
    if scenario.cursor is not None:
        at, visit_id = scenario.cursor
        stmt = stmt.where(
            or_(Visit.submitted_at > at, and_(Visit.submitted_at == at, Visit.id > visit_id))
        )
        if seekable:
            stmt = stmt.where(Visit.submitted_at >= at)
    stmt = stmt.order_by(Visit.submitted_at, Visit.id).limit(51)
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    return str(compiled)


async def _explain(
    url: str, settings: Settings, scenario: Scenario, *, seekable: bool = False
) -> list[str]:
    engine = create_engine(url, settings)
    sql = _queue_sql(scenario, engine.dialect, seekable=seekable)
    try:
        async with engine.connect() as connection:
            rows = await connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            return [str(row[0]) for row in rows]
    finally:
        await engine.dispose()


def _plan_summary(plan: list[str]) -> str:
    nodes = [line.strip().lstrip("-> ").split("  (")[0] for line in plan if "(cost=" in line]
    execution = next((line for line in plan if line.startswith("Execution Time")), "")
    return " > ".join(nodes[:5]) + f"; {execution}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--visits", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--explain", action="store_true", help="print every plan in full")
    args = parser.parse_args()

    results: list[tuple[Scenario, _harness.LoadResult, list[str], list[str]]] = []
    extras: dict[str, tuple[int, int, float | None]] = {}
    with _harness.migrated_postgres("doorstep-bench-queue-") as (url, tmp):
        settings = _harness.bench_settings(url, tmp / "data")
        started = time.perf_counter()
        seeded = asyncio.run(_seed(url, settings, args.visits))
        print(
            f"seeded 1 org, {TEAMS} teams x {REPS_PER_TEAM} reps + {TEAMS} supervisors, "
            f"{args.visits:,} submitted visits (3 photos, a next action and a summary each) "
            f"in {time.perf_counter() - started:.1f} s"
        )

        async def middle() -> tuple[datetime, uuid.UUID]:
            engine = create_engine(url, settings)
            try:
                principal = Principal(seeded.supervisor_ids[0], seeded.org_id, Role.supervisor)
                return await _middle_cursor(create_sessionmaker(engine), principal)
            finally:
                await engine.dispose()

        scenarios = _scenarios(seeded, asyncio.run(middle()))
        env = _harness.app_env(url, tmp / "data")
        with _harness.uvicorn_server("backend.main:create_app", env, tmp / "app.log") as server:
            now = datetime.now(UTC)
            for scenario in scenarios:
                token = issue_access_token(settings.secret, scenario.principal, now, 3600)
                headers = {"Authorization": f"Bearer {token}"}
                total = args.warmup + args.requests
                requests = [
                    _harness.http_request(
                        "GET", scenario.paths[i % len(scenario.paths)], headers=headers
                    )
                    for i in range(total)
                ]
                first = httpx.get(
                    f"http://127.0.0.1:{server.port}{scenario.paths[0]}", headers=headers
                )
                cpu_before = server.cpu_seconds()
                result = _harness.run_async(_harness.http_load(server.port, requests, 1))
                cpu_after = server.cpu_seconds()
                cpu_ms = (
                    (cpu_after - cpu_before) * 1000 / total
                    if cpu_before is not None and cpu_after is not None
                    else None
                )
                extras[scenario.name] = (len(first.content), len(first.json()["items"]), cpu_ms)
                if result.failures:
                    print(f"FAILED: {scenario.name}: {result.failures}")
                    return 1
                result.latencies_ms = result.latencies_ms[args.warmup :]
                plan = asyncio.run(_explain(url, settings, scenario))
                seekable = (
                    asyncio.run(_explain(url, settings, scenario, seekable=True))
                    if scenario.cursor is not None
                    else []
                )
                results.append((scenario, result, plan, seekable))

    print(
        f"GET /api/v1/review-queue?limit=50 through uvicorn (1 worker), {args.requests} requests "
        f"per scenario after {args.warmup} warm-up, one at a time; goal p95 <= {GOAL_MS:.0f} ms"
    )
    over = False
    for scenario, result, plan, seekable in results:
        p95 = _harness.percentile(result.latencies_ms, 95)
        verdict = "OK" if p95 <= GOAL_MS else "OVER GOAL"
        over = over or p95 > GOAL_MS
        print(f"  {scenario.name:<36} {_harness.timing_summary(result.latencies_ms)}  {verdict}")
        size, items, cpu_ms = extras[scenario.name]
        cpu = f"{cpu_ms:.1f} ms" if cpu_ms is not None else "n/a"
        print(
            f"    {items} items, {size / 1024:.0f} KiB per response; server CPU per request {cpu}"
        )
        print(f"    main query plan: {_plan_summary(plan)}")
        removed = [line.strip() for line in plan if "Rows Removed by Filter" in line]
        if removed:
            print(f"    {removed[0]} (the index scan's)")
        if seekable:
            print(f"    with 'submitted_at >= cursor' added: {_plan_summary(seekable)}")
        if args.explain or p95 > GOAL_MS:
            print("\n".join("      " + line for line in plan))
    return 0


if __name__ == "__main__":
    sys.exit(main())
