"""The demo organization: one city (Hangzhou), one team, a supervisor, four reps, ~60 stores, and
a week of visits, audit tours and rectifications in every state.

People, the team and the stores are created through the domain services (so events, QR keys and
defaults are exactly what a real organization gets). Everything is deterministic: the same seed
gives the same stores and, for the same "now", the same history.

The history (:func:`seed_demo_history`) is planned first, then **run through the real services
at simulated times**: services and jobs take their ``now`` from the caller (DESIGN §3, "Time is a
parameter"), and here the caller is the simulated clock. The plan decides who visits which store
when (nearest-store routes, 3-5 visits a rep a working day, never overlapping), and what makes
the week interesting: abandoned visits, poor GPS fixes, offline check-ins (one from a phone whose
clock is fast), a visit far too short, a re-sent old photo, rejections and rework, overdue and
rescheduled next actions. The supervisor audits five stores (green, amber and red audits, one
failing a critical item); the failed items become rectifications for the stores' reps, who fix
some during later visits there, and the supervisor verifies or reopens those; the critical one,
never fixed, is overdue. rep3 is at a store right now (checked in a few minutes ago); rep1, the
login a newcomer tries first, has no open visit and rectifications to do. Every step then runs
in time order, in the caller's transaction, so each service sees the world as it was at that
moment:

- the check-in (``visits.check_in.check_in`` on the session's asyncpg connection) gets the
  request the phone would have sent: the position near the door, captured on the phone's clock,
  queued offline when the shop had no signal; the service corrects the time and raises the
  flags, from the previous check-in and same-day facts already recorded;
- the photos are synthetic Pillow drawings (:func:`draw_photo`, drawn in worker threads ahead
  of their uploads) put through ``visits.photos.put_photo``: processed, watermarked, stored,
  hashed, and flagged when the duplicate lookup finds the re-sent one;
- an audit starts at the door through ``audits.service.start`` with the same body as a
  check-in, then its results, item photos and submit (which raises the rectifications) go
  through the audits service; a fix's after photo, taken while the rep's visit at the store is
  open, its submit and the supervisor's verify or reopen go through
  ``rectifications.service``;
- answers, the next action and the submission (with its summary card) go through
  ``visits.completion``, reviews through ``visits.reviews`` (a rejection notifies the rep), the
  action's completion or reschedule through ``actions.service``, an abandon through
  ``visits.service.abandon``;
- the scheduler's jobs run at simulated ticks (just after each moment one of them has work, and
  at "now"), for the demo org only: the stale-visit job abandons the visit left open, the
  next-action and rectification jobs send the due-soon, due and overdue notices;
- notifications older than a day are marked read through ``notifications.service``.

So no flow, event payload or notification text is written twice, and a server started afterwards
has nothing left to send. (``updated_at``, which nothing reads, is the ORM's wall-clock stamp on
the rows the services changed.)
"""

import asyncio
import io
import math
import os
import random
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

import anyio
import anyio.to_thread
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions import jobs as action_jobs
from backend.actions import rules as action_rules
from backend.actions import service as action_service
from backend.actions.schemas import NextActionInput, RescheduleRequest
from backend.audits import service as audit_service
from backend.audits.checklist import Checklist, ChecklistItem
from backend.audits.schemas import AuditStartRequest, RectificationChoice, SubmitRequest
from backend.auth.principal import Principal
from backend.config import Settings
from backend.db import driver_connection
from backend.forms import service as form_service
from backend.forms.definitions import FieldDefinition, FormVersion
from backend.kit.fonts import cjk_font_path
from backend.kit.geo import haversine_m
from backend.kit.pagination import PageParams
from backend.kit.storage import Storage, build_storage
from backend.models import (
    OWED,
    Audit,
    Event,
    NextAction,
    NextActionStatus,
    NextActionType,
    Notification,
    Organization,
    Photo,
    PhotoKind,
    Rectification,
    RectificationStatus,
    ReviewDecision,
    Store,
    Team,
    User,
    Visit,
)
from backend.models.user import Role
from backend.notifications import service as notification_service
from backend.orgs import service as org_service
from backend.rectifications import jobs as rectification_jobs
from backend.rectifications import rules as rectification_rules
from backend.rectifications import service as rectification_service
from backend.stores import qr
from backend.stores import service as store_service
from backend.stores.schemas import StoreCreate
from backend.teams import service as team_service
from backend.teams.schemas import TeamCreate
from backend.users import service as user_service
from backend.users.schemas import UserCreate
from backend.visits import check_in as visit_check_in
from backend.visits import completion, reviews
from backend.visits import photos as visit_photos
from backend.visits import service as visit_service
from backend.visits.schemas import CheckInRequest, Position

DEMO_ORG_NAME = "Doorstep 演示公司"
DEMO_PASSWORD = "doorstep-demo"  # noqa: S105 - a published demo login, not a secret
DEMO_TEAM_NAME = "杭州一组"
DEMO_SEED = 20240601

ADMIN = ("admin", "陈管理")
SUPERVISOR = ("supervisor", "王主管")
REPS = (("rep1", "李明"), ("rep2", "张伟"), ("rep3", "刘芳"), ("rep4", "赵磊"))


@dataclass(frozen=True)
class DemoLogin:
    username: str
    display_name: str
    role: Role


@dataclass(frozen=True)
class DemoLogins:
    org_id: uuid.UUID
    org_name: str
    password: str
    logins: list[DemoLogin] = field(default_factory=list)
    team_id: uuid.UUID | None = None
    store_ids: list[uuid.UUID] = field(default_factory=list)

    def lines(self) -> list[str]:
        width = max(len(login.username) for login in self.logins)
        return [
            f"{login.username.ljust(width)}  {login.role.value:<10}  {login.display_name}"
            for login in self.logins
        ]


def demo_logins_template() -> list[DemoLogin]:
    """The demo logins (usable before the database is touched, e.g. to print them)."""
    return [
        DemoLogin(ADMIN[0], ADMIN[1], Role.admin),
        DemoLogin(SUPERVISOR[0], SUPERVISOR[1], Role.supervisor),
        *(DemoLogin(username, name, Role.rep) for username, name in REPS),
    ]


async def find_demo_org(session: AsyncSession) -> Organization | None:
    org: Organization | None = await session.scalar(
        select(Organization).where(Organization.name == DEMO_ORG_NAME).limit(1)
    )
    return org


async def seed_demo(session: AsyncSession, settings: Settings) -> DemoLogins:
    """Create the demo organization with its people, team, stores and a week of history.

    Idempotent: when the demo organization exists already nothing is created (its history is
    only added if it has no visit at all). Only ``flush()``es.
    """
    existing = await find_demo_org(session)
    if existing is not None:
        logins = await _existing_logins(session, existing)
        await seed_demo_history(session, settings, logins)
        return logins

    org, admin = await org_service.create_org(session, DEMO_ORG_NAME, ADMIN[0], DEMO_PASSWORD)
    admin.display_name = ADMIN[1]
    principal = Principal(user_id=admin.id, org_id=org.id, role=Role.admin)

    supervisor = await user_service.create_user(
        session,
        org.id,
        UserCreate(
            username=SUPERVISOR[0],
            display_name=SUPERVISOR[1],
            role=Role.supervisor,
            password=DEMO_PASSWORD,
        ),
        admin.id,
    )
    reps = [
        await user_service.create_user(
            session,
            org.id,
            UserCreate(username=username, display_name=name, role=Role.rep, password=DEMO_PASSWORD),
            admin.id,
        )
        for username, name in REPS
    ]
    team = await team_service.create_team(
        session,
        principal,
        TeamCreate(
            name=DEMO_TEAM_NAME, supervisor_id=supervisor.id, member_ids=[r.id for r in reps]
        ),
    )

    store_ids: list[uuid.UUID] = []
    for spec in demo_stores(team.id):
        store = await store_service.create_store(session, settings, org.id, spec, admin.id)
        store_ids.append(store.id)

    logins = DemoLogins(
        org_id=org.id,
        org_name=org.name,
        password=DEMO_PASSWORD,
        logins=demo_logins_template(),
        team_id=team.id,
        store_ids=store_ids,
    )
    await seed_demo_history(session, settings, logins)
    return logins


async def _existing_logins(session: AsyncSession, org: Organization) -> DemoLogins:
    team_id = await session.scalar(
        select(Team.id).where(Team.org_id == org.id, Team.name == DEMO_TEAM_NAME)
    )
    store_ids = (
        await session.scalars(select(Store.id).where(Store.org_id == org.id).order_by(Store.code))
    ).all()
    return DemoLogins(
        org_id=org.id,
        org_name=org.name,
        password=DEMO_PASSWORD,
        logins=demo_logins_template(),
        team_id=team_id,
        store_ids=list(store_ids),
    )


# --- a week of history ---------------------------------------------------------------------------

HISTORY_DAYS = 7
DAY_START = time(9, 0)
DAY_END = time(17, 50)
SUPERVISOR_HOURS = (time(8, 30), time(20, 0))
OPEN_VISIT_AGE = timedelta(minutes=18)
# Whose visit is open when the demo starts: rep3 (index into REPS), never rep1.
OPEN_VISIT_REP = 2
ALL_KINDS = (PhotoKind.storefront, PhotoKind.shelf, PhotoKind.conversation)

_ABANDON_REASONS = (
    "门店今天盘点，暂停营业",
    "店长不在，约好明天上午再来",
    "客户临时有事，改天再访",
)
_APPROVE_COMMENTS = (
    "陈列照清晰，跟进事项具体，很好",
    "不错。缺货清单记得同步给内勤补货",
    "可以，下次把竞品的价签也拍一下",
    "好的，演示时间定了在群里说一声",
    "辛苦了，这家店重点跟进",
    "信息完整，通过",
    "收到，按计划推进",
)
_REJECT = (
    (
        "“其他情况”没写和店长沟通的结论，请补充后重新提交",
        "已补充：店长同意下周把我司产品调到黄金位",
    ),
    ("请在备注里写明竞品的具体活动和时间", "已补充：竞品买二送一，活动到月底结束"),
    ("跟进事项要写清楚负责人和数量，请补充说明", "已补充：由店长对接，首批 20 盒"),
)
_COMPLETION_NOTES = {
    NextActionType.send_sample: ("样品已送到，店长签收", "已送样，约了下周回访"),
    NextActionType.quote: ("报价已发，客户在内部审批", "报价已确认，等待下单"),
    NextActionType.demo: ("演示完成，客户反馈不错", "已演示，院长要求再出一版方案"),
    NextActionType.follow_up_call: ("电话已回访，补货已到", "已电话沟通，下周下单"),
    NextActionType.other: ("已完成", "已按约定处理"),
}
_ACTIONS: dict[str, tuple[tuple[NextActionType, str], ...]] = {
    "pharmacy": (
        (NextActionType.send_sample, "给店长送 3 盒新品样品"),
        (NextActionType.quote, "发季度进货报价和陈列返利方案"),
        (NextActionType.follow_up_call, "电话确认缺货品种是否已补货"),
        (NextActionType.other, "给店员做一次产品培训"),
    ),
    "clinic": (
        (NextActionType.demo, "上门演示新款超声洁牙机"),
        (NextActionType.quote, "发送设备年度保养套餐报价"),
        (NextActionType.send_sample, "送一箱一次性耗材试用装"),
        (NextActionType.follow_up_call, "和院长电话确认采购预算"),
    ),
    "supermarket": (
        (NextActionType.other, "确认端架堆头位置和档期"),
        (NextActionType.quote, "提交下月促销费用报价"),
        (NextActionType.follow_up_call, "电话跟进缺货 SKU 补货"),
        (NextActionType.send_sample, "送 2 箱试吃装"),
    ),
}
_RESCHEDULE_REASON = "客户出差，约到他回来以后"


@dataclass
class _ActionPlan:
    id: uuid.UUID
    type: NextActionType
    note: str
    set_at: datetime
    due_at: datetime
    completed_at: datetime | None = None
    rescheduled_at: datetime | None = None
    first_due_at: datetime | None = None


@dataclass
class _Planned:
    """One visit of the history, decided before anything is written."""

    id: uuid.UUID
    rep: User
    store: Store
    checked_in_at: datetime
    minutes: float  # at the store: check-in to submit (or to abandon)
    kind: str = "visit"  # visit | open | abandoned | auto_abandoned
    accuracy_m: float = 10.0
    offset_m: float = 15.0
    bearing: float = 0.0
    device_offset_s: float = 0.0  # server minus device clock
    latency_s: float = 1.5  # check-in to the server receiving it
    offline: bool = False
    abandon_reason: str | None = None
    photo_seeds: dict[PhotoKind, int] = field(default_factory=dict)
    duplicate_of: "_Planned | None" = None
    # Reviews: (at, decision, comment) in order; resubmission time when reworked.
    reviews: list[tuple[datetime, ReviewDecision, str]] = field(default_factory=list)
    resubmitted_at: datetime | None = None
    reject_fix: str | None = None
    action: _ActionPlan | None = None

    @property
    def submitted_first_at(self) -> datetime:
        return self.checked_in_at + timedelta(minutes=self.minutes)

    @property
    def server_received_at(self) -> datetime:
        return self.checked_in_at + timedelta(seconds=self.latency_s)

    @property
    def submitted_at(self) -> datetime:
        """The (first) submission as the server saw it: an offline visit syncs when it can."""
        return max(self.submitted_first_at, self.server_received_at + timedelta(seconds=5))

    @property
    def ends_at(self) -> datetime:
        """When the rep is free for the next visit (the visit left open or submitted)."""
        if self.kind == "auto_abandoned":
            return self.checked_in_at + visit_service.STALE_AFTER + timedelta(minutes=1)
        return self.submitted_at

    def photo_time(self, kind: PhotoKind) -> datetime:
        """When the phone took the photo (its EXIF time)."""
        share = {PhotoKind.storefront: 0.08, PhotoKind.shelf: 0.35, PhotoKind.conversation: 0.6}
        return self.checked_in_at + timedelta(minutes=self.minutes * share[kind])

    def photo_at(self, kind: PhotoKind) -> datetime:
        """When the server received the photo (after the check-in, for one queued offline)."""
        return max(self.photo_time(kind), self.server_received_at) + timedelta(seconds=2)

    @property
    def answered_at(self) -> datetime:
        """When the form's answers reached the server (before the next action was set)."""
        at = max(
            self.checked_in_at + timedelta(minutes=self.minutes * 0.8), self.server_received_at
        )
        return min(at, self.action.set_at) if self.action is not None else at


@dataclass
class HistoryCounts:
    visits: dict[str, int] = field(default_factory=dict)
    photos: int = 0
    next_actions: int = 0
    overdue_actions: int = 0
    audits: dict[str, int] = field(default_factory=dict)  # submitted audits by band
    rectifications: dict[str, int] = field(default_factory=dict)  # by status
    overdue_rectifications: int = 0
    notifications: int = 0
    events: int = 0


async def seed_demo_history(
    session: AsyncSession,
    settings: Settings,
    demo: DemoLogins,
    *,
    now: datetime | None = None,
    seed: int = DEMO_SEED,
) -> HistoryCounts:
    """A week of visits by rep1..rep4 at their stores and of the supervisor's audits with their
    rectifications, in every state (see the module doc).

    Does nothing (returns empty counts) when the demo organization has any visit already: the
    audits are seeded with the visits, whose later visits fix their rectifications.
    """
    if await session.scalar(select(Visit.id).where(Visit.org_id == demo.org_id).limit(1)):
        return HistoryCounts()
    now = (now or datetime.now(UTC)).astimezone(UTC)
    zone = ZoneInfo(settings.timezone)
    org = await session.get_one(Organization, demo.org_id)
    users = {
        u.username: u for u in await session.scalars(select(User).where(User.org_id == demo.org_id))
    }
    reps = [users[username] for username, _ in REPS]
    supervisor = users[SUPERVISOR[0]]
    stores = list(
        await session.scalars(select(Store).where(Store.org_id == demo.org_id).order_by(Store.code))
    )
    rng = random.Random(seed)
    horizon = timedelta(days=settings.next_action_horizon_days)
    checklist = await audit_service.checklist_of(session, org.id, audit_service.STANDARD_KEY, None)
    week = plan_week(rng, now, zone, reps, stores, checklist, horizon, seed=seed)
    answers = await _plan_answers(session, org.id, week.visits, rng, zone)
    storage = build_storage(settings)
    await storage.start()
    try:
        simulation = _Week(session, settings, storage, org, supervisor, zone, now)
        await simulation.run(week.visits, answers, week.audits)
    finally:
        await storage.close()
    return await _counts(session, org.id, now)


@dataclass
class WeekPlan:
    """The week decided before anything is written: the visits (in check-in order) and the
    supervisor's audits with the fixes of their rectifications."""

    visits: list[_Planned]
    audits: list["_AuditPlan"]


def plan_week(
    rng: random.Random,
    now: datetime,
    zone: tzinfo,
    reps: Sequence[User],
    stores: Sequence[Store],
    checklist: Checklist,
    horizon: timedelta,
    *,
    seed: int = DEMO_SEED,
) -> WeekPlan:
    """Plan the week up to ``now`` (pure: nothing is read or written). ``rng`` is the visits'
    stream (the caller goes on drawing the answers from it); the audits draw from their own,
    so the visits are the same with or without them."""
    territories = _territories(reps, stores)
    visits = _plan(rng, now, zone, reps, territories, horizon)
    audit_rng = random.Random(seed + AUDIT_SEED)
    audits = _plan_audits(audit_rng, visits, checklist, now, zone, reps, territories)
    return WeekPlan(visits, audits)


async def _plan_answers(
    session: AsyncSession,
    org_id: uuid.UUID,
    plans: list[_Planned],
    rng: random.Random,
    zone: tzinfo,
) -> dict[uuid.UUID, dict[str, Any]]:
    """What each submitted visit answers, for the form its check-in will pin (the current one)."""
    forms: dict[str, FormVersion] = {}
    answers: dict[uuid.UUID, dict[str, Any]] = {}
    for plan in plans:
        if plan.kind != "visit":
            continue
        customer_type = plan.store.customer_type
        if customer_type not in forms:
            forms[customer_type] = await form_service.current_form(session, org_id, customer_type)
        local_day = plan.checked_in_at.astimezone(zone).date()
        answers[plan.id] = demo_answers(rng, plan.store, forms[customer_type], local_day)
    return answers


async def _counts(session: AsyncSession, org_id: uuid.UUID, now: datetime) -> HistoryCounts:
    def count(model: Any, *where: Any) -> Select[int]:
        return select(func.count()).select_from(model).where(model.org_id == org_id, *where)

    states = await session.execute(
        select(Visit.status, func.count()).where(Visit.org_id == org_id).group_by(Visit.status)
    )
    open_actions = (NextAction.status == NextActionStatus.open, NextAction.due_at < now)
    bands = await session.execute(
        select(Audit.band, func.count()).where(Audit.org_id == org_id).group_by(Audit.band)
    )
    rect_states = await session.execute(
        select(Rectification.status, func.count())
        .where(Rectification.org_id == org_id)
        .group_by(Rectification.status)
    )
    owed_late = (Rectification.status.in_(OWED), Rectification.due_at < now)
    history = Event.subject_type.in_(("visit", "next_action", "audit", "rectification"))
    return HistoryCounts(
        visits={status.value: n for status, n in states},
        photos=await session.scalar(count(Photo)) or 0,
        next_actions=await session.scalar(count(NextAction)) or 0,
        overdue_actions=await session.scalar(count(NextAction, *open_actions)) or 0,
        audits={band.value: n for band, n in bands if band is not None},
        rectifications={status.value: n for status, n in rect_states},
        overdue_rectifications=await session.scalar(count(Rectification, *owed_late)) or 0,
        notifications=await session.scalar(count(Notification)) or 0,
        events=await session.scalar(count(Event, history)) or 0,
    )


def _territories(reps: Sequence[User], stores: Sequence[Store]) -> dict[uuid.UUID, list[Store]]:
    """Each rep covers one district (the stores whose address is in it)."""
    out: dict[uuid.UUID, list[Store]] = {}
    for rep, (district, *_) in zip(reps, _DISTRICTS, strict=False):
        mine = [s for s in stores if district in s.address]
        out[rep.id] = mine if len(mine) >= 6 else list(stores)
    return out


def _local(zone: tzinfo, day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _route(start: Store, stores: list[Store]) -> list[Store]:
    """Visit order: always the nearest store not yet visited."""
    route, left = [start], [s for s in stores if s.id != start.id]
    while left:
        here = route[-1]
        nearest = min(left, key=lambda s: haversine_m(here.lat, here.lng, s.lat, s.lng))
        route.append(nearest)
        left.remove(nearest)
    return route


def _plan(
    rng: random.Random,
    now: datetime,
    zone: tzinfo,
    reps: Sequence[User],
    territories: dict[uuid.UUID, list[Store]],
    horizon: timedelta,
) -> list[_Planned]:
    today = now.astimezone(zone).date()
    plans: list[_Planned] = []
    last_day: dict[uuid.UUID, set[uuid.UUID]] = {}
    for offset in range(HISTORY_DAYS - 1, -1, -1):
        day = today - timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for rep in reps:
            territory = territories[rep.id]
            fresh = [s for s in territory if s.id not in last_day.get(rep.id, set())]
            pool = fresh if len(fresh) >= 5 else territory
            picked = rng.sample(pool, min(len(pool), rng.randint(3, 5)))
            at = _local(zone, day, DAY_START) + timedelta(minutes=rng.uniform(0, 40))
            previous: Store | None = None
            todays: set[uuid.UUID] = set()
            for store in _route(picked[0], picked):
                if previous is not None:
                    km = haversine_m(previous.lat, previous.lng, store.lat, store.lng) / 1000
                    at += timedelta(minutes=max(15.0, km / 22 * 60 + rng.uniform(5, 15)))
                minutes = rng.uniform(14, 42)
                leaves = at + timedelta(minutes=minutes)
                if leaves > _local(zone, day, DAY_END) or leaves > now - timedelta(minutes=30):
                    break
                plans.append(_visit(rng, rep, store, at, minutes))
                todays.add(store.id)
                previous, at = store, leaves
            last_day[rep.id] = todays
    _mark_specials(rng, plans, now, zone)
    # Today: rep3 is at a store right now, with only the storefront photo taken so far (the
    # state shows on the board and in their app). rep1, whom a newcomer signs in as first, is
    # free to check in.
    at_store = reps[OPEN_VISIT_REP]
    today_ids = {
        p.store.id
        for p in plans
        if p.rep.id == at_store.id and p.checked_in_at.astimezone(zone).date() == today
    }
    territory = territories[at_store.id]
    choices = [s for s in territory if s.id not in today_ids] or territory
    open_visit = _visit(rng, at_store, rng.choice(choices), now - OPEN_VISIT_AGE, 0.0)
    open_visit.kind = "open"
    open_visit.photo_seeds = {PhotoKind.storefront: open_visit.photo_seeds[PhotoKind.storefront]}
    plans.append(open_visit)
    plans.sort(key=lambda p: (p.checked_in_at, p.rep.username))
    _plan_reviews(rng, plans, now, zone)
    _mark_duplicate(rng, plans)
    _plan_actions(rng, plans, now, zone, horizon)
    return plans


def _visit(rng: random.Random, rep: User, store: Store, at: datetime, minutes: float) -> _Planned:
    return _Planned(
        id=uuid.UUID(int=rng.getrandbits(128), version=4),
        rep=rep,
        store=store,
        checked_in_at=at.replace(microsecond=rng.randrange(1_000_000)),
        minutes=minutes,
        accuracy_m=round(rng.uniform(5, 35), 1),
        offset_m=rng.uniform(3, 45),
        bearing=rng.uniform(0, 2 * math.pi),
        device_offset_s=round(rng.uniform(-20, 20), 3),
        latency_s=round(rng.uniform(0.4, 3.5), 3),
        photo_seeds={kind: rng.getrandbits(32) for kind in ALL_KINDS},
    )


def _mark_specials(rng: random.Random, plans: list[_Planned], now: datetime, zone: tzinfo) -> None:
    """Abandoned visits, low-accuracy fixes, offline check-ins (one with a wrong phone clock)
    and a visit that was far too short."""
    today = now.astimezone(zone).date()
    older = [
        p for p in plans if p.checked_in_at.astimezone(zone).date() < today - timedelta(days=1)
    ]
    # One forgotten at the end of a day, abandoned by the scheduler 4 hours later.
    last_of_day: dict[tuple[uuid.UUID, date], _Planned] = {}
    for p in older:
        last_of_day[(p.rep.id, p.checked_in_at.astimezone(zone).date())] = p
    forgotten = rng.choice(sorted(last_of_day.values(), key=lambda p: p.checked_in_at))
    forgotten.kind = "auto_abandoned"
    forgotten.photo_seeds = {}
    ordinary = [p for p in plans if p.kind == "visit"]
    for p, reason in zip(rng.sample(ordinary, 2), _ABANDON_REASONS, strict=False):
        p.kind = "abandoned"
        p.abandon_reason = reason
        p.minutes = rng.uniform(4, 9)
        p.photo_seeds = {PhotoKind.storefront: p.photo_seeds[PhotoKind.storefront]}
    ordinary = [p for p in plans if p.kind == "visit"]
    chosen = rng.sample(ordinary, 6)
    for p in chosen[:3]:  # a poor GPS fix, still inside the fence with its benefit of the doubt
        p.accuracy_m = round(rng.uniform(120, 260), 1)
        p.offset_m = rng.uniform(60, 150)
    supermarkets = [p for p in chosen[3:] if p.store.customer_type == "supermarket"]
    offline = (supermarkets + [p for p in chosen[3:] if p not in supermarkets])[:2]
    for i, p in enumerate(offline):  # a basement shop without signal: synced when leaving
        p.offline = True
        p.latency_s = round(p.minutes * 60 + rng.uniform(60, 300), 3)
        if i == 0:
            p.device_offset_s = -round(rng.uniform(14, 22) * 60, 3)  # the phone's clock is fast
    short = next(p for p in chosen[3:] if p not in offline)
    short.minutes = rng.uniform(2.0, 2.6)


def _supervisor_time(at: datetime, rng: random.Random, zone: tzinfo) -> datetime:
    """``at`` moved into the supervisor's working hours (the next morning when after hours)."""
    local = at.astimezone(zone)
    start, end = SUPERVISOR_HOURS
    if local.time() < start:
        return _local(zone, local.date(), start) + timedelta(minutes=rng.uniform(5, 60))
    if local.time() > end:
        next_day = local.date() + timedelta(days=1)
        return _local(zone, next_day, start) + timedelta(minutes=rng.uniform(5, 90))
    return at


def _plan_reviews(rng: random.Random, plans: list[_Planned], now: datetime, zone: tzinfo) -> None:
    visits = [p for p in plans if p.kind == "visit"]
    firsts = {
        p.id: _supervisor_time(p.submitted_at + timedelta(hours=rng.uniform(1.5, 26)), rng, zone)
        for p in visits
    }
    reviewed = [p for p in visits if firsts[p.id] < now]
    count = min(len(reviewed), max(3, round(len(reviewed) * 0.12)))
    rejected = sorted(rng.sample(reviewed, count), key=lambda p: firsts[p.id])
    for p in visits:
        first = firsts[p.id]
        if first >= now:
            continue
        if p not in rejected:
            p.reviews.append((first, ReviewDecision.approved, rng.choice(_APPROVE_COMMENTS)))
            continue
        reason, fix = rng.choice(_REJECT)
        p.reviews.append((first, ReviewDecision.rejected, reason))
        if p is rejected[-1]:
            continue  # the latest rejection: still with the rep as rework
        resubmit = first + timedelta(hours=rng.uniform(1, 5))
        if resubmit >= now:
            continue
        p.resubmitted_at, p.reject_fix = resubmit, fix
        second = _supervisor_time(resubmit + timedelta(hours=rng.uniform(0.5, 6)), rng, zone)
        if second < now:
            p.reviews.append((second, ReviewDecision.approved, "补充得很清楚，通过"))


def _mark_duplicate(rng: random.Random, plans: list[_Planned]) -> None:
    """One waiting visit whose shelf photo is an old photo from another visit, re-sent."""
    waiting = [
        p for p in plans if p.kind == "visit" and not p.reviews and not p.offline and p.minutes > 5
    ]
    if not waiting:
        return
    target = rng.choice(waiting)
    earlier = [
        p
        for p in plans
        if PhotoKind.shelf in p.photo_seeds
        and p.checked_in_at < target.checked_in_at - timedelta(days=1)
        and p.kind == "visit"
    ]
    same_type = [p for p in earlier if p.store.customer_type == target.store.customer_type]
    if earlier:
        target.duplicate_of = rng.choice(same_type or earlier)


def _plan_actions(
    rng: random.Random, plans: list[_Planned], now: datetime, zone: tzinfo, horizon: timedelta
) -> None:
    """Each submitted visit's next action: due in the working hours of the next days (within
    the horizon of its check-in), most done, two or three overdue, one moved once."""
    hours = (10, 11, 14, 15, 16)
    visits = [p for p in plans if p.kind == "visit"]
    for p in visits:
        set_at = p.submitted_at - timedelta(minutes=rng.uniform(0.3, 1.2))
        set_at = max(set_at, p.checked_in_at + timedelta(seconds=40))
        set_at = max(set_at, p.server_received_at + timedelta(seconds=1))
        local_in = p.checked_in_at.astimezone(zone)
        latest = p.checked_in_at + horizon
        due, tries = set_at, 0
        while due <= set_at + timedelta(hours=2) or due > latest:
            tries += 1
            if tries > 50:  # a horizon too short for a working-hours time: halfway there
                due = set_at + (latest - set_at) / 2
                break
            day = local_in.date() + timedelta(days=rng.randint(1, 6))
            if day.weekday() >= 5:
                day += timedelta(days=7 - day.weekday())
            due = _local(zone, day, time(rng.choice(hours)))
        kind, note = rng.choice(_ACTIONS.get(p.store.customer_type, _ACTIONS["pharmacy"]))
        action = _ActionPlan(
            uuid.UUID(int=rng.getrandbits(128), version=4), kind, note, set_at, due
        )
        if due < now and rng.random() < 0.85:
            action.completed_at = due - timedelta(hours=rng.uniform(0.5, 20))
        elif due >= now and rng.random() < 0.2:
            action.completed_at = set_at + (now - set_at) * rng.uniform(0.3, 0.9)
        if action.completed_at is not None:
            action.completed_at = min(
                max(action.completed_at, set_at + timedelta(hours=1)), now - timedelta(minutes=5)
            )
            if action.completed_at <= set_at:
                action.completed_at = None
        p.action = action
    actions = [p.action for p in visits if p.action is not None]
    # A couple of overdue commitments, so the supervisor's board shows red (two or three).
    overdue = [a for a in actions if a.completed_at is None and a.due_at < now]
    past_done = sorted(
        (a for a in actions if a.completed_at is not None and a.due_at < now),
        key=lambda a: a.due_at,
        reverse=True,
    )
    while len(overdue) < 2 and past_done:
        action = past_done.pop(0)
        action.completed_at = None
        overdue.append(action)
    for action in sorted(overdue, key=lambda a: a.due_at)[:-3]:
        action.completed_at = min(action.due_at - timedelta(hours=1), now - timedelta(minutes=5))
    # One moved once, with a reason (the supervisor sees the count).
    movable = [
        a
        for a in actions
        if a.completed_at is None
        and a.due_at > now + timedelta(days=1)
        and a.due_at - a.set_at > timedelta(hours=32)
        and a.set_at < now - timedelta(hours=8)
    ]
    if movable:
        action = rng.choice(movable)
        action.rescheduled_at = action.set_at + timedelta(hours=rng.uniform(2, 6))
        action.first_due_at = action.due_at
        action.due_at = min(action.due_at + timedelta(days=2), action.rescheduled_at + horizon)


# --- audit tours and rectifications ------------------------------------------------------------
#
# 王主管 audits five stores over the week with the org's `standard` checklist, at the door like a
# rep's check-in. Each audit follows a script: what fails (the rest passes), so the week has
# green, amber and red audits, one with a critical failure. Every failed item becomes a
# rectification for the rep whose territory the store is in (the rep who visits it), and the
# script says what the rep then does about each: the fixes happen during one of that rep's
# later visits to the store (the after photo needs the visit open), and the supervisor verifies
# or reopens them afterwards. What nobody fixes stays open: the critical item, raised early in
# the week with its two-day deadline, is overdue and escalated by the rectification job; the
# others are due in the days ahead (rep1's among them, so their Today shows one).

# The audits' own random stream (added to the seed): the visits stay as they were without them.
AUDIT_SEED = 0xA0D17
# When the supervisor starts an audit (local time, plus up to 45 minutes).
AUDIT_SLOTS = (time(10, 0), time(14, 30))
AUDIT_MINUTES = (26.0, 44.0)
# The shortest visit a fix is made in (its photo, then its submit, before the visit's submit).
FIX_VISIT_MINUTES = 12.0
# The supervisor looks at a fix this long after the visit that made it.
JUDGE_DELAY_HOURS = (1.5, 6.0)
_UPLOAD_DELAY = timedelta(seconds=3)


def _fail(note: str) -> dict[str, Any]:
    return {"result": "fail", "note": note}


def _rated(value: int, note: str) -> dict[str, Any]:
    return {"value": value, "note": note}


@dataclass(frozen=True)
class _AuditScript:
    """One audit of the week (see above)."""

    rep: int  # index into REPS: the store is in their territory and they get its fixes
    results: dict[str, dict[str, Any]]  # every other item passes
    fixes: dict[str, RectificationStatus] = field(default_factory=dict)
    day: str = "any"  # the supervisor's day: earliest | latest | any
    fix_latest: bool = False  # fixed at the rep's latest visit possible (a fix just sent in)


_AUDIT_SCRIPTS = (
    # Red (60%), not passed: key SKUs out of stock (critical: left open, overdue, escalated) and
    # the stock runs out in 3 days; the hero products moved back to the golden zone (verified),
    # the display redone but still with gaps (reopened).
    _AuditScript(
        1,
        {
            "hero_in_golden_zone": _fail("主推品被放到了最底层"),
            "display_score": _rated(2, "排面凌乱，有三处空位"),
            "key_skus_in_stock": _fail("3 个主推 SKU 缺货，仓库也没有"),
            "days_of_stock": _rated(3, "库存只够 3 天"),
        },
        {
            "hero_in_golden_zone": RectificationStatus.verified,
            "display_score": RectificationStatus.reopened,
        },
        day="earliest",
    ),
    # Amber (86.1%), passed: price tags not updated (just fixed: waiting for the supervisor) and
    # this period's posters not up (open).
    _AuditScript(
        3,
        {
            "price_tags": _fail("4 个 SKU 的价签还是原价"),
            "posm_in_place": _fail("本期促销海报没有张贴"),
        },
        {"price_tags": RectificationStatus.submitted},
        fix_latest=True,
    ),
    # Amber (88.9%), passed: boxes in the aisle (cleared, verified), too few facings (open).
    _AuditScript(
        0,
        {
            "store_clean": _fail("通道里堆着纸箱"),
            "facings": _rated(3, "主货架只有 3 个排面"),
        },
        {"store_clean": RectificationStatus.verified},
    ),
    # Green (100%): everything in order, no promotion running this period.
    _AuditScript(2, {"promo_price_applied": {"result": "na", "note": "本期没有促销活动"}}),
    # Green (97.2%), late in the week: one light out, for rep1 to fix (open, due in days).
    _AuditScript(0, {"lighting_ok": _fail("货架区有两盏灯不亮")}, day="latest"),
)

_FIX_NOTES = {
    "hero_in_golden_zone": "已和店长沟通，主推品调回黄金位",
    "display_score": "已重新整理排面",
    "price_tags": "价签已全部换成促销价",
    "store_clean": "纸箱已清走，通道畅通",
}
_VERIFY_COMMENT = "整改到位，通过"
_REOPEN_REASON = "排面还有空位，请补货后重新陈列再拍照"
# What an item's photo shows (the synthetic drawings come in three kinds).
_ITEM_PHOTO_KIND = {
    "storefront_sign": PhotoKind.storefront,
    "posm_in_place": PhotoKind.storefront,
    "lighting_ok": PhotoKind.storefront,
}


@dataclass
class _FixPlan:
    """A rep's fix of one rectification during their visit at the store, and its verdict."""

    rect_id: uuid.UUID
    item_key: str
    critical: bool
    visit: _Planned
    outcome: RectificationStatus  # submitted | verified | reopened
    photo_at: datetime  # the after photo, while the visit is open
    seed: int
    judged_at: datetime | None = None  # the supervisor's verify or reopen

    @property
    def submitted_at(self) -> datetime:
        return self.photo_at + timedelta(minutes=1)


@dataclass
class _AuditPlan:
    """One audit of the week, decided before anything is written."""

    id: uuid.UUID
    store: Store
    assignee: User
    checked_in_at: datetime
    minutes: float  # at the store: start to submit
    results: dict[str, dict[str, Any]]  # item key -> what the audit screen sends
    photos: dict[str, tuple[int, datetime]]  # item key -> (drawing seed, when taken)
    due: dict[str, datetime]  # failed item -> the rectification's due time (the default)
    fixes: list[_FixPlan] = field(default_factory=list)
    accuracy_m: float = 10.0
    offset_m: float = 10.0
    bearing: float = 0.0
    device_offset_s: float = 0.0
    latency_s: float = 1.0
    offline: bool = False  # audits here are online: the supervisor's phone has signal

    @property
    def server_received_at(self) -> datetime:
        return self.checked_in_at + timedelta(seconds=self.latency_s)

    @property
    def submitted_at(self) -> datetime:
        return self.checked_in_at + timedelta(minutes=self.minutes)

    def at_share(self, share: float) -> datetime:
        return self.checked_in_at + timedelta(minutes=self.minutes * share)

    def due_times(self) -> set[datetime]:
        """Every due time its rectifications have, before and after a reopen."""
        dues = set(self.due.values())
        for fix in self.fixes:
            if fix.outcome == RectificationStatus.reopened and fix.judged_at is not None:
                first = self.due[fix.item_key]
                dues.add(rectification_rules.due_after_reopen(first, fix.critical, fix.judged_at))
        return dues


def _plan_audits(
    rng: random.Random,
    plans: list[_Planned],
    checklist: Checklist,
    now: datetime,
    zone: tzinfo,
    reps: Sequence[User],
    territories: dict[uuid.UUID, list[Store]],
) -> list[_AuditPlan]:
    """Place each script on a working day before today (two audits a day at most, a store
    audited once) at a store of its rep's, and plan its fixes in that rep's later visits."""
    today = now.astimezone(zone).date()
    days = [today - timedelta(days=k) for k in range(HISTORY_DAYS - 1, 0, -1)]
    free = [(day, slot) for day in days if day.weekday() < 5 for slot in AUDIT_SLOTS]
    used: set[uuid.UUID] = set()
    audits: list[_AuditPlan] = []
    for script in _AUDIT_SCRIPTS:
        rep = reps[script.rep]
        placed = _place(script, rep, plans, checklist, free, used, territories[rep.id], now, zone)
        if not placed:
            continue  # never in practice: a week has far more choices than five audits need
        (day, slot), store, fix_visit = rng.choice(placed)
        free.remove((day, slot))
        used.add(store.id)
        at = _local(zone, day, slot) + timedelta(minutes=rng.uniform(0, 45))
        audits.append(_audit(rng, script, rep, store, at, checklist, fix_visit, zone))
    return audits


_Placement = tuple[tuple[date, time], Store, _Planned | None]


def _place(
    script: _AuditScript,
    rep: User,
    plans: list[_Planned],
    checklist: Checklist,
    free: list[tuple[date, time]],
    used: set[uuid.UUID],
    territory: list[Store],
    now: datetime,
    zone: tzinfo,
) -> list[_Placement]:
    """Where and when the script's audit can be (its best choices, to pick one from)."""

    def day_of(plan: _Planned) -> date:
        return plan.checked_in_at.astimezone(zone).date()

    def slot_fits(day: date, slot: time) -> bool:
        if not left_critical:
            return True
        # The critical item's two days are over (and escalated) before now.
        done = _local(zone, day, slot) + timedelta(hours=2)
        return done + audit_service.DUE_CRITICAL + _JOB_DELAY < now

    left_critical = any(
        (item := checklist.item(key)) is not None and item.critical and key not in script.fixes
        for key, entry in script.results.items()
        if entry.get("result") != "na"
    )
    slots = [(day, slot) for day, slot in free if slot_fits(day, slot)]
    options: list[_Placement] = []
    if script.fixes:
        judged = any(o != RectificationStatus.submitted for o in script.fixes.values())
        latest_judging = timedelta(hours=JUDGE_DELAY_HOURS[1])
        fixers = [
            p
            for p in plans
            if p.rep.id == rep.id
            and p.kind == "visit"
            and not p.offline
            and p.minutes >= FIX_VISIT_MINUTES
            and p.store.id not in used
            and (not judged or _latest_supervisor_time(p.submitted_at + latest_judging, zone) < now)
        ]
        if script.fix_latest and fixers:
            fixers = [max(fixers, key=lambda p: p.checked_in_at)]
        options = [(s, p.store, p) for p in fixers for s in slots if s[0] < day_of(p)]
    else:
        for day, slot in slots:
            # A store the rep has visited before: the one whose rep they are.
            seen = {p.store.id: p.store for p in plans if p.rep.id == rep.id and day_of(p) < day}
            stores = [s for s in seen.values() if s.id not in used] or [
                s for s in territory if s.id not in used
            ]
            options += [((day, slot), store, None) for store in stores]
    if not options:
        return []
    if script.fix_latest:
        last = max(o[0] for o in options)
        return [o for o in options if o[0] == last]
    if script.day in ("earliest", "latest"):
        pick = min if script.day == "earliest" else max
        chosen_day = pick(o[0][0] for o in options)
        return [o for o in options if o[0][0] == chosen_day]
    return options


def _latest_supervisor_time(at: datetime, zone: tzinfo) -> datetime:
    """The latest moment :func:`_supervisor_time` can move ``at`` to."""
    local = at.astimezone(zone)
    start, end = SUPERVISOR_HOURS
    if local.time() < start:
        return _local(zone, local.date(), start) + timedelta(minutes=60)
    if local.time() > end:
        return _local(zone, local.date() + timedelta(days=1), start) + timedelta(minutes=90)
    return at


def _audit(
    rng: random.Random,
    script: _AuditScript,
    rep: User,
    store: Store,
    at: datetime,
    checklist: Checklist,
    fix_visit: _Planned | None,
    zone: tzinfo,
) -> _AuditPlan:
    audit = _AuditPlan(
        id=uuid.UUID(int=rng.getrandbits(128), version=4),
        store=store,
        assignee=rep,
        checked_in_at=at.replace(microsecond=rng.randrange(1_000_000)),
        minutes=rng.uniform(*AUDIT_MINUTES),
        results={},
        photos={},
        due={},
        accuracy_m=round(rng.uniform(5, 20), 1),
        offset_m=rng.uniform(3, 25),
        bearing=rng.uniform(0, 2 * math.pi),
        device_offset_s=round(rng.uniform(-15, 15), 3),
        latency_s=round(rng.uniform(0.4, 2.0), 3),
    )
    count = len(checklist.items)
    for index, item in enumerate(checklist.items):
        entry = script.results.get(item.key) or _passing(rng, item)
        audit.results[item.key] = entry
        failed = item.key in script.results and entry.get("result") != "na"
        if item.photo == "required" or (item.photo == "on_fail" and failed):
            # Photographed as the supervisor walks the checklist, in its order.
            audit.photos[item.key] = (
                rng.getrandbits(32),
                audit.at_share(0.04 + 0.8 * index / count),
            )
        if failed:
            after = audit_service.DUE_CRITICAL if item.critical else audit_service.DUE_DEFAULT
            audit.due[item.key] = audit.submitted_at + after
    if fix_visit is not None:
        audit.fixes = _fixes(rng, audit, script, checklist, fix_visit, zone)
    return audit


def _passing(rng: random.Random, item: ChecklistItem) -> dict[str, Any]:
    if item.kind == "check":
        return {"result": "pass"}
    if item.kind == "scale":
        return {"value": item.scale_max}
    low = item.min if item.min is not None else 0
    high = item.max if item.max is not None else low + 12
    return {"value": rng.randint(math.ceil(low) + 1, math.floor(high) - 1)}


def _fixes(
    rng: random.Random,
    audit: _AuditPlan,
    script: _AuditScript,
    checklist: Checklist,
    visit: _Planned,
    zone: tzinfo,
) -> list[_FixPlan]:
    """The script's fixes, one after the other in the middle of ``visit`` (each photo, then its
    submit, well before the visit's own submit), and the supervisor's verdict hours later."""
    judging = _supervisor_time(
        visit.submitted_at + timedelta(hours=rng.uniform(*JUDGE_DELAY_HOURS)), rng, zone
    )
    fixes: list[_FixPlan] = []
    keys = [item.key for item in checklist.items if item.key in script.fixes]
    for index, key in enumerate(keys):
        item = checklist.item(key)
        assert item is not None
        start = max(visit.server_received_at + timedelta(seconds=20), visit.checked_in_at)
        photo_at = start + timedelta(minutes=visit.minutes * 0.6 + 1.5 * index)
        outcome = script.fixes[key]
        fix = _FixPlan(
            rect_id=rectification_service.rectification_id(audit.id, key),
            item_key=key,
            critical=item.critical,
            visit=visit,
            outcome=outcome,
            photo_at=photo_at,
            seed=rng.getrandbits(32),
            judged_at=(
                judging + timedelta(minutes=index)
                if outcome != RectificationStatus.submitted
                else None
            ),
        )
        if fix.submitted_at >= visit.submitted_at - timedelta(seconds=20):
            raise AssertionError(f"demo fix {key} does not fit in visit {visit.id}")
        fixes.append(fix)
    return fixes


# One thing that happens in the week, run with its simulated time.
_Step = Callable[[datetime], Awaitable[None]]


class _AtDoor(Protocol):
    """What a planned arrival at a store's door says (a visit's check-in, an audit's start)."""

    id: uuid.UUID
    store: Store
    checked_in_at: datetime
    accuracy_m: float
    offset_m: float
    bearing: float
    device_offset_s: float
    offline: bool


_DoorRequest = TypeVar("_DoorRequest", bound=CheckInRequest)
# How long after a due moment the scheduler's next tick (every minute) finds the work.
_JOB_DELAY = timedelta(seconds=30)


class _Week:
    """Runs the planned week through the real services, each call at its simulated time.

    Every step (a check-in, a photo upload, answers, the next action, a submission, a review, a
    completion or reschedule, an abandon) and every scheduler tick is put on one timeline and
    run in order, in the caller's transaction: the services see the world as it was at that
    moment (the rep's previous check-in, photos already uploaded, actions already due).
    """

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        storage: Storage,
        org: Organization,
        supervisor: User,
        zone: ZoneInfo,
        now: datetime,
    ) -> None:
        self.session = session
        self.settings = settings
        self.storage = storage
        self.org = org
        self.supervisor = supervisor
        self.zone = zone
        self.now = now
        self.font = cjk_font_path(settings)
        # By owner and slot: (visit id, kind), (audit id, item key), (rectification id, "after").
        self.drawings: dict[tuple[uuid.UUID, str], asyncio.Task[bytes]] = {}

    def principal(self, user: User) -> Principal:
        """The user as their access token would name them at the time."""
        return Principal(
            user_id=user.id, org_id=self.org.id, role=user.role, access_epoch=user.access_epoch
        )

    async def run(
        self,
        plans: list[_Planned],
        answers: dict[uuid.UUID, dict[str, Any]],
        audits: list[_AuditPlan],
    ) -> None:
        timeline: list[tuple[datetime, int, _Step]] = []
        for plan in plans:
            for at, step in self._steps(plan, answers.get(plan.id, {})):
                timeline.append((at, len(timeline), step))
        for audit in audits:
            for at, step in self._audit_steps(audit):
                timeline.append((at, len(timeline), step))
        for at in sorted(self._ticks(plans, audits)):
            timeline.append((at, len(timeline), self._tick))
        timeline.sort(key=lambda entry: (entry[0], entry[1]))
        self._draw_photos(plans, audits)
        try:
            for at, _, step in timeline:
                await step(at)
            await self._read_old_notifications(plans)
        finally:
            for task in self.drawings.values():
                task.cancel()
            await asyncio.gather(*self.drawings.values(), return_exceptions=True)

    # --- what happens when ----------------------------------------------------------------

    def _steps(self, plan: _Planned, answers: dict[str, Any]) -> Iterator[tuple[datetime, _Step]]:
        """The plan's visit as the rep's phone and the supervisor's screen make it happen."""
        rep = self.principal(plan.rep)
        yield plan.server_received_at, partial(self._check_in, plan)
        for kind in ALL_KINDS:
            if kind in plan.photo_seeds:
                yield plan.photo_at(kind), partial(self._photo, plan, kind)
        if plan.kind == "abandoned":
            reason = plan.abandon_reason or _ABANDON_REASONS[0]
            yield (
                plan.checked_in_at + timedelta(minutes=plan.minutes),
                self._call(visit_service.abandon, rep, plan.id, reason),
            )
        if plan.kind != "visit":
            return  # open: still at the store; auto_abandoned: the stale-visit job's (a tick)
        action = plan.action
        assert action is not None
        yield plan.answered_at, self._call(completion.put_answers, rep, plan.id, answers)
        first = NextActionInput(
            id=action.id,
            type=action.type,
            due_at=action.first_due_at or action.due_at,
            note=action.note,
        )
        yield (
            action.set_at,
            self._call(completion.put_next_action, self.settings, rep, plan.id, first),
        )
        yield plan.submitted_at, self._call(completion.submit, self.settings, rep, plan.id)
        supervisor = self.principal(self.supervisor)
        for at, decision, comment in plan.reviews:
            review = reviews.approve if decision == ReviewDecision.approved else reviews.reject
            yield at, self._call(review, supervisor, plan.id, comment)
            if decision == ReviewDecision.rejected and plan.resubmitted_at is not None:
                amended = {**answers, "notes": plan.reject_fix}
                yield (
                    plan.resubmitted_at - timedelta(minutes=2),
                    self._call(completion.put_answers, rep, plan.id, amended),
                )
                yield (
                    plan.resubmitted_at,
                    self._call(completion.submit, self.settings, rep, plan.id),
                )
        if action.rescheduled_at is not None:
            moved = RescheduleRequest(due_at=action.due_at, reason=_RESCHEDULE_REASON)
            yield (
                action.rescheduled_at,
                self._call(action_service.reschedule, self.settings, rep, action.id, moved),
            )
        if action.completed_at is not None:
            note = random.Random(action.id.int).choice(_COMPLETION_NOTES[action.type])
            yield (
                action.completed_at,
                self._call(action_service.complete, rep, action.id, note),
            )

    def _audit_steps(self, audit: _AuditPlan) -> Iterator[tuple[datetime, _Step]]:
        """The audit as the supervisor's phone makes it happen (start at the door, the item
        photos as the checklist is walked, the results in two saves, submit with each failed
        item for the store's rep), then each fix as the rep's phone sends it during their visit
        and the supervisor's verdict on it."""
        supervisor = self.principal(self.supervisor)
        yield audit.server_received_at, partial(self._start_audit, audit)
        for key, (_, taken_at) in audit.photos.items():
            yield taken_at + _UPLOAD_DELAY, partial(self._audit_photo, audit, key)
        keys = list(audit.results)
        half = len(keys) // 2
        for share, part in ((0.5, keys[:half]), (0.92, keys[half:])):
            results = {key: audit.results[key] for key in part}
            yield (
                audit.at_share(share),
                self._call(audit_service.save_results, supervisor, audit.id, results),
            )
        choices = SubmitRequest(
            rectifications=[
                RectificationChoice(item_key=key, assignee_id=audit.assignee.id)
                for key in audit.due
            ]
        )
        yield audit.submitted_at, self._call(audit_service.submit, supervisor, audit.id, choices)
        rep = self.principal(audit.assignee)
        for fix in audit.fixes:
            note = _FIX_NOTES.get(fix.item_key, "已整改")
            yield fix.photo_at, partial(self._after_photo, fix)
            yield fix.submitted_at, self._call(rectification_service.submit, rep, fix.rect_id, note)
            if fix.judged_at is None:
                continue
            judge: Callable[..., Awaitable[object]]
            if fix.outcome == RectificationStatus.verified:
                judge, words = rectification_service.verify, _VERIFY_COMMENT
            else:
                judge, words = rectification_service.reopen, _REOPEN_REASON
            yield fix.judged_at, self._call(judge, supervisor, fix.rect_id, words)

    def _ticks(self, plans: list[_Planned], audits: list[_AuditPlan]) -> set[datetime]:
        """When the scheduler's jobs run: just after each moment one of them has work (a day
        before a due time, the due time, four hours after the forgotten check-in), and now."""
        ticks = {self.now}
        for plan in plans:
            if plan.kind == "auto_abandoned":
                ticks.add(plan.ends_at)
            if plan.action is not None:
                for due in {plan.action.due_at, plan.action.first_due_at or plan.action.due_at}:
                    ticks.update((due - action_rules.DAY_BEFORE + _JOB_DELAY, due + _JOB_DELAY))
        for audit in audits:
            for due in audit.due_times():
                ticks.update((due - rectification_rules.DAY_BEFORE + _JOB_DELAY, due + _JOB_DELAY))
        return {at for at in ticks if at <= self.now}

    # --- the calls --------------------------------------------------------------------------

    def _call(self, service: Callable[..., Awaitable[object]], *args: Any) -> _Step:
        """The step ``service(session, *args, now)``: each service called here takes the
        session first and the time last, as its endpoint calls it."""

        async def step(now: datetime) -> None:
            await service(self.session, *args, now)

        return step

    def _at_the_door(
        self, request_type: type[_DoorRequest], plan: _AtDoor, at: datetime
    ) -> _DoorRequest:
        """The phone's request from the door as the server receives it at ``at``: the position
        fixed there on the phone's clock (``device_offset_s`` off), queued if the shop had no
        signal. A visit's check-in and an audit's start send the same body."""
        store = plan.store
        lat, lng = _moved(store.lat, store.lng, plan.offset_m, plan.bearing)
        phone_clock = -timedelta(seconds=plan.device_offset_s)
        return request_type(
            id=plan.id,
            qr=qr.qr_url_for(self.settings, self.org, store),
            position=Position(
                lat=lat,
                lng=lng,
                accuracy_m=plan.accuracy_m,
                captured_at=plan.checked_in_at + phone_clock,
            ),
            device_time=at + phone_clock,
            queued_offline=plan.offline,
        )

    async def _check_in(self, plan: _Planned, at: datetime) -> None:
        request = self._at_the_door(CheckInRequest, plan, at)
        connection = await driver_connection(self.session)
        outcome = await visit_check_in.check_in(
            connection, self.settings, self.principal(plan.rep), request, at
        )
        if not isinstance(outcome, visit_service.VisitView):
            raise AssertionError(f"demo check-in {plan.id} was already recorded")

    async def _photo(self, plan: _Planned, kind: PhotoKind, at: datetime) -> None:
        data = await self.drawings[plan.id, kind]
        await visit_photos.put_photo(
            self.session,
            self.settings,
            self.storage,
            self.principal(plan.rep),
            plan.id,
            kind,
            data,
            at,
        )

    async def _start_audit(self, audit: _AuditPlan, at: datetime) -> None:
        request = self._at_the_door(AuditStartRequest, audit, at)
        started = await audit_service.start(
            self.session, self.settings, self.principal(self.supervisor), request, at
        )
        if not started.created:
            raise AssertionError(f"demo audit {audit.id} was already started")

    async def _audit_photo(self, audit: _AuditPlan, item_key: str, at: datetime) -> None:
        data = await self.drawings[audit.id, item_key]
        await audit_service.put_item_photo(
            self.session,
            self.settings,
            self.storage,
            self.principal(self.supervisor),
            audit.id,
            item_key,
            data,
            at,
        )

    async def _after_photo(self, fix: _FixPlan, at: datetime) -> None:
        data = await self.drawings[fix.rect_id, "after"]
        await rectification_service.put_after_photo(
            self.session,
            self.settings,
            self.storage,
            self.principal(fix.visit.rep),
            fix.rect_id,
            data,
            at,
        )

    async def _tick(self, at: datetime) -> None:
        """The scheduler's jobs that shape the history, run at ``at`` for the demo org."""
        await visit_service.abandon_stale_visits(self.session, at, org_id=self.org.id)
        await action_jobs.run_all_in(self.session, at, self.org.id)
        await rectification_jobs.run_all_in(self.session, at, self.org.id)

    async def _read_old_notifications(self, plans: list[_Planned]) -> None:
        """Notifications older than a day have been read (47 minutes after they arrived); the
        last day's are still unread in the inbox."""
        cutoff = self.now - timedelta(days=1)
        people = {p.rep.id: p.rep for p in plans} | {self.supervisor.id: self.supervisor}
        for user in people.values():
            principal = self.principal(user)
            cursor: str | None = None
            while True:
                page, cursor = await notification_service.list_notifications(
                    self.session, principal, PageParams(limit=200, cursor=cursor), unread_only=True
                )
                for notification in page:
                    if notification.created_at < cutoff:
                        read_at = notification.created_at + timedelta(minutes=47)
                        await notification_service.mark_read(
                            self.session, principal, notification.id, read_at
                        )
                if cursor is None:
                    break

    # --- synthetic photos, drawn in worker threads ahead of their uploads -------------------

    def _draw_photos(self, plans: list[_Planned], audits: list[_AuditPlan]) -> None:
        """Start drawing every photo, in upload order, on as many threads as there are cores:
        the drawing overlaps the services' database work, and each upload waits for its own.
        The re-sent old photo is drawn from the earlier visit's spec: the same bytes."""
        limiter = anyio.CapacityLimiter(os.cpu_count() or 2)
        uploads: list[tuple[datetime, tuple[uuid.UUID, str], PhotoSpec]] = []
        for plan in plans:
            for kind in plan.photo_seeds:
                source = (
                    plan.duplicate_of if kind == PhotoKind.shelf and plan.duplicate_of else plan
                )
                spec = PhotoSpec(
                    kind=kind,
                    seed=source.photo_seeds[kind],
                    store_name=source.store.name,
                    customer_type=source.store.customer_type,
                    captured_local=source.photo_time(kind).astimezone(self.zone),
                )
                uploads.append((plan.photo_at(kind), (plan.id, kind), spec))
        for audit in audits:
            uploads += self._audit_drawings(audit)
        uploads.sort(key=lambda upload: upload[0])
        for _, key, spec in uploads:
            self.drawings[key] = asyncio.ensure_future(
                anyio.to_thread.run_sync(draw_photo, spec, self.font, limiter=limiter)
            )

    def _audit_drawings(
        self, audit: _AuditPlan
    ) -> Iterator[tuple[datetime, tuple[uuid.UUID, str], "PhotoSpec"]]:
        """The audit's item photos and its fixes' after photos (each from its own seed: a fix
        is a new photo of the same spot, not the before photo again)."""
        store = audit.store

        def spec(item_key: str, seed: int, taken_at: datetime) -> PhotoSpec:
            return PhotoSpec(
                kind=_ITEM_PHOTO_KIND.get(item_key, PhotoKind.shelf),
                seed=seed,
                store_name=store.name,
                customer_type=store.customer_type,
                captured_local=taken_at.astimezone(self.zone),
            )

        for key, (seed, taken_at) in audit.photos.items():
            yield taken_at + _UPLOAD_DELAY, (audit.id, key), spec(key, seed, taken_at)
        for fix in audit.fixes:
            taken_at = fix.photo_at - _UPLOAD_DELAY
            yield fix.photo_at, (fix.rect_id, "after"), spec(fix.item_key, fix.seed, taken_at)


def _moved(lat: float, lng: float, metres: float, bearing: float) -> tuple[float, float]:
    """A point ``metres`` away from (lat, lng) in the direction ``bearing`` (radians)."""
    dlat = metres * math.cos(bearing) / 111_195.0
    dlng = metres * math.sin(bearing) / (111_195.0 * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lng + dlng, 6)


# --- answers -------------------------------------------------------------------------------------

_OTC = (
    "布洛芬缓释胶囊 0.3g×20粒",
    "复方感冒灵颗粒 10g×9袋",
    "维生素C泡腾片 1g×10片",
    "板蓝根颗粒 10g×20袋",
    "氯雷他定片 10mg×6片",
    "蒙脱石散 3g×10袋",
    "小儿氨酚黄那敏颗粒 6袋",
)
_SKUS = ("原味苏打饼干 400g", "燕麦牛奶 250ml×12", "低糖酸奶 200g", "海苔脆 40g", "坚果礼盒 750g")
_EQUIPMENT = (
    "超声洁牙机 UDS-E",
    "牙科综合治疗台 A6",
    "雾化器 NE-C28",
    "电子血压计 U12",
    "消毒柜 RTP-100",
)
_NOTES = (
    "店长说下个月会调整货架，约好届时再来看位置",
    "客流比上周多，店员反馈我司新品咨询的人变多",
    "隔壁新开了一家同类门店，需要关注",
    "",
)


def _clinic_kind(store: Store) -> str:
    for word, kind in (
        ("口腔", "dental"),
        ("中医", "tcm"),
        ("儿科", "pediatric"),
        ("社区", "community"),
    ):
        if word in store.name:
            return kind
    return "general"


def _store_format(store: Store) -> str:
    if any(b in store.name for b in ("世纪联华", "华润万家", "永辉超市")):
        return "hypermarket"
    return "community" if "盒马" in store.name else "supermarket"


_Gen = Callable[[random.Random, Store, date], Any]

_KNOWN: dict[str, _Gen] = {
    # pharmacy
    "store_kind": lambda r, s, d: r.choice(("chain", "chain", "independent", "hospital_side")),
    "medical_insurance": lambda r, s, d: r.random() < 0.7,
    "otc_out_of_stock": lambda r, s, d: r.sample(_OTC, r.choice((0, 1, 2, 3))),
    "our_skus_on_shelf": lambda r, s, d: r.randint(3, 28),
    "competitor_promotions": lambda r, s, d: (
        ["none"]
        if r.random() < 0.4
        else r.sample(["buy_gift", "price_cut", "bundle", "staff_incentive"], r.randint(1, 2))
    ),
    "competitor_promotion_details": lambda r, s, d: r.choice(
        (
            "某品牌感冒药买二送一，到月底",
            "竞品维C 直降 5 元，周末两天",
            "竞品给店员每盒 2 元推荐奖励",
        )
    ),
    "monthly_boxes": lambda r, s, d: r.randrange(20, 400, 10),
    # clinic
    "clinic_kind": lambda r, s, d: _clinic_kind(s),
    "daily_patients": lambda r, s, d: r.randrange(20, 200, 5),
    "decision_maker_contact": lambda r, s, d: r.choice(
        ("王院长", "李主任（采购）", "陈护士长", "周医生（院长）")
    ),
    "equipment_in_use": lambda r, s, d: [
        {
            "model": m,
            "quantity": r.randint(1, 4),
            "purchase_year": r.randint(2015, 2024),
            "under_warranty": r.random() < 0.4,
        }
        for m in r.sample(_EQUIPMENT, r.randint(1, 3))
    ],
    "current_supplier": lambda r, s, d: r.choice(("华东医疗器械", "浙江康瑞", "本地经销商")),
    "budget_amount": lambda r, s, d: float(r.choice((3, 5, 8, 12, 20))),
    # supermarket
    "store_format": lambda r, s, d: _store_format(s),
    "shelf_share": lambda r, s, d: round(r.uniform(4, 32), 1),
    "facings": lambda r, s, d: [
        {"sku": k, "facings": r.randint(1, 8)} for k in r.sample(_SKUS, r.randint(2, 4))
    ],
    "out_of_stock_skus": lambda r, s, d: r.sample(_SKUS, r.choice((0, 0, 1, 2))),
    "price_tags_correct": lambda r, s, d: r.random() < 0.8,
    "price_tag_issues": lambda r, s, d: [f"{r.choice(_SKUS)}：价签未更新促销价"],
    "promotion_running": lambda r, s, d: r.random() < 0.5,
    "promotion_ends_on": lambda r, s, d: (d + timedelta(days=r.randint(5, 20))).isoformat(),
    "competitor_activity": lambda r, s, d: r.sample(
        ["price_war", "new_launch", "extra_display", "promoter"], r.randint(0, 2)
    ),
    # everywhere
    "notes": lambda r, s, d: r.choice(_NOTES),
}


def demo_answers(rng: random.Random, store: Store, form: FormVersion, on: date) -> dict[str, Any]:
    """Plausible, varied answers to ``form`` for a visit at ``store`` on the local day ``on``
    (visible fields only)."""
    answers: dict[str, Any] = {}
    for spec in form.definition.fields:
        if spec.visible_if is not None and not _shown(spec, answers):
            continue
        if not spec.required and rng.random() < 0.15:
            continue
        known = _KNOWN.get(spec.key)
        value = known(rng, store, on) if known is not None else _any_answer(rng, spec, on)
        if value in ("", [], None) and not spec.required:
            continue
        answers[spec.key] = value
    return answers


def _shown(spec: FieldDefinition, answers: dict[str, Any]) -> bool:
    condition = spec.visible_if
    if condition is None:
        return True
    value = answers.get(condition.field)
    expected = condition.expected()
    if isinstance(value, list):
        return any(v in expected for v in value)
    return value is not None and any(
        isinstance(value, bool) == isinstance(e, bool) and value == e for e in expected
    )


def _any_answer(rng: random.Random, spec: Any, on: date) -> Any:
    """A valid answer for a field (or table column) the demo has no special words for."""
    kind = spec.type
    low = spec.min if spec.min is not None else 0
    high = spec.max if spec.max is not None else low + 100
    options = [o.value for o in spec.options or []]
    if kind in ("text", "textarea"):
        return "情况正常"
    if kind == "integer":
        return rng.randint(math.ceil(low), math.floor(high))
    if kind == "number":
        return round(rng.uniform(float(low), float(high)), 1)
    if kind == "boolean":
        return rng.random() < 0.6
    if kind == "choice":
        return rng.choice(options)
    if kind == "multi_choice":
        return rng.sample(options, rng.randint(1, min(2, len(options))))
    if kind == "date":
        return (on + timedelta(days=rng.randint(3, 30))).isoformat()
    if kind == "string_list":
        return ["暂无"]
    if kind == "table":
        return [{c.key: _any_answer(rng, c, on) for c in spec.columns or []}]
    raise ValueError(f"unknown field type {kind}")


# --- synthetic photos ----------------------------------------------------------------------------
#
# Small (800x600) drawings a phone could plausibly have taken: the shop front with its sign, a
# shelf of coloured product boxes, two people talking at a counter. Each is drawn on a larger
# canvas and cropped at a random framing, so two photos of the same store differ like two real
# ones do (and are not near-duplicates by perceptual hash).

PHOTO_SIZE = (800, 600)
_CANVAS = (960, 720)

_BRAND_COLOURS = (
    (204, 40, 48),
    (28, 96, 176),
    (240, 170, 30),
    (30, 140, 80),
    (120, 60, 150),
    (230, 110, 40),
    (20, 150, 170),
    (250, 250, 245),
    (180, 30, 90),
)
_SKIN = ((241, 205, 175), (224, 184, 150), (198, 150, 115))


@dataclass(frozen=True)
class PhotoSpec:
    """Everything a synthetic photo is drawn from: the same spec gives the same bytes."""

    kind: PhotoKind
    seed: int
    store_name: str
    customer_type: str
    captured_local: datetime  # aware, in the org's time zone (written to EXIF)


def draw_photo(spec: PhotoSpec, font_path: Path) -> bytes:
    """The JPEG a phone would upload for ``spec`` (with EXIF capture time and camera)."""
    rng = random.Random(spec.seed)
    canvas = Image.new("RGB", _CANVAS)
    if spec.kind == PhotoKind.storefront:
        _draw_storefront(canvas, rng, spec.store_name, spec.customer_type, font_path)
    elif spec.kind == PhotoKind.shelf:
        _draw_shelf(canvas, rng, font_path)
    else:
        _draw_conversation(canvas, rng)
    image = _frame(canvas, rng)
    exif = Image.Exif()
    exif[0x010F] = rng.choice(("Xiaomi", "HUAWEI", "OPPO", "vivo", "Apple"))
    exif[0x0110] = rng.choice(("Redmi Note 12", "nova 11", "Reno10", "Y78", "iPhone 13"))
    exif_ifd = exif.get_ifd(0x8769)
    exif_ifd[0x9003] = spec.captured_local.strftime("%Y:%m:%d %H:%M:%S")
    offset = spec.captured_local.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    exif_ifd[0x9011] = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88, exif=exif)
    return out.getvalue()


def _frame(canvas: Image.Image, rng: random.Random) -> Image.Image:
    """A random framing of the scene (zoom, shift, a slight tilt, the light of the moment).

    The tilt about the canvas centre, the crop and the zoom are one affine resampling (from
    each photo pixel back to the canvas): one pass instead of a rotation, a crop and a resize.
    """
    scale = rng.uniform(0.72, 0.98)
    w, h = round(_CANVAS[0] * scale), round(_CANVAS[1] * scale)
    x = rng.randint(0, _CANVAS[0] - w)
    y = rng.randint(0, _CANVAS[1] - h)
    tilt = math.radians(rng.uniform(-3.0, 3.0))
    cos, sin = math.cos(tilt), math.sin(tilt)
    cx, cy = _CANVAS[0] / 2, _CANVAS[1] / 2
    sx, sy = w / PHOTO_SIZE[0], h / PHOTO_SIZE[1]
    # The point (x + sx*u, y + sy*v) of the tilted canvas is the canvas point R(-tilt) about the
    # centre of it, as ``Image.rotate`` samples.
    dx, dy = x - cx, y - cy
    matrix = (
        cos * sx,
        -sin * sy,
        cos * dx - sin * dy + cx,
        sin * sx,
        cos * sy,
        sin * dx + cos * dy + cy,
    )
    image = canvas.transform(
        PHOTO_SIZE, Image.Transform.AFFINE, matrix, resample=Image.Resampling.BILINEAR
    )
    light = rng.uniform(0.85, 1.12)
    return image.point(lambda v: min(255, round(v * light)))


def _font(font_path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path), size, index=0)


def _shade(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    r, g, b = (max(0, min(255, round(c * factor))) for c in colour)
    return (r, g, b)


def _gradient(
    draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], top: Any, bottom: Any
) -> None:
    x0, y0, x1, y1 = box
    for y in range(y0, y1):
        t = (y - y0) / max(1, y1 - y0 - 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.line([(x0, y), (x1, y)], fill=colour)


def _draw_storefront(
    canvas: Image.Image, rng: random.Random, name: str, customer_type: str, font_path: Path
) -> None:
    draw = ImageDraw.Draw(canvas)
    width, height = canvas.size
    sky = rng.choice((((120, 170, 225), (205, 225, 245)), ((170, 180, 190), (220, 222, 225))))
    _gradient(draw, (0, 0, width, height), sky[0], sky[1])
    # The building, with upper-floor windows.
    wall = rng.choice(((214, 200, 180), (190, 190, 196), (226, 214, 196), (170, 150, 140)))
    top = rng.randint(20, 140)
    draw.rectangle((0, top, width, height), fill=wall)
    cols = rng.randint(4, 7)
    for c in range(cols):
        wx = 30 + c * (width - 60) // cols
        for row_y in range(top + 20, 190, 80):
            draw.rectangle((wx, row_y, wx + 60, row_y + 45), fill=(120, 150, 170), outline=wall)
    # The sign board with the store's name.
    sign_colour = {
        "pharmacy": (25, 135, 75),
        "clinic": (245, 245, 245),
        "supermarket": rng.choice(((200, 30, 40), (235, 120, 20))),
    }.get(customer_type, (40, 90, 160))
    text_colour = (210, 30, 40) if customer_type == "clinic" else (255, 255, 255)
    sign_top = rng.randint(200, 250)
    sign_h = rng.randint(80, 105)
    draw.rectangle((20, sign_top, width - 20, sign_top + sign_h), fill=sign_colour)
    draw.rectangle((20, sign_top + sign_h, width - 20, sign_top + sign_h + 8), fill=(70, 70, 75))
    icon = sign_top + sign_h // 2
    cross = (210, 30, 40) if customer_type == "clinic" else (255, 255, 255)
    if customer_type in ("pharmacy", "clinic"):
        draw.rectangle((55, icon - 28, 75, icon + 28), fill=cross)
        draw.rectangle((37, icon - 10, 93, icon + 10), fill=cross)
    else:
        draw.ellipse((36, icon - 28, 92, icon + 28), outline=(255, 255, 255), width=6)
    size = sign_h - 34
    font = _font(font_path, size)
    while font.getlength(name) > width - 160 and size > 14:
        size -= 2
        font = _font(font_path, size)
    draw.text((115, icon), name, font=font, fill=text_colour, anchor="lm")
    # The glass front, its door and what can be seen inside.
    glass_top = sign_top + sign_h + 8
    ground = height - rng.randint(70, 110)
    draw.rectangle((20, glass_top, width - 20, ground), fill=(150, 185, 200))
    for _ in range(rng.randint(10, 22)):
        bx = rng.randint(30, width - 80)
        by = rng.randint(glass_top + 30, ground - 60)
        colour = _shade(rng.choice(_BRAND_COLOURS), 0.8)
        draw.rectangle((bx, by, bx + rng.randint(20, 60), by + rng.randint(20, 50)), fill=colour)
    door = rng.randint(width // 3, 2 * width // 3)
    draw.rectangle((door - 70, glass_top + 15, door + 70, ground), fill=(110, 140, 155))
    draw.line([(door, glass_top + 15), (door, ground)], fill=(60, 60, 65), width=4)
    for x in range(20, width - 19, rng.randint(150, 230)):
        draw.line([(x, glass_top), (x, ground)], fill=(80, 80, 85), width=6)
    # The pavement, a tree and a parked e-bike now and then.
    draw.rectangle((0, ground, width, height), fill=rng.choice(((150, 150, 150), (175, 170, 160))))
    for x in range(0, width, 60):
        draw.line([(x, ground), (x - 40, height)], fill=(130, 130, 130), width=2)
    if rng.random() < 0.6:
        tx = rng.choice((rng.randint(40, 200), rng.randint(width - 200, width - 40)))
        draw.rectangle((tx - 8, ground - 160, tx + 8, ground + 20), fill=(100, 70, 40))
        r = rng.randint(60, 90)
        draw.ellipse((tx - r, ground - 160 - r, tx + r, ground - 160 + r), fill=(60, 130, 60))
    if rng.random() < 0.5:
        bx = rng.randint(100, width - 200)
        draw.ellipse((bx, ground + 10, bx + 50, ground + 60), outline=(30, 30, 30), width=6)
        draw.ellipse((bx + 90, ground + 10, bx + 140, ground + 60), outline=(30, 30, 30), width=6)
        draw.line([(bx + 25, ground + 35), (bx + 115, ground + 35)], fill=(30, 30, 30), width=8)


def _draw_shelf(canvas: Image.Image, rng: random.Random, font_path: Path) -> None:
    draw = ImageDraw.Draw(canvas)
    width, height = canvas.size
    draw.rectangle((0, 0, width, height), fill=rng.choice(((235, 235, 230), (225, 232, 238))))
    rows = rng.randint(4, 5)
    row_h = height // rows
    brands = rng.sample(_BRAND_COLOURS, 5)
    small = _font(font_path, 14)
    for r in range(rows):
        base = (r + 1) * row_h - 14
        draw.rectangle((0, base, width, base + 14), fill=(120, 120, 125))
        x = rng.randint(0, 20)
        while x < width - 30:
            if rng.random() < 0.08:  # an empty facing: out of stock
                x += rng.randint(40, 90)
                continue
            brand = rng.choice(brands)
            w, h = rng.randint(34, 70), rng.randint(int(row_h * 0.45), int(row_h * 0.85))
            draw.rectangle((x, base - h, x + w, base), fill=brand, outline=_shade(brand, 0.6))
            band = base - h + h // 3
            draw.rectangle((x + 3, band, x + w - 3, band + 12), fill=(250, 250, 250))
            x += w + rng.randint(1, 6)
        for tag_x in range(rng.randint(10, 40), width - 40, rng.randint(90, 140)):
            draw.rectangle((tag_x, base + 2, tag_x + 36, base + 13), fill=(250, 220, 60))
            draw.text((tag_x + 2, base + 1), f"¥{rng.randint(9, 89)}", font=small, fill=(0, 0, 0))


def _draw_person(
    draw: ImageDraw.ImageDraw, x: int, ground: int, height: int, coat: Any, skin: Any
) -> None:
    head = height // 7
    top = ground - height
    draw.rounded_rectangle(
        (x - head, top + 2 * head, x + head, ground), radius=head // 2, fill=coat
    )
    draw.ellipse(
        (x - head // 2 - 6, top + head - 6, x + head // 2 + 6, top + 2 * head + 8), fill=skin
    )
    draw.pieslice(
        (x - head // 2 - 8, top + head - 10, x + head // 2 + 8, top + 2 * head),
        180,
        360,
        fill=(40, 30, 25),
    )


def _draw_conversation(canvas: Image.Image, rng: random.Random) -> None:
    width, height = canvas.size
    back = Image.new("RGB", canvas.size, rng.choice(((232, 226, 214), (220, 230, 225))))
    bdraw = ImageDraw.Draw(back)
    for _ in range(rng.randint(25, 45)):  # shelves behind, out of focus
        bx, by = rng.randint(0, width), rng.randint(40, height // 2)
        colour = rng.choice(_BRAND_COLOURS)
        bdraw.rectangle((bx, by, bx + rng.randint(20, 50), by + rng.randint(30, 60)), fill=colour)
    # Out of focus: blurred at half size (a quarter of the work), then brought back up.
    half = back.reduce(2).filter(ImageFilter.GaussianBlur(3))
    canvas.paste(half.resize(canvas.size, Image.Resampling.BILINEAR))
    draw = ImageDraw.Draw(canvas)
    floor = height - rng.randint(60, 120)
    draw.rectangle((0, floor, width, height), fill=(180, 170, 155))
    left = rng.randint(200, 340)
    right = left + rng.randint(300, 400)
    staff_coat = rng.choice(((250, 250, 250), (235, 90, 60), (60, 120, 190)))
    _draw_person(draw, right, floor - 40, rng.randint(380, 460), staff_coat, rng.choice(_SKIN))
    counter_top = floor - rng.randint(170, 220)
    draw.rectangle((left + 80, counter_top, width, floor), fill=(150, 110, 80))
    draw.rectangle((left + 80, counter_top, width, counter_top + 14), fill=(110, 80, 60))
    _draw_person(draw, left, floor + 20, rng.randint(420, 500), (35, 45, 70), rng.choice(_SKIN))
    # The rep's folder of product leaflets on the counter.
    fx = rng.randint(left + 120, right - 160)
    draw.rectangle(
        (fx, counter_top - 10, fx + 120, counter_top + 2), fill=rng.choice(_BRAND_COLOURS)
    )


# --- deterministic store data ------------------------------------------------------------------

# (district, centre lat, centre lng, streets) — real Hangzhou districts and streets.
_DISTRICTS: tuple[tuple[str, float, float, tuple[str, ...]], ...] = (
    ("西湖区", 30.2780, 120.1300, ("文三路", "文二路", "教工路", "学院路", "天目山路", "古墩路")),
    ("上城区", 30.2520, 120.1720, ("解放路", "延安路", "中山中路", "庆春路", "清泰街", "江城路")),
    ("拱墅区", 30.3150, 120.1480, ("莫干山路", "湖墅南路", "大关路", "上塘路", "丽水路")),
    ("滨江区", 30.2080, 120.2100, ("江南大道", "滨盛路", "长河路", "江虹路", "西兴路")),
)

_PHARMACY_BRANDS = (
    "老百姓大药房",
    "益丰大药房",
    "海王星辰",
    "九洲大药房",
    "华东大药房",
    "张同泰",
    "方回春堂",
    "胡庆余堂",
)
_SUPERMARKET_BRANDS = (
    "联华超市",
    "世纪联华",
    "物美超市",
    "华润万家",
    "永辉超市",
    "盒马鲜生",
    "农工商超市",
)
_CLINIC_PATTERNS = (
    "{street}社区卫生服务站",
    "{surname}氏口腔诊所",
    "{surname}氏中医诊所",
    "{street}仁和门诊部",
    "康桥综合诊所（{street}）",
    "惠民诊所（{street}）",
    "{surname}医生儿科诊所",
)
_SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "黄", "周", "吴", "徐", "孙", "朱")

# (customer type key, code prefix, how many, geofence radius or None for the default)
_MIX: tuple[tuple[str, str, int, int | None], ...] = (
    ("pharmacy", "P", 24, None),
    ("clinic", "C", 16, 100),
    ("supermarket", "S", 20, 250),
)


def demo_stores(team_id: uuid.UUID | None, seed: int = DEMO_SEED) -> list[StoreCreate]:
    """~60 stores around Hangzhou, the same on every run for the same seed."""
    rng = random.Random(seed)
    names: set[str] = set()
    stores: list[StoreCreate] = []
    for customer_type, prefix, count, radius in _MIX:
        for n in range(1, count + 1):
            district, lat0, lng0, streets = rng.choice(_DISTRICTS)
            street = rng.choice(streets)
            name = _store_name(rng, customer_type, street)
            while name in names:
                street = rng.choice(streets)
                name = _store_name(rng, customer_type, street)
            names.add(name)
            number = rng.randint(1, 399)
            stores.append(
                StoreCreate(
                    code=f"HZ-{prefix}-{n:03d}",
                    name=name,
                    address=f"浙江省杭州市{district}{street} {number} 号",
                    lat=round(lat0 + rng.uniform(-0.018, 0.018), 6),
                    lng=round(lng0 + rng.uniform(-0.022, 0.022), 6),
                    geofence_radius_m=radius,
                    customer_type=customer_type,
                    team_id=team_id,
                )
            )
    return stores


def _store_name(rng: random.Random, customer_type: str, street: str) -> str:
    if customer_type == "pharmacy":
        return f"{rng.choice(_PHARMACY_BRANDS)}（{street}店）"
    if customer_type == "supermarket":
        return f"{rng.choice(_SUPERMARKET_BRANDS)}（{street}店）"
    pattern = rng.choice(_CLINIC_PATTERNS)
    return pattern.format(street=street, surname=rng.choice(_SURNAMES))
