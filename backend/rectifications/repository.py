"""SQL of the rectifications domain, every statement scoped by the organization.

Who sees a rectification: a rep the ones assigned to them; a supervisor those at the stores of
the teams they lead, those assigned to the reps they lead, and those they raised themselves; an
admin the org's (``kit.scoping.visible_to`` for reps and admins, the supervisor's three-way rule
here). Lists page with the shared keyset paginator on (due_at, id). The jobs claim rows with
``FOR UPDATE SKIP LOCKED``.
"""

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kit.pagination import Keyset, PageParams, keyset_page
from backend.kit.scoping import Caller, visible_to
from backend.models import OWED, Rectification, RectificationChange
from backend.models.user import Role
from backend.rectifications import rules
from backend.rectifications.schemas import RectificationFilters
from backend.stores import service as store_service
from backend.teams import service as team_service

# Soonest due first.
DUE_ORDER = Keyset(Rectification.due_at, Rectification.id)


def _supervisor_sees(org_id: uuid.UUID, supervisor_id: uuid.UUID) -> ColumnElement[bool]:
    led_stores = store_service.store_ids_in_teams(
        org_id, team_service.led_team_ids(org_id, supervisor_id)
    )
    return or_(
        Rectification.store_id.in_(led_stores),
        Rectification.assignee_id.in_(team_service.supervised_rep_ids(org_id, supervisor_id)),
        Rectification.raised_by_id == supervisor_id,
    )


def visible(caller: Caller) -> Select[Rectification]:
    """Rectifications the caller may see (see the module docstring)."""
    if caller.role == Role.supervisor:
        return select(Rectification).where(
            Rectification.org_id == caller.org_id,
            _supervisor_sees(caller.org_id, caller.user_id),
        )
    return visible_to(
        select(Rectification),
        caller,
        org_id=Rectification.org_id,
        owner=Rectification.assignee_id,
        supervised=team_service.supervised_rep_ids,
    )


async def visible_by_id(
    session: AsyncSession, caller: Caller, rectification_id: uuid.UUID, *, lock: bool = False
) -> Rectification | None:
    stmt = visible(caller).where(Rectification.id == rectification_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(stmt)


async def visible_page(
    session: AsyncSession,
    caller: Caller,
    filters: RectificationFilters,
    page: PageParams,
    now: datetime,
) -> tuple[list[Rectification], str | None]:
    """A page of the visible rectifications that pass ``filters`` (overdue counted at ``now``)."""
    stmt = visible(caller).where(*_filter_conditions(caller, filters, now))
    return await keyset_page(session, stmt, DUE_ORDER, page)


def _filter_conditions(
    caller: Caller, filters: RectificationFilters, now: datetime
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.assignee is not None:
        assignee = caller.user_id if filters.assignee == "me" else filters.assignee
        conditions.append(Rectification.assignee_id == assignee)
    if filters.status is not None:
        conditions.append(Rectification.status == filters.status)
    if filters.overdue is True:
        conditions += [Rectification.status.in_(OWED), Rectification.due_at < now]
    elif filters.overdue is False:
        conditions.append(or_(Rectification.status.not_in(OWED), Rectification.due_at >= now))
    if filters.store_id is not None:
        conditions.append(Rectification.store_id == filters.store_id)
    return conditions


async def insert_if_absent(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert rectifications; the ids of those that did not exist yet (a replayed audit submit
    inserts nothing)."""
    if not rows:
        return set()
    inserted = await session.scalars(
        insert(Rectification)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["org_id", "audit_id", "item_key"])
        .returning(Rectification.id)
    )
    return set(inserted)


async def by_ids(
    session: AsyncSession, org_id: uuid.UUID, ids: Collection[uuid.UUID]
) -> list[Rectification]:
    if not ids:
        return []
    rows = await session.scalars(
        select(Rectification)
        .where(Rectification.org_id == org_id, Rectification.id.in_(list(ids)))
        .order_by(*DUE_ORDER.order())
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def of_audits(
    session: AsyncSession, org_id: uuid.UUID, audit_ids: Collection[uuid.UUID]
) -> Sequence[Rectification]:
    if not audit_ids:
        return []
    rows = await session.scalars(
        select(Rectification)
        .where(Rectification.org_id == org_id, Rectification.audit_id.in_(list(audit_ids)))
        .order_by(Rectification.audit_id, Rectification.item_key)
    )
    return rows.all()


def _owed_at_store(org_id: uuid.UUID, store_id: uuid.UUID) -> list[ColumnElement[bool]]:
    return [
        Rectification.org_id == org_id,
        Rectification.store_id == store_id,
        Rectification.status.in_(OWED),
    ]


async def owed_at_store(
    session: AsyncSession, org_id: uuid.UUID, store_id: uuid.UUID
) -> Sequence[Rectification]:
    rows = await session.scalars(
        select(Rectification).where(*_owed_at_store(org_id, store_id)).order_by(*DUE_ORDER.order())
    )
    return rows.all()


async def count_owed_at_store(session: AsyncSession, org_id: uuid.UUID, store_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count()).select_from(Rectification).where(*_owed_at_store(org_id, store_id))
    )
    return int(count or 0)


async def of_visit(
    session: AsyncSession, org_id: uuid.UUID, visit_id: uuid.UUID
) -> Sequence[Rectification]:
    rows = await session.scalars(
        select(Rectification)
        .where(Rectification.org_id == org_id, Rectification.visit_id == visit_id)
        .order_by(*DUE_ORDER.order())
    )
    return rows.all()


# --- history ------------------------------------------------------------------------------------


def add_change(
    session: AsyncSession,
    rectification: Rectification,
    *,
    by_user_id: uuid.UUID | None,
    reason: str | None,
    at: datetime,
) -> RectificationChange:
    """A history row for the rectification's current status (written with the next flush)."""
    change = RectificationChange(
        org_id=rectification.org_id,
        rectification_id=rectification.id,
        status=rectification.status.value,
        at=at,
        by_user_id=by_user_id,
        reason=reason,
    )
    session.add(change)
    return change


def _oldest_first() -> tuple[ColumnElement[Any], ...]:
    # Each step is its own request at its own time; the id only makes the order total.
    return (RectificationChange.at.asc(), RectificationChange.id.asc())


async def changes_of(
    session: AsyncSession, org_id: uuid.UUID, ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[RectificationChange]]:
    """Each rectification's history, oldest first (one query)."""
    out: dict[uuid.UUID, list[RectificationChange]] = {i: [] for i in ids}
    if not out:
        return out
    rows = await session.scalars(
        select(RectificationChange)
        .where(
            RectificationChange.org_id == org_id,
            RectificationChange.rectification_id.in_(list(out)),
        )
        .order_by(*_oldest_first())
    )
    for change in rows:
        out[change.rectification_id].append(change)
    return out


async def last_change(
    session: AsyncSession, org_id: uuid.UUID, rectification_id: uuid.UUID
) -> RectificationChange | None:
    return await session.scalar(
        select(RectificationChange)
        .where(
            RectificationChange.org_id == org_id,
            RectificationChange.rectification_id == rectification_id,
        )
        .order_by(RectificationChange.at.desc(), RectificationChange.id.desc())
        .limit(1)
    )


# --- the jobs' claims ---------------------------------------------------------------------------


async def claim_entering_last_day(
    session: AsyncSession, now: datetime, batch: int, org_id: uuid.UUID | None = None
) -> Sequence[Rectification]:
    """Owed tasks not yet reminded the day before, due within ``rules.DAY_BEFORE`` of now."""
    return await _claim_owed(
        session,
        batch,
        org_id,
        Rectification.reminded_24h_at.is_(None),
        Rectification.due_at > now,
        Rectification.due_at <= rules.day_before_cutoff(now),
    )


async def claim_due(
    session: AsyncSession, now: datetime, batch: int, org_id: uuid.UUID | None = None
) -> Sequence[Rectification]:
    """Owed tasks whose time has come and who got no "due now" reminder yet."""
    return await _claim_owed(
        session,
        batch,
        org_id,
        Rectification.reminded_due_at.is_(None),
        Rectification.due_at <= now,
    )


async def claim_overdue(
    session: AsyncSession, now: datetime, batch: int, org_id: uuid.UUID | None = None
) -> Sequence[Rectification]:
    """Owed tasks past the escalation cutoff, not escalated yet."""
    return await _claim_owed(
        session,
        batch,
        org_id,
        Rectification.escalated_at.is_(None),
        Rectification.due_at < rules.escalation_cutoff(now),
    )


async def _claim_owed(
    session: AsyncSession,
    batch: int,
    org_id: uuid.UUID | None,
    *conditions: ColumnElement[bool],
) -> Sequence[Rectification]:
    # SKIP LOCKED: a replica running the same job at the same moment takes other rows; a row it
    # reads after this transaction commits no longer matches (its stamp is set). Every org's
    # rows, or ``org_id``'s only (the demo seed's simulated ticks).
    in_org = () if org_id is None else (Rectification.org_id == org_id,)
    rows = await session.scalars(
        select(Rectification)
        .where(Rectification.status.in_(OWED), *conditions, *in_org)
        .order_by(Rectification.due_at, Rectification.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    return rows.all()
