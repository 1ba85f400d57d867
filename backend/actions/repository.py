"""SQL of the next-actions domain.

What a caller sees is ``kit.scoping.visible_to`` on the assignee: a rep their own actions, a
supervisor those of the reps in the teams they lead, an admin the org's. Lists page with the
shared keyset paginator on (due_at, id). The jobs claim rows with ``FOR UPDATE SKIP LOCKED``.
"""

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions import rules
from backend.actions.schemas import NextActionFilters
from backend.kit.pagination import Keyset, PageParams, keyset_page
from backend.kit.scoping import Caller, visible_to
from backend.models import NextAction, NextActionReschedule, NextActionStatus
from backend.teams import service as team_service

# Soonest due first.
DUE_ORDER = Keyset(NextAction.due_at, NextAction.id)


def visible(caller: Caller) -> Select[NextAction]:
    """Actions the caller may see: a rep their own, a supervisor their teams', an admin all."""
    return visible_to(
        select(NextAction),
        caller,
        org_id=NextAction.org_id,
        owner=NextAction.assignee_id,
        supervised=team_service.supervised_rep_ids,
    )


async def visible_by_id(
    session: AsyncSession, caller: Caller, action_id: uuid.UUID, *, lock: bool = False
) -> NextAction | None:
    stmt = visible(caller).where(NextAction.id == action_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(stmt)


async def visible_page(
    session: AsyncSession,
    caller: Caller,
    filters: NextActionFilters,
    page: PageParams,
    now: datetime,
) -> tuple[list[NextAction], str | None]:
    """A page of the visible actions that pass ``filters`` (``overdue`` counted at ``now``)."""
    stmt = visible(caller).where(*_filter_conditions(caller, filters, now))
    return await keyset_page(session, stmt, DUE_ORDER, page)


def _filter_conditions(
    caller: Caller, filters: NextActionFilters, now: datetime
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.assignee is not None:
        assignee = caller.user_id if filters.assignee == "me" else filters.assignee
        conditions.append(NextAction.assignee_id == assignee)
    if filters.status == "open":
        conditions.append(NextAction.status == NextActionStatus.open)
    elif filters.status == "done":
        conditions.append(NextAction.status == NextActionStatus.done)
    elif filters.status == "overdue":
        conditions += [NextAction.status == NextActionStatus.open, NextAction.due_at < now]
    if filters.due_before is not None:
        conditions.append(NextAction.due_at < filters.due_before)
    return conditions


async def by_id_for_update(session: AsyncSession, action_id: uuid.UUID) -> NextAction | None:
    """Any org's action with this id, locked (client-made ids: a replay or a conflict)."""
    return await session.scalar(
        select(NextAction)
        .where(NextAction.id == action_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def of_visit_for_update(
    session: AsyncSession, org_id: uuid.UUID, visit_id: uuid.UUID, *, open_only: bool = False
) -> NextAction | None:
    """The visit's action (only an open one with ``open_only``), locked."""
    stmt = select(NextAction).where(NextAction.org_id == org_id, NextAction.visit_id == visit_id)
    if open_only:
        stmt = stmt.where(NextAction.status == NextActionStatus.open)
    return await session.scalar(stmt.with_for_update())


async def of_visits(
    session: AsyncSession, org_id: uuid.UUID, visit_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, NextAction]:
    """The action of each visit that has one, keyed by visit id (one query)."""
    if not visit_ids:
        return {}
    rows = await session.scalars(
        select(NextAction).where(
            NextAction.org_id == org_id, NextAction.visit_id.in_(list(visit_ids))
        )
    )
    return {action.visit_id: action for action in rows}


async def insert_if_absent(session: AsyncSession, values: dict[str, Any]) -> uuid.UUID | None:
    """Insert a next action; None when its id exists already (a replay racing itself)."""
    return await session.scalar(
        insert(NextAction)
        .values(values)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(NextAction.id)
    )


async def delete_action(session: AsyncSession, org_id: uuid.UUID, action_id: uuid.UUID) -> None:
    await session.execute(
        delete(NextAction).where(NextAction.org_id == org_id, NextAction.id == action_id)
    )


def _reschedules_of(org_id: uuid.UUID, action_id: uuid.UUID) -> Select[NextActionReschedule]:
    return select(NextActionReschedule).where(
        NextActionReschedule.org_id == org_id, NextActionReschedule.action_id == action_id
    )


async def reschedules(
    session: AsyncSession, org_id: uuid.UUID, action_id: uuid.UUID
) -> list[NextActionReschedule]:
    """The action's reschedule history, oldest first."""
    rows = await session.scalars(
        _reschedules_of(org_id, action_id).order_by(
            NextActionReschedule.at, NextActionReschedule.id
        )
    )
    return list(rows)


async def last_reschedule_reason(
    session: AsyncSession, org_id: uuid.UUID, action_id: uuid.UUID
) -> str | None:
    return await session.scalar(
        _reschedules_of(org_id, action_id)
        .with_only_columns(NextActionReschedule.reason)
        .order_by(NextActionReschedule.at.desc(), NextActionReschedule.id.desc())
        .limit(1)
    )


# --- The jobs' claims ---------------------------------------------------------------------------


async def claim_entering_last_day(
    session: AsyncSession, now: datetime, batch: int, org_id: uuid.UUID | None = None
) -> Sequence[NextAction]:
    """Open actions not yet reminded the day before, due within ``rules.DAY_BEFORE`` of now."""
    return await _claim_open(
        session,
        batch,
        org_id,
        NextAction.reminded_24h_at.is_(None),
        NextAction.due_at > now,
        NextAction.due_at <= rules.day_before_cutoff(now),
    )


async def claim_due(
    session: AsyncSession, now: datetime, batch: int, org_id: uuid.UUID | None = None
) -> Sequence[NextAction]:
    """Open actions whose time has come and who got no "due now" reminder yet."""
    return await _claim_open(
        session, batch, org_id, NextAction.reminded_due_at.is_(None), NextAction.due_at <= now
    )


async def claim_overdue(
    session: AsyncSession, now: datetime, batch: int, org_id: uuid.UUID | None = None
) -> Sequence[NextAction]:
    """Open actions past the escalation cutoff, not escalated yet."""
    return await _claim_open(
        session,
        batch,
        org_id,
        NextAction.escalated_at.is_(None),
        NextAction.due_at < rules.escalation_cutoff(now),
    )


async def _claim_open(
    session: AsyncSession,
    batch: int,
    org_id: uuid.UUID | None,
    *conditions: ColumnElement[bool],
) -> Sequence[NextAction]:
    # SKIP LOCKED: a replica running the same job at the same moment takes other rows; a row it
    # reads after this transaction commits no longer matches (its stamp is set). Every org's
    # rows, or ``org_id``'s only (the demo seed's simulated ticks).
    in_org = () if org_id is None else (NextAction.org_id == org_id,)
    rows = await session.scalars(
        select(NextAction)
        .where(NextAction.status == NextActionStatus.open, *conditions, *in_org)
        .order_by(NextAction.due_at, NextAction.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    return rows.all()
