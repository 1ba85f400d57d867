"""The visits domain's SQL: every statement on ``visits`` and ``visit_reviews``.

Session statements start from :func:`visible` (the org-and-role rule of ``kit.scoping``) or
name the organization, and lists page with the one keyset paginator (``kit.pagination``).

The check-in is the field app's hot path (docs/architecture.md, "The check-in hot path"): its
statements run on a plain asyncpg connection, two per first-time check-in, and answer with
frozen, typed facts (:class:`CheckInContext`, :class:`Recorded`), never records or half-filled
ORM objects.
"""

import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal, UserAccess
from backend.db import SqlConnection
from backend.events.catalog import VisitCheckedIn, event_row
from backend.kit.pagination import Keyset, PageParams, keyset_page
from backend.kit.scoping import visible_to
from backend.models import User, Visit, VisitReview, VisitStatus
from backend.models.user import Role
from backend.presence.rules import DoorStore, OrgKeys, PreviousCheckIn
from backend.teams import service as team_service
from backend.visits.exceptions import OpenVisitStore
from backend.visits.schemas import VisitFilters

# --- the check-in (plain asyncpg) ---------------------------------------------------------------

# $1 visit id, $2 org, $3 rep, $4 the check-in's fingerprint. `replay` is NULL when the id is
# new, true for the same check-in again, false for another check-in or another rep's visit.
# `open_visit` is the rep's open visit as text [visit id, store id, store name] (the partial
# unique index finds it; its store by primary key), or NULL.
_REPLAY = """
    (SELECT v.org_id = $2 AND v.rep_id = $3 AND v.check_in_fingerprint = $4
       FROM visits v WHERE v.id = $1) AS replay,
    (SELECT ARRAY[v.id::text, o.id::text, o.name] FROM visits v
       JOIN stores o ON o.org_id = v.org_id AND o.id = v.store_id
      WHERE v.org_id = $2 AND v.rep_id = $3 AND v.status = 'open') AS open_visit
"""

REPLAY_SQL = f"SELECT {_REPLAY}"

# ... and $5 the code's store, $6 the corrected check-in time, $7..$8 that local day. One row
# for the rep; the store, its org and its current form are NULL when the code names no store
# of the rep's org. It reads `stores`, `organizations`, `users` and `visit_forms` directly, the
# one place outside their domains that does (docs/architecture.md): the QR rule stays the door
# check's and the form the forms service's.
CONTEXT_SQL = f"""
SELECT
    {_REPLAY},
    u.username, u.display_name, u.role, u.is_active, u.access_epoch,
    s.id AS store_id, s.code, s.name, s.address, s.lat, s.lng, s.geofence_radius_m,
    s.customer_type, s.qr_version,
    o.signing_secret, o.signing_key_version,
    f.id AS form_id,
    p.check_in_lat AS previous_lat, p.check_in_lng AS previous_lng,
    p.checked_in_at AS previous_at,
    EXISTS (
        SELECT 1 FROM visits d
         WHERE d.org_id = $2 AND d.rep_id = $3 AND d.store_id = $5
           AND d.checked_in_at >= $7 AND d.checked_in_at < $8
    ) AS same_store_same_day
FROM users u
LEFT JOIN stores s ON s.org_id = u.org_id AND s.id = $5
LEFT JOIN organizations o ON o.id = s.org_id
LEFT JOIN LATERAL (
    SELECT f.id FROM visit_forms f
     WHERE f.org_id = s.org_id AND f.customer_type = s.customer_type
     ORDER BY f.version DESC LIMIT 1
) f ON true
LEFT JOIN LATERAL (
    SELECT p.check_in_lat, p.check_in_lng, p.checked_in_at FROM visits p
     WHERE p.org_id = $2 AND p.rep_id = $3 AND p.checked_in_at <= $6
     ORDER BY p.checked_in_at DESC LIMIT 1
) p ON true
WHERE u.org_id = $2 AND u.id = $3
"""  # noqa: S608 (built from constant fragments only)

# The visit and its event in one statement: both are written or neither. ON CONFLICT covers the
# primary key (a replay racing this one) and the one-open-visit-per-rep index. JSON goes in as
# text, so the statement works whatever jsonb codec the connection has. The event's type,
# subject type and payload ($21..$23) come from the catalog's ``event_row``. The rows are
# stamped with the request's time ($12, server_received_at), taken at the boundary.
INSERT_SQL = """
WITH visit AS (
    INSERT INTO visits (
        id, org_id, store_id, rep_id, status, checked_in_at,
        check_in_lat, check_in_lng, check_in_accuracy_m, check_in_distance_m,
        captured_at, device_time, server_received_at, clock_offset_s, queued_offline,
        check_in_fingerprint, customer_type, form_version, submit_count, trust_score, flags,
        created_at, updated_at
    )
    VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
            0, $18, $19::text::jsonb, $12, $12)
    ON CONFLICT DO NOTHING
    RETURNING id
), event AS (
    INSERT INTO events (id, org_id, type, subject_type, subject_id, actor_id, payload, occurred_at)
    SELECT $20, $2, $21, $22, visit.id, $4, $23::text::jsonb, $12 FROM visit
)
SELECT count(*) FROM visit
"""

# The locked columns that hold what the rep did (the fingerprint covers the same facts).
SAME_AS_STORED_SQL = """
SELECT v.store_id = $4 AND v.check_in_lat = $5 AND v.check_in_lng = $6
       AND v.check_in_accuracy_m = $7 AND v.captured_at = $8
  FROM visits v WHERE v.id = $1 AND v.org_id = $2 AND v.rep_id = $3
"""


@dataclass(frozen=True, slots=True)
class CheckInKey:
    """Which check-in: its id, the rep's org and id, and its fingerprint (what the rep did)."""

    visit_id: uuid.UUID
    org_id: uuid.UUID
    rep_id: uuid.UUID
    fingerprint: bytes


@dataclass(frozen=True, slots=True)
class OpenVisit:
    """The rep's open visit and its store, which a ``visit_already_open`` refusal names."""

    id: uuid.UUID
    store: OpenVisitStore


@dataclass(frozen=True, slots=True)
class Recorded:
    """What is already recorded for a check-in. ``same``: None when its id is new, True for this
    same check-in of the rep's, False for another check-in or another rep's visit under the id;
    ``open_visit``: the rep's open visit, if any."""

    same: bool | None
    open_visit: OpenVisit | None


@dataclass(frozen=True, slots=True)
class RepFacts:
    """The rep as the check-in reads them: their name, and their access now (the per-request
    access check, folded into the check-in's read)."""

    id: uuid.UUID
    username: str
    display_name: str
    access: UserAccess


@dataclass(frozen=True, slots=True)
class CheckInContext:
    """Everything the check-in's rules need, from one read (``CONTEXT_SQL``). ``store`` and
    ``org_keys`` are None when the code names no store of the rep's organization, ``form_id``
    when the store's customer type has no form; ``previous`` is the rep's latest check-in up to
    this one's time and ``same_store_same_day`` whether they were at this store that local day."""

    recorded: Recorded
    rep: RepFacts
    store: DoorStore | None
    org_keys: OrgKeys | None
    form_id: uuid.UUID | None
    previous: PreviousCheckIn | None
    same_store_same_day: bool


def _recorded(replay: bool | None, open_visit: list[str] | None) -> Recorded:
    if open_visit is None:
        return Recorded(replay, None)
    visit_id, store_id, store_name = open_visit
    return Recorded(
        replay, OpenVisit(uuid.UUID(visit_id), OpenVisitStore(uuid.UUID(store_id), store_name))
    )


async def check_in_context(
    connection: SqlConnection,
    key: CheckInKey,
    store_id: uuid.UUID | None,
    checked_in_at: datetime,
    day: tuple[datetime, datetime],
) -> CheckInContext | None:
    """The context of a check-in at ``store_id`` (the code's store) at ``checked_in_at`` (the
    corrected time) in the local ``day`` it falls on; None when the rep's row is gone."""
    row = await connection.fetchrow(
        CONTEXT_SQL,
        key.visit_id,
        key.org_id,
        key.rep_id,
        key.fingerprint,
        store_id,
        checked_in_at,
        *day,
    )
    if row is None:
        return None
    has_store = row["store_id"] is not None
    previous_at = row["previous_at"]
    return CheckInContext(
        recorded=_recorded(row["replay"], row["open_visit"]),
        rep=RepFacts(
            key.rep_id,
            row["username"],
            row["display_name"],
            UserAccess(Role(row["role"]), row["is_active"], row["access_epoch"]),
        ),
        store=DoorStore(
            id=row["store_id"],
            code=row["code"],
            name=row["name"],
            address=row["address"],
            lat=row["lat"],
            lng=row["lng"],
            geofence_radius_m=row["geofence_radius_m"],
            customer_type=row["customer_type"],
            qr_version=row["qr_version"],
        )
        if has_store
        else None,
        org_keys=OrgKeys(key.org_id, row["signing_secret"], row["signing_key_version"])
        if has_store
        else None,
        form_id=row["form_id"],
        previous=PreviousCheckIn(row["previous_lat"], row["previous_lng"], previous_at)
        if previous_at is not None
        else None,
        same_store_same_day=row["same_store_same_day"],
    )


async def recorded(connection: SqlConnection, key: CheckInKey) -> Recorded:
    """What is recorded for the check-in now (read again after losing a race to the indexes)."""
    row = await connection.fetchrow(
        REPLAY_SQL, key.visit_id, key.org_id, key.rep_id, key.fingerprint
    )
    assert row is not None  # a SELECT without FROM always answers one row
    return _recorded(row["replay"], row["open_visit"])


async def same_as_stored(
    connection: SqlConnection,
    key: CheckInKey,
    store_id: uuid.UUID,
    lat: float,
    lng: float,
    accuracy_m: float,
    captured_at: datetime,
) -> bool:
    """Whether the rep's own visit under the key's id locked this store, position and capture
    time (compared column by column, whatever its fingerprint)."""
    return bool(
        await connection.fetchval(
            SAME_AS_STORED_SQL,
            key.visit_id,
            key.org_id,
            key.rep_id,
            store_id,
            lat,
            lng,
            accuracy_m,
            captured_at,
        )
    )


async def insert_check_in(
    connection: SqlConnection, visit: Visit, event: VisitCheckedIn, event_id: uuid.UUID
) -> bool:
    """Insert the new visit with its ``visit.checked_in`` event in one statement; False if a
    unique index refused it (a replay racing this one, or another open visit of the rep's)."""
    inserted = await connection.fetchval(
        INSERT_SQL,
        visit.id,
        visit.org_id,
        visit.store_id,
        visit.rep_id,
        visit.checked_in_at,
        visit.check_in_lat,
        visit.check_in_lng,
        visit.check_in_accuracy_m,
        visit.check_in_distance_m,
        visit.captured_at,
        visit.device_time,
        visit.server_received_at,
        visit.clock_offset_s,
        visit.queued_offline,
        visit.check_in_fingerprint,
        visit.customer_type,
        visit.form_version,
        visit.trust_score,
        json.dumps(visit.flags),
        event_id,
        *event_row(event),
    )
    return bool(inserted)


# --- the session's statements -------------------------------------------------------------------

#: Lists of visits: newest check-in first. The review queue: oldest submission first.
NEWEST_FIRST = Keyset(Visit.checked_in_at, Visit.id, descending=True)
OLDEST_SUBMISSION_FIRST = Keyset(Visit.submitted_at, Visit.id)


def visible(principal: Principal) -> Select[Visit]:
    """Visits the caller may see: a rep their own, a supervisor their teams', an admin all."""
    return visible_to(
        select(Visit),
        principal,
        org_id=Visit.org_id,
        owner=Visit.rep_id,
        supervised=team_service.supervised_rep_ids,
    )


def _flagged(flagged: bool) -> ColumnElement[bool]:
    return Visit.trust_score < 100 if flagged else Visit.trust_score == 100


async def page_visible(
    session: AsyncSession, principal: Principal, filters: VisitFilters, page: PageParams
) -> tuple[list[Visit], str | None]:
    """One page of the caller's visible visits that pass ``filters``, newest first."""
    stmt = visible(principal)
    if filters.status is not None:
        stmt = stmt.where(Visit.status == filters.status)
    if filters.rep_id is not None:
        stmt = stmt.where(Visit.rep_id == filters.rep_id)
    if filters.store_id is not None:
        stmt = stmt.where(Visit.store_id == filters.store_id)
    if filters.from_ is not None:
        stmt = stmt.where(Visit.checked_in_at >= filters.from_)
    if filters.to is not None:
        stmt = stmt.where(Visit.checked_in_at < filters.to)
    if filters.flagged is not None:
        stmt = stmt.where(_flagged(filters.flagged))
    return await keyset_page(session, stmt, NEWEST_FIRST, page)


async def page_submitted(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    flagged: bool | None,
    rep_id: uuid.UUID | None,
) -> tuple[list[Visit], str | None]:
    """One page of the submitted visits the caller may see, oldest submission first."""
    stmt = visible(principal).where(Visit.status == VisitStatus.submitted)
    if rep_id is not None:
        stmt = stmt.where(Visit.rep_id == rep_id)
    if flagged is not None:
        stmt = stmt.where(_flagged(flagged))
    return await keyset_page(session, stmt, OLDEST_SUBMISSION_FIRST, page)


async def at_store(
    session: AsyncSession,
    principal: Principal,
    store_id: uuid.UUID,
    since: datetime,
    limit: int,
) -> Sequence[Visit]:
    """The caller's visible visits at a store since a time, newest first."""
    rows = await session.scalars(
        visible(principal)
        .where(Visit.store_id == store_id, Visit.checked_in_at >= since)
        .order_by(*NEWEST_FIRST.order())
        .limit(limit)
    )
    return rows.all()


async def find_visible(
    session: AsyncSession, principal: Principal, visit_id: uuid.UUID, *, lock: bool = False
) -> Visit | None:
    """The visit if the caller may see it; ``lock``: row-locked until the transaction ends."""
    stmt = visible(principal).where(Visit.id == visit_id)
    return await session.scalar(stmt.with_for_update(of=Visit) if lock else stmt)


async def find_in_org(
    session: AsyncSession, org_id: uuid.UUID, visit_id: uuid.UUID
) -> Visit | None:
    return await session.scalar(select(Visit).where(Visit.org_id == org_id, Visit.id == visit_id))


async def lock_open_of_rep(
    session: AsyncSession, org_id: uuid.UUID, rep_id: uuid.UUID
) -> Visit | None:
    """The rep's open visit (at most one), row-locked."""
    return await session.scalar(
        select(Visit)
        .where(Visit.org_id == org_id, Visit.rep_id == rep_id, Visit.status == VisitStatus.open)
        .with_for_update()
    )


async def claim_stale(
    session: AsyncSession, opened_before: datetime, batch: int, org_id: uuid.UUID | None = None
) -> Sequence[Visit]:
    """Open visits checked in before ``opened_before`` (every org, or ``org_id``'s), oldest
    first, claimed with SKIP LOCKED so replicas running the same job split them."""
    in_org = () if org_id is None else (Visit.org_id == org_id,)
    rows = await session.scalars(
        select(Visit)
        .where(Visit.status == VisitStatus.open, Visit.checked_in_at < opened_before, *in_org)
        .order_by(Visit.checked_in_at)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    return rows.all()


async def reviews_of(
    session: AsyncSession, org_id: uuid.UUID, visit_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[VisitReview]]:
    """Each visit's reviews, oldest first (one query)."""
    out: dict[uuid.UUID, list[VisitReview]] = {v: [] for v in visit_ids}
    if visit_ids:
        rows = await session.scalars(
            select(VisitReview)
            .where(VisitReview.org_id == org_id, VisitReview.visit_id.in_(list(visit_ids)))
            .order_by(VisitReview.at)
        )
        for review in rows:
            out[review.visit_id].append(review)
    return out


async def latest_visitor(
    session: AsyncSession, org_id: uuid.UUID, store_id: uuid.UUID, since: datetime
) -> uuid.UUID | None:
    """The active rep with the store's latest visit since ``since`` (abandoned visits count:
    the rep was there)."""
    return await session.scalar(
        select(Visit.rep_id)
        .join(User, and_(User.id == Visit.rep_id, User.org_id == Visit.org_id))
        .where(
            Visit.org_id == org_id,
            Visit.store_id == store_id,
            Visit.checked_in_at >= since,
            User.is_active.is_(True),
            User.role == Role.rep,
        )
        .order_by(Visit.checked_in_at.desc())
        .limit(1)
    )
