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
from typing import Protocol, TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions import messages, repository, rules
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
from backend.events.catalog import (
    EventPayload,
    NextActionCompleted,
    NextActionCreated,
    NextActionDropped,
    NextActionOverdue,
    NextActionReplaced,
    NextActionRescheduled,
)
from backend.kit.pagination import PageParams
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
    now: datetime,
) -> tuple[NextAction, bool]:
    """Create or replace the visit's next action at ``now``. Returns (action, changed).

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
    existing = await repository.by_id_for_update(session, data.id)
    if existing is not None:
        return _replay(existing, visit, digest), False
    rules.window_for_visit(visit.checked_in_at, now, settings.next_action_horizon_days).check(
        data.due_at
    )
    await _remove_current(session, actor_id, visit, now)
    stamps = rules.stamps_for_new_due(data.due_at, now)
    inserted = await repository.insert_if_absent(
        session,
        {
            "id": data.id,
            "org_id": visit.org_id,
            "visit_id": visit.id,
            "store_id": visit.store_id,
            "assignee_id": visit.rep_id,
            "type": data.type,
            "due_at": data.due_at,
            "note": data.note,
            "status": NextActionStatus.open,
            "reschedule_count": 0,
            "fingerprint": digest,
            "reminded_24h_at": stamps.reminded_24h_at,
            "reminded_due_at": stamps.reminded_due_at,
            "escalated_at": stamps.escalated_at,
            "created_at": now,
            "updated_at": now,
        },
    )
    if inserted is None:
        # The same id was written concurrently (a replay racing itself).
        raced = await repository.by_id_for_update(session, data.id)
        if raced is None:
            raise ActionIdConflict()
        return _replay(raced, visit, digest), False
    action = await session.get_one(NextAction, data.id, populate_existing=True)
    await _event(session, action, actor_id, NextActionCreated(**event_fields(action)), now)
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


async def _remove_current(
    session: AsyncSession, actor_id: uuid.UUID, visit: VisitRef, now: datetime
) -> None:
    current = await repository.of_visit_for_update(session, visit.org_id, visit.id)
    if current is None:
        return
    await _event(session, current, actor_id, NextActionReplaced(**event_fields(current)), now)
    await repository.delete_action(session, visit.org_id, current.id)
    session.expunge(current)


async def drop_for_visit(
    session: AsyncSession,
    org_id: uuid.UUID,
    visit_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    now: datetime | None = None,
) -> bool:
    """Remove a visit's open action (call it when a visit is abandoned: nothing was committed).

    Returns whether there was one. A done action is kept: it is history.
    """
    current = await repository.of_visit_for_update(session, org_id, visit_id, open_only=True)
    if current is None:
        return False
    await _event(session, current, actor_id, NextActionDropped(**event_fields(current)), now)
    await repository.delete_action(session, org_id, current.id)
    session.expunge(current)
    return True


async def for_visits(
    session: AsyncSession, org_id: uuid.UUID, visit_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, NextAction]:
    """The next action of each visit that has one, keyed by visit id (one query)."""
    return await repository.of_visits(session, org_id, visit_ids)


def action_read(action: NextAction, store: ActionStore, now: datetime) -> NextActionRead:
    """The API shape of an action at its ``store`` (see :func:`store_ref`, :func:`reads`);
    ``overdue`` and ``server_time`` are computed at ``now``."""
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


class NamedStore(Protocol):
    """What an action's read shows of its store (a ``Store`` row, or a read model of one)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...


def store_ref(store: NamedStore) -> ActionStore:
    return ActionStore(id=store.id, code=store.code, name=store.name)


async def reads(
    session: AsyncSession, actions: Sequence[NextAction], now: datetime
) -> list[NextActionRead]:
    """The API shapes of ``actions`` at ``now``, their stores read in one query per org."""
    stores: dict[uuid.UUID, Store] = {}
    for org_id in {a.org_id for a in actions}:
        store_ids = {a.store_id for a in actions if a.org_id == org_id}
        stores.update(await store_service.stores_by_id(session, org_id, store_ids))
    return [action_read(a, _ref(a, stores.get(a.store_id)), now) for a in actions]


async def read(session: AsyncSession, action: NextAction, now: datetime) -> NextActionRead:
    return (await reads(session, [action], now))[0]


def _ref(action: NextAction, store: Store | None) -> ActionStore:
    # A store is never deleted while an action names it (the foreign key refuses it).
    if store is None:
        return ActionStore(id=action.store_id, code="", name="")
    return store_ref(store)


async def get_action(
    session: AsyncSession, principal: Principal, action_id: uuid.UUID
) -> tuple[NextAction, list[NextActionReschedule]]:
    """A visible action with its reschedule history (oldest first)."""
    action = await _visible(session, principal, action_id)
    return action, await repository.reschedules(session, action.org_id, action.id)


async def list_actions(
    session: AsyncSession,
    principal: Principal,
    filters: NextActionFilters,
    page: PageParams,
    now: datetime,
) -> tuple[Sequence[NextAction], str | None]:
    """Visible actions sorted by due time (soonest first), with a (due_at, id) cursor."""
    return await repository.visible_page(session, principal, filters, page, now)


async def complete(
    session: AsyncSession, principal: Principal, action_id: uuid.UUID, note: str, now: datetime
) -> NextAction:
    """The assignee marks the action done at ``now``. Replaying the same completion returns it
    unchanged; completing a done action with a different note is 409."""
    action = await _for_assignee_update(session, principal, action_id)
    if action.status == NextActionStatus.done:
        if action.completion_note == note:
            return action
        raise ActionNotOpen()
    action.status = NextActionStatus.done
    action.completed_at = now
    action.completed_by_id = principal.user_id
    action.completion_note = note
    await session.flush()
    await _event(
        session,
        action,
        principal.user_id,
        NextActionCompleted(**event_fields(action), late=action.completed_at > action.due_at),
        now,
    )
    return action


async def reschedule(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    action_id: uuid.UUID,
    data: RescheduleRequest,
    now: datetime,
) -> NextAction:
    """The assignee moves the due time at ``now``, with a reason; each move is counted and kept.

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
        principal.user_id,
        NextActionRescheduled(
            **event_fields(action),
            old_due_at=old_due,
            reason=data.reason,
            reschedule_count=action.reschedule_count,
        ),
        now,
    )
    return action


async def _is_last_reschedule(
    session: AsyncSession, action: NextAction, data: RescheduleRequest
) -> bool:
    if action.reschedule_count == 0 or action.due_at != data.due_at:
        return False
    last = await repository.last_reschedule_reason(session, action.org_id, action.id)
    return last == data.reason


async def _visible(
    session: AsyncSession, principal: Principal, action_id: uuid.UUID, *, lock: bool = False
) -> NextAction:
    action = await repository.visible_by_id(session, principal, action_id, lock=lock)
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


class ActionEventFields(TypedDict):
    visit_id: uuid.UUID
    store_id: uuid.UUID
    assignee_id: uuid.UUID
    action_type: NextActionType
    due_at: datetime


def event_fields(action: NextAction) -> ActionEventFields:
    """What every next-action event says about its action (as it is now)."""
    return {
        "visit_id": action.visit_id,
        "store_id": action.store_id,
        "assignee_id": action.assignee_id,
        "action_type": action.type,
        "due_at": action.due_at,
    }


async def _event(
    session: AsyncSession,
    action: NextAction,
    actor_id: uuid.UUID | None,
    payload: EventPayload,
    now: datetime | None,
) -> None:
    await events.record(
        session,
        payload,
        org_id=action.org_id,
        subject_id=action.id,
        actor_id=actor_id,
        occurred_at=now,
    )


# --- Reminders and escalation (called by the jobs; rows claimed with SKIP LOCKED) -------------

JOB_BATCH = 200


async def remind_day_before(
    session: AsyncSession, now: datetime, batch: int = JOB_BATCH, *, org_id: uuid.UUID | None = None
) -> int:
    """Send the "due within 24 h" reminder to the assignee of each action entering its last day
    (every org's, or ``org_id``'s only).

    Each claimed row is locked (others skip it) and stamped in the same transaction as its
    notification, so with any number of replicas it goes out exactly once.
    """
    claimed = await repository.claim_entering_last_day(session, now, batch, org_id)
    stores = await _store_names(session, claimed)
    for action in claimed:
        action.reminded_24h_at = now
        message = messages.due_soon(action.type, stores.get(action.store_id))
        await _notify(session, action, action.assignee_id, message, now)
    await session.flush()
    return len(claimed)


async def remind_due(
    session: AsyncSession, now: datetime, batch: int = JOB_BATCH, *, org_id: uuid.UUID | None = None
) -> int:
    """Send the "due now" reminder to the assignee of each open action whose time has come.

    A day-before reminder that never went out (the job was down) is stamped as handled too:
    "due tomorrow" after the fact would only confuse.
    """
    claimed = await repository.claim_due(session, now, batch, org_id)
    stores = await _store_names(session, claimed)
    for action in claimed:
        action.reminded_due_at = now
        action.reminded_24h_at = action.reminded_24h_at or now
        message = messages.due_now(action.type, stores.get(action.store_id))
        await _notify(session, action, action.assignee_id, message, now)
    await session.flush()
    return len(claimed)


async def escalate_overdue(
    session: AsyncSession, now: datetime, batch: int = JOB_BATCH, *, org_id: uuid.UUID | None = None
) -> int:
    """Tell the supervisors of the assignee's teams about each open action past due, once,
    and record ``next_action.overdue``. A rep in no team with a supervisor escalates to the
    org's admins, so an overdue action never goes unseen."""
    claimed = await repository.claim_overdue(session, now, batch, org_id)
    stores = await _store_names(session, claimed)
    for action in claimed:
        action.escalated_at = now
        recipients = await _escalation_recipients(session, action)
        rep = await user_service.get_user(session, action.org_id, action.assignee_id)
        message = messages.overdue(action.type, stores.get(action.store_id), rep.display_name)
        for user_id in recipients:
            await _notify(session, action, user_id, message, now)
        await _event(
            session,
            action,
            None,
            NextActionOverdue(**event_fields(action), notified=recipients),
            now,
        )
    await session.flush()
    return len(claimed)


async def _notify(
    session: AsyncSession,
    action: NextAction,
    user_id: uuid.UUID,
    message: messages.Message,
    now: datetime,
) -> None:
    await notifications.notify(
        session,
        org_id=action.org_id,
        user_id=user_id,
        type=message.type,
        title=message.title,
        body=message.body,
        subject_type="next_action",
        subject_id=action.id,
        now=now,
    )


async def _escalation_recipients(session: AsyncSession, action: NextAction) -> list[uuid.UUID]:
    rep = Principal(user_id=action.assignee_id, org_id=action.org_id, role=Role.rep)
    teams = await team_service.list_teams(session, rep)
    supervisors = {t.supervisor_id for t in teams if t.supervisor_id != action.assignee_id}
    if supervisors:
        return sorted(supervisors)
    return sorted(await user_service.active_ids_with_role(session, action.org_id, Role.admin))


async def _store_names(
    session: AsyncSession, actions: Sequence[NextAction]
) -> dict[uuid.UUID, str]:
    names: dict[uuid.UUID, str] = {}
    for org_id in {a.org_id for a in actions}:
        store_ids = {a.store_id for a in actions if a.org_id == org_id}
        stores = await store_service.stores_by_id(session, org_id, store_ids)
        names.update({store_id: store.name for store_id, store in stores.items()})
    return names
