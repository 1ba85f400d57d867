"""Next actions: set with a visit, listed as countdowns, completed or rescheduled by the rep.

Visibility follows visits: a rep sees the actions assigned to them, a supervisor those of the
reps in the teams they lead, an admin the whole org; anything else is 404. Only the assignee
completes or reschedules (a supervisor or admin who can see the action gets 403): the record
says what the rep did, never what someone did for them.
"""

import hashlib
import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, delete, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions import rules
from backend.actions.exceptions import ActionIdConflict, ActionNotOpen
from backend.actions.schemas import (
    ActionStore,
    NextActionFilters,
    NextActionInput,
    NextActionRead,
    RescheduleRequest,
)
from backend.auth.principal import Principal
from backend.config import Settings
from backend.errors import Forbidden, NotFound
from backend.events import service as events
from backend.kit.pagination import PageParams, decode_time_cursor, encode_time_cursor
from backend.kit.time import isoformat_z, utc_now
from backend.models import (
    NextAction,
    NextActionReschedule,
    NextActionStatus,
    NextActionType,
    Store,
)
from backend.models.user import Role
from backend.notifications import service as notifications
from backend.stores import service as store_service
from backend.teams import service as team_service
from backend.users import service as user_service


@dataclass(frozen=True)
class VisitRef:
    """What the next-action rules need of a visit (the visits module builds it)."""

    id: uuid.UUID
    org_id: uuid.UUID
    rep_id: uuid.UUID
    store_id: uuid.UUID
    checked_in_at: datetime


def fingerprint(visit_id: uuid.UUID, data: NextActionInput) -> bytes:
    """SHA-256 of what the client sent (and for which visit): equal bodies are replays."""
    content = {"visit_id": str(visit_id), **data.model_dump(mode="json")}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).digest()


async def set_for_visit(
    session: AsyncSession,
    settings: Settings,
    actor_id: uuid.UUID,
    visit: VisitRef,
    data: NextActionInput,
) -> tuple[NextAction, bool]:
    """Create or replace the visit's next action. Returns (action, changed).

    The caller (the visits module) has checked that ``actor_id`` may change the visit and that
    the visit is still editable (open, or rejected for rework), ideally holding its row lock.

    - Same ``id`` and same content as stored: a replay, ``(existing, False)``, whatever the time
      now (an offline replay must not fail because the due time has since come nearer).
    - Same ``id`` with different content, or on another visit or org: ``409 conflict``. To
      amend an action the client sends a new id.
    - A new ``id`` while the visit already has an action (edited before submitting, or amended
      during rework): the old action is replaced (deleted with its reschedule history, recorded
      as ``next_action.replaced``); the new one starts a fresh countdown.
    - ``due_at`` must be after now and at most ``next_action_horizon_days`` after the visit's
      check-in, else ``422 action_due_out_of_range`` with ``earliest`` / ``latest``.
    """
    digest = fingerprint(visit.id, data)
    existing = await _by_id_for_update(session, data.id)
    if existing is not None:
        return _replay(existing, visit, digest), False
    now = utc_now()
    rules.window_for_visit(visit.checked_in_at, now, settings.next_action_horizon_days).check(
        data.due_at
    )
    await _remove_current(session, actor_id, visit)
    stamps = rules.stamps_for_new_due(data.due_at, now)
    inserted = await session.scalar(
        insert(NextAction)
        .values(
            id=data.id,
            org_id=visit.org_id,
            visit_id=visit.id,
            store_id=visit.store_id,
            assignee_id=visit.rep_id,
            type=data.type,
            due_at=data.due_at,
            note=data.note,
            status=NextActionStatus.open,
            reschedule_count=0,
            fingerprint=digest,
            reminded_24h_at=stamps.reminded_24h_at,
            reminded_due_at=stamps.reminded_due_at,
            escalated_at=stamps.escalated_at,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(NextAction.id)
    )
    if inserted is None:
        # The same id was written concurrently (a replay racing itself).
        raced = await _by_id_for_update(session, data.id)
        if raced is None:
            raise ActionIdConflict()
        return _replay(raced, visit, digest), False
    action = await session.get_one(NextAction, data.id, populate_existing=True)
    await _event(session, action, "next_action.set", actor_id, _summary(action))
    return action, True


def _replay(existing: NextAction, visit: VisitRef, digest: bytes) -> NextAction:
    same = (
        existing.org_id == visit.org_id
        and existing.visit_id == visit.id
        and existing.fingerprint == digest
    )
    if not same:
        raise ActionIdConflict()
    return existing


async def _by_id_for_update(session: AsyncSession, action_id: uuid.UUID) -> NextAction | None:
    return await session.scalar(
        select(NextAction)
        .where(NextAction.id == action_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def _remove_current(session: AsyncSession, actor_id: uuid.UUID, visit: VisitRef) -> None:
    current = await session.scalar(
        select(NextAction)
        .where(NextAction.org_id == visit.org_id, NextAction.visit_id == visit.id)
        .with_for_update()
    )
    if current is None:
        return
    await _event(session, current, "next_action.replaced", actor_id, _summary(current))
    await session.execute(
        delete(NextAction).where(NextAction.org_id == visit.org_id, NextAction.id == current.id)
    )
    session.expunge(current)


async def drop_for_visit(
    session: AsyncSession, org_id: uuid.UUID, visit_id: uuid.UUID, actor_id: uuid.UUID | None
) -> bool:
    """Remove a visit's open action (call it when a visit is abandoned: nothing was committed).

    Returns whether there was one. A done action is kept: it is history.
    """
    current = await session.scalar(
        select(NextAction)
        .where(
            NextAction.org_id == org_id,
            NextAction.visit_id == visit_id,
            NextAction.status == NextActionStatus.open,
        )
        .with_for_update()
    )
    if current is None:
        return False
    await _event(session, current, "next_action.dropped", actor_id, _summary(current))
    await session.execute(
        delete(NextAction).where(NextAction.org_id == org_id, NextAction.id == current.id)
    )
    session.expunge(current)
    return True


async def for_visits(
    session: AsyncSession, org_id: uuid.UUID, visit_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, NextAction]:
    """The next action of each visit that has one, keyed by visit id (one query)."""
    if not visit_ids:
        return {}
    rows = await session.scalars(
        select(NextAction).where(
            NextAction.org_id == org_id, NextAction.visit_id.in_(list(visit_ids))
        )
    )
    return {action.visit_id: action for action in rows}


def action_read(
    action: NextAction, store: ActionStore, now: datetime | None = None
) -> NextActionRead:
    """The API shape of an action at its ``store`` (see :func:`store_ref`, :func:`reads`);
    ``overdue`` and ``server_time`` are computed at ``now``."""
    now = now or utc_now()
    return NextActionRead(
        id=action.id,
        visit_id=action.visit_id,
        store_id=action.store_id,
        store=store,
        assignee_id=action.assignee_id,
        type=action.type,
        due_at=action.due_at,
        note=action.note,
        status=action.status,
        overdue=rules.is_overdue(action.status, action.due_at, now),
        completed_at=action.completed_at,
        completion_note=action.completion_note,
        reschedule_count=action.reschedule_count,
        created_at=action.created_at,
        server_time=now,
    )


def store_ref(store: Store) -> ActionStore:
    return ActionStore(id=store.id, code=store.code, name=store.name)


async def reads(
    session: AsyncSession, actions: Sequence[NextAction], now: datetime | None = None
) -> list[NextActionRead]:
    """The API shapes of ``actions``, their stores read in one query per organization."""
    now = now or utc_now()
    stores: dict[uuid.UUID, Store] = {}
    for org_id in {a.org_id for a in actions}:
        store_ids = {a.store_id for a in actions if a.org_id == org_id}
        stores.update(await store_service.stores_by_id(session, org_id, store_ids))
    return [action_read(a, _ref(a, stores.get(a.store_id)), now) for a in actions]


async def read(
    session: AsyncSession, action: NextAction, now: datetime | None = None
) -> NextActionRead:
    return (await reads(session, [action], now))[0]


def _ref(action: NextAction, store: Store | None) -> ActionStore:
    # A store is never deleted while an action names it (the foreign key refuses it).
    if store is None:
        return ActionStore(id=action.store_id, code="", name="")
    return store_ref(store)


def visible_actions(principal: Principal) -> Select[NextAction]:
    """Actions the caller may see: a rep their own, a supervisor their teams', an admin all."""
    stmt = select(NextAction).where(NextAction.org_id == principal.org_id)
    if principal.role == Role.rep:
        return stmt.where(NextAction.assignee_id == principal.user_id)
    if principal.role == Role.supervisor:
        reps = team_service.supervised_rep_ids(principal.org_id, principal.user_id)
        return stmt.where(NextAction.assignee_id.in_(reps))
    return stmt


async def get_action(
    session: AsyncSession, principal: Principal, action_id: uuid.UUID
) -> tuple[NextAction, list[NextActionReschedule]]:
    """A visible action with its reschedule history (oldest first)."""
    action = await _visible(session, principal, action_id)
    history = await session.scalars(
        select(NextActionReschedule)
        .where(
            NextActionReschedule.org_id == action.org_id,
            NextActionReschedule.action_id == action.id,
        )
        .order_by(NextActionReschedule.at, NextActionReschedule.id)
    )
    return action, list(history)


async def list_actions(
    session: AsyncSession,
    principal: Principal,
    filters: NextActionFilters,
    page: PageParams,
    now: datetime,
) -> tuple[Sequence[NextAction], str | None]:
    """Visible actions sorted by due time (soonest first), with a (due_at, id) cursor."""
    stmt = _filtered(visible_actions(principal), principal, filters, now)
    if page.cursor:
        after_due, after_id = decode_time_cursor(page.cursor)
        stmt = stmt.where(
            or_(
                NextAction.due_at > after_due,
                and_(NextAction.due_at == after_due, NextAction.id > after_id),
            )
        )
    rows = (
        await session.scalars(stmt.order_by(NextAction.due_at, NextAction.id).limit(page.limit + 1))
    ).all()
    more = len(rows) > page.limit
    items = rows[: page.limit]
    cursor = encode_time_cursor(items[-1].due_at, items[-1].id) if more else None
    return items, cursor


def _filtered(
    stmt: Select[NextAction],
    principal: Principal,
    filters: NextActionFilters,
    now: datetime,
) -> Select[NextAction]:
    if filters.assignee is not None:
        assignee = principal.user_id if filters.assignee == "me" else filters.assignee
        stmt = stmt.where(NextAction.assignee_id == assignee)
    if filters.status == "open":
        stmt = stmt.where(NextAction.status == NextActionStatus.open)
    elif filters.status == "done":
        stmt = stmt.where(NextAction.status == NextActionStatus.done)
    elif filters.status == "overdue":
        stmt = stmt.where(NextAction.status == NextActionStatus.open, NextAction.due_at < now)
    if filters.due_before is not None:
        stmt = stmt.where(NextAction.due_at < filters.due_before)
    return stmt


async def complete(
    session: AsyncSession, principal: Principal, action_id: uuid.UUID, note: str
) -> NextAction:
    """The assignee marks the action done. Replaying the same completion returns it unchanged;
    completing a done action with a different note is 409."""
    action = await _for_assignee_update(session, principal, action_id)
    if action.status == NextActionStatus.done:
        if action.completion_note == note:
            return action
        raise ActionNotOpen()
    action.status = NextActionStatus.done
    action.completed_at = utc_now()
    action.completed_by_id = principal.user_id
    action.completion_note = note
    await session.flush()
    await _event(
        session,
        action,
        "next_action.completed",
        principal.user_id,
        {**_summary(action), "late": action.completed_at > action.due_at},
    )
    return action


async def reschedule(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    action_id: uuid.UUID,
    data: RescheduleRequest,
) -> NextAction:
    """The assignee moves the due time, with a reason; each move is counted and kept.

    The new time must be after now and within the horizon counted from now (see
    ``rules.window_for_reschedule``). Reminders start over for the new time: the stamps are
    reset (the day-before one stays stamped when the new time is less than 24 h away), so a
    rescheduled action that becomes overdue again is escalated again. Replaying the last
    reschedule (same time, same reason) changes nothing.
    """
    action = await _for_assignee_update(session, principal, action_id)
    if action.status != NextActionStatus.open:
        raise ActionNotOpen()
    if await _is_last_reschedule(session, action, data):
        return action
    now = utc_now()
    rules.window_for_reschedule(now, settings.next_action_horizon_days).check(data.due_at)
    session.add(
        NextActionReschedule(
            org_id=action.org_id,
            action_id=action.id,
            old_due_at=action.due_at,
            new_due_at=data.due_at,
            reason=data.reason,
            by_user_id=principal.user_id,
            at=now,
        )
    )
    old_due = action.due_at
    stamps = rules.stamps_for_new_due(data.due_at, now)
    action.due_at = data.due_at
    action.reschedule_count += 1
    action.reminded_24h_at = stamps.reminded_24h_at
    action.reminded_due_at = stamps.reminded_due_at
    action.escalated_at = stamps.escalated_at
    await session.flush()
    await _event(
        session,
        action,
        "next_action.rescheduled",
        principal.user_id,
        {
            **_summary(action),
            "old_due_at": isoformat_z(old_due),
            "reason": data.reason,
            "reschedule_count": action.reschedule_count,
        },
    )
    return action


async def _is_last_reschedule(
    session: AsyncSession, action: NextAction, data: RescheduleRequest
) -> bool:
    if action.reschedule_count == 0 or action.due_at != data.due_at:
        return False
    last = await session.scalar(
        select(NextActionReschedule.reason)
        .where(
            NextActionReschedule.org_id == action.org_id,
            NextActionReschedule.action_id == action.id,
        )
        .order_by(NextActionReschedule.at.desc(), NextActionReschedule.id.desc())
        .limit(1)
    )
    return last == data.reason


async def _visible(
    session: AsyncSession, principal: Principal, action_id: uuid.UUID, *, lock: bool = False
) -> NextAction:
    stmt = visible_actions(principal).where(NextAction.id == action_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    action = await session.scalar(stmt)
    if action is None:
        raise NotFound("No such next action.")
    return action


async def _for_assignee_update(
    session: AsyncSession, principal: Principal, action_id: uuid.UUID
) -> NextAction:
    # Locked: a completion and a reschedule of the same action never interleave.
    action = await _visible(session, principal, action_id, lock=True)
    if action.assignee_id != principal.user_id:
        raise Forbidden("Only the rep the action is assigned to can change it.")
    return action


def _summary(action: NextAction) -> dict[str, object]:
    return {
        "visit_id": str(action.visit_id),
        "store_id": str(action.store_id),
        "assignee_id": str(action.assignee_id),
        "type": action.type.value,
        "due_at": isoformat_z(action.due_at),
    }


async def _event(
    session: AsyncSession,
    action: NextAction,
    type: str,
    actor_id: uuid.UUID | None,
    payload: dict[str, object],
) -> None:
    await events.record(
        session,
        org_id=action.org_id,
        type=type,
        subject_type="next_action",
        subject_id=action.id,
        actor_id=actor_id,
        payload=payload,
    )


# --- Reminders and escalation (called by the jobs; rows claimed with SKIP LOCKED) -------------

JOB_BATCH = 200

_TYPE_LABELS: dict[NextActionType, tuple[str, str]] = {
    NextActionType.send_sample: ("送样", "send a sample"),
    NextActionType.quote: ("报价", "send a quote"),
    NextActionType.demo: ("安排演示", "arrange a demo"),
    NextActionType.follow_up_call: ("电话回访", "follow-up call"),
    NextActionType.other: ("跟进事项", "follow-up"),
}


async def remind_day_before(session: AsyncSession, now: datetime, batch: int = JOB_BATCH) -> int:
    """Send the "due within 24 h" reminder to the assignee of each action entering its last day.

    Each claimed row is locked (others skip it) and stamped in the same transaction as its
    notification, so with any number of replicas it goes out exactly once.
    """
    claimed = await _claim(
        session,
        batch,
        NextAction.reminded_24h_at.is_(None),
        NextAction.due_at > now,
        NextAction.due_at <= rules.day_before_cutoff(now),
    )
    stores = await _store_names(session, claimed)
    for action in claimed:
        action.reminded_24h_at = now
        zh, en = _labels(action, stores)
        await notifications.notify(
            session,
            org_id=action.org_id,
            user_id=action.assignee_id,
            type="next_action.due_soon",
            title={"zh": f"24 小时内到期：{zh}", "en": f"Due within 24 hours: {en}"},
            body={
                "zh": "请按时完成，或说明原因后改期。",
                "en": "Complete it on time, or reschedule it with a reason.",
            },
            subject_type="next_action",
            subject_id=action.id,
        )
    await session.flush()
    return len(claimed)


async def remind_due(session: AsyncSession, now: datetime, batch: int = JOB_BATCH) -> int:
    """Send the "due now" reminder to the assignee of each open action whose time has come.

    A day-before reminder that never went out (the job was down) is stamped as handled too:
    "due tomorrow" after the fact would only confuse.
    """
    claimed = await _claim(
        session, batch, NextAction.reminded_due_at.is_(None), NextAction.due_at <= now
    )
    stores = await _store_names(session, claimed)
    for action in claimed:
        action.reminded_due_at = now
        action.reminded_24h_at = action.reminded_24h_at or now
        zh, en = _labels(action, stores)
        await notifications.notify(
            session,
            org_id=action.org_id,
            user_id=action.assignee_id,
            type="next_action.due",
            title={"zh": f"已到期：{zh}", "en": f"Due now: {en}"},
            body={
                "zh": "请完成此事项，或说明原因后改期。",
                "en": "Complete it now, or reschedule it with a reason.",
            },
            subject_type="next_action",
            subject_id=action.id,
        )
    await session.flush()
    return len(claimed)


async def escalate_overdue(session: AsyncSession, now: datetime, batch: int = JOB_BATCH) -> int:
    """Tell the supervisors of the assignee's teams about each open action past due, once,
    and record ``next_action.overdue``. A rep in no team with a supervisor escalates to the
    org's admins, so an overdue action never goes unseen."""
    claimed = await _claim(
        session,
        batch,
        NextAction.escalated_at.is_(None),
        NextAction.due_at < rules.escalation_cutoff(now),
    )
    stores = await _store_names(session, claimed)
    for action in claimed:
        action.escalated_at = now
        recipients = await _escalation_recipients(session, action)
        zh, en = _labels(action, stores)
        rep = await user_service.get_user(session, action.org_id, action.assignee_id)
        for user_id in recipients:
            await notifications.notify(
                session,
                org_id=action.org_id,
                user_id=user_id,
                type="next_action.overdue",
                title={"zh": f"逾期未完成：{zh}", "en": f"Overdue: {en}"},
                body={
                    "zh": f"{rep.display_name} 的跟进事项已逾期。",
                    "en": f"{rep.display_name}'s next action is overdue.",
                },
                subject_type="next_action",
                subject_id=action.id,
            )
        await _event(
            session,
            action,
            "next_action.overdue",
            None,
            {**_summary(action), "notified": [str(u) for u in recipients]},
        )
    await session.flush()
    return len(claimed)


async def _claim(
    session: AsyncSession, batch: int, *conditions: ColumnElement[bool]
) -> Sequence[NextAction]:
    # SKIP LOCKED: a replica running the same job at the same moment takes other rows; a row it
    # reads after this transaction commits no longer matches (its stamp is set).
    rows = await session.scalars(
        select(NextAction)
        .where(NextAction.status == NextActionStatus.open, *conditions)
        .order_by(NextAction.due_at, NextAction.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    return rows.all()


async def _escalation_recipients(session: AsyncSession, action: NextAction) -> list[uuid.UUID]:
    rep = Principal(user_id=action.assignee_id, org_id=action.org_id, role=Role.rep)
    teams = await team_service.list_teams(session, rep)
    supervisors = {t.supervisor_id for t in teams if t.supervisor_id != action.assignee_id}
    if supervisors:
        return sorted(supervisors)
    admins, _ = await user_service.list_users(
        session, action.org_id, PageParams(limit=200, cursor=None), role=Role.admin
    )
    return sorted(a.id for a in admins if a.is_active)


async def _store_names(
    session: AsyncSession, actions: Sequence[NextAction]
) -> dict[uuid.UUID, str]:
    names: dict[uuid.UUID, str] = {}
    for org_id in {a.org_id for a in actions}:
        store_ids = {a.store_id for a in actions if a.org_id == org_id}
        stores = await store_service.stores_by_id(session, org_id, store_ids)
        names.update({store_id: store.name for store_id, store in stores.items()})
    return names


def _labels(action: NextAction, stores: dict[uuid.UUID, str]) -> tuple[str, str]:
    zh, en = _TYPE_LABELS[action.type]
    store = stores.get(action.store_id)
    if store is None:
        return zh, en
    return f"{zh}（{store}）", f"{en} ({store})"
