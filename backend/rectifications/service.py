"""Rectifications (整改): every failed audit item becomes a task for a rep, closed only with an
after photo taken during a visit checked in at that store.

The rules, as built (docs/audits.md explains them to users):

- **Raised** by the audits service at audit submit, in the same transaction
  (:func:`raise_for_audit`). The id is derived from (audit, item), so a replayed submit makes
  the same rows and nothing twice: each new task gets its first history step (``open``, by the
  auditor), a ``rectification.created`` event and a notification to the assignee.
- **Who sees one**: the assignee; a supervisor of the store's team, the supervisor of the
  assignee's team, and the auditor who raised it; the org's admins. Anyone else (another org
  included) gets 404 (see the repository).
- **After photo** (``PUT .../after-photo``): the assignee only (403 for others who can see it),
  while the task is owed (open or reopened; else ``409 rectification_not_open``) and while the
  assignee has an *open* visit checked in at that store (else ``409 not_at_store``, whose body
  names the store of the open visit, or null when there is none). The photo goes through the
  photo rules (decoded, size-capped, re-encoded, watermarked with the store and "<rep> · <now
  in the org's zone>"); a photo that repeats the audit's before photo (same bytes, or a
  perceptual hash within 6) carries a ``duplicate_photo`` flag saying so, and duplicates of any
  other photo of the org are flagged as for visits. The photo is the rectification's own, so
  it flags the photo, not the visit's trust score. The open visit's id is kept on the task as
  the proof of presence. Replaying the same bytes answers 200 and changes nothing, even once
  the visit has ended (an offline upload replayed late must not fail).
- **Submit** (assignee): needs an after photo taken after the last reopen (``422
  rectification_incomplete`` with ``missing: ["after_photo"]``); replaying a submit with the
  same note answers the submitted task unchanged. The auditor and the supervisor of the store's
  team are told.
- **Verify / reopen**: a supervisor of the store's team, the auditor who raised it (while a
  supervisor), or an admin; a rep gets 403. Only a submitted task (else ``409
  rectification_not_submitted``). A replay of the same decision right after it (the last
  history step is that decision with the same comment or reason) answers 200 without a second
  step. Reopen hands the task back: status ``reopened``, ``reopened_at`` = now, the reminders
  start over, and the due time becomes ``max(current due, now + 2 days)`` for a critical item
  or ``max(current due, now + 3 days)`` otherwise: a reopen never shortens the deadline and
  never hands back a task that is already overdue.
- **Reminders and escalation** (the jobs, below): the assignee at due - 24 h and at due; once
  overdue, the supervisor of the store's team and the auditor (the org's admins when neither
  is an active user other than the assignee), with a ``rectification.overdue`` event. Each
  exactly once, however many replicas run the job.
"""

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.config import Settings
from backend.errors import Forbidden, NotFound
from backend.events import service as events
from backend.events.catalog import (
    EventPayload,
    RectificationCreated,
    RectificationOverdue,
    RectificationPhotoAdded,
    RectificationReopened,
    RectificationSubmitted,
    RectificationVerified,
)
from backend.kit.fonts import cjk_font_path
from backend.kit.pagination import PageParams
from backend.kit.storage import Storage
from backend.kit.time import utc_now
from backend.kit.watermark import watermark_lines
from backend.models import (
    Audit,
    Photo,
    Rectification,
    RectificationChange,
    RectificationStatus,
    Store,
    User,
    Visit,
)
from backend.models.user import Role
from backend.notifications import service as notifications
from backend.photos import service as photo_service
from backend.presence.flags import Flag, FlagCode
from backend.rectifications import messages, repository, rules
from backend.rectifications.exceptions import (
    NotAtStore,
    RectificationIncomplete,
    RectificationNotOpen,
    RectificationNotSubmitted,
)
from backend.rectifications.schemas import (
    AfterPhotoRead,
    HistoryEntry,
    RectificationFilters,
    RectificationRead,
    RectificationStore,
    RectificationUser,
)
from backend.stores import service as store_service
from backend.teams import service as team_service
from backend.users import service as user_service
from backend.visits import service as visit_service

#: Fixed forever: a rectification's id is uuid5(this, "<audit id>:<item key>").
ID_NAMESPACE = uuid.UUID("5b0c3f0e-8f1d-4c1e-9a57-2d1f6b8e4c21")

API = "/api/v1/rectifications"


def rectification_id(audit_id: uuid.UUID, item_key: str) -> uuid.UUID:
    """The id of the rectification raised for ``item_key`` of ``audit_id`` (deterministic, so a
    replayed audit submit finds the rows it made)."""
    return uuid.uuid5(ID_NAMESPACE, f"{audit_id}:{item_key}")


@dataclass(frozen=True)
class RaisedItem:
    """A failed audit item to raise, with its assignee and due time already resolved by the
    audits service."""

    item_key: str
    title: dict[str, str]
    critical: bool
    assignee_id: uuid.UUID
    due_at: datetime
    note: str


# --- raising (called by the audits service at submit) ------------------------------------------


async def raise_for_audit(
    session: AsyncSession, audit: Audit, raised: Sequence[RaisedItem], now: datetime
) -> list[Rectification]:
    """Create the audit's rectifications at ``now`` (in the caller's transaction); returns every
    raised item's row, new or already made by an earlier run of the same submit, in the order
    of ``raised``."""
    ids = [rectification_id(audit.id, item.item_key) for item in raised]
    new_ids = await repository.insert_if_absent(
        session, [_new_row(audit, item, now) for item in raised]
    )
    rows = {r.id: r for r in await repository.by_ids(session, audit.org_id, ids)}
    store = await store_service.find_store(session, audit.org_id, audit.store_id)
    store_name = store.name if store is not None else None
    for rect_id in ids:
        rect = rows[rect_id]
        if rect_id not in new_ids:
            continue
        repository.add_change(session, rect, by_user_id=audit.auditor_id, reason=None, at=now)
        await _event(
            session,
            rect,
            audit.auditor_id,
            RectificationCreated(**event_fields(rect), critical=rect.critical),
            now,
        )
        message = messages.created(rect.title, store_name, rect.critical)
        await _notify(session, rect, rect.assignee_id, message, now)
    await session.flush()
    return [rows[i] for i in ids]


def _new_row(audit: Audit, item: RaisedItem, now: datetime) -> dict[str, Any]:
    # Raised with less than a day left: "due within 24 h" would come at once, so it is
    # stamped as handled (as for a next action set inside its last day).
    inside_last_day = item.due_at - rules.DAY_BEFORE <= now
    return {
        "id": rectification_id(audit.id, item.item_key),
        "org_id": audit.org_id,
        "audit_id": audit.id,
        "store_id": audit.store_id,
        "item_key": item.item_key,
        "title": {"zh": item.title.get("zh", ""), "en": item.title.get("en", "")},
        "critical": item.critical,
        "assignee_id": item.assignee_id,
        "raised_by_id": audit.auditor_id,
        "due_at": item.due_at,
        "status": RectificationStatus.open,
        "note": item.note,
        "reminded_24h_at": now if inside_last_day else None,
        "created_at": now,
        "updated_at": now,
    }


# --- reads --------------------------------------------------------------------------------------


def photo_url(rect_id: uuid.UUID, which: str) -> str:
    """Where the before or after photo of a rectification is served (``?thumb=1``: smaller)."""
    return f"{API}/{rect_id}/{which}-photo"


async def reads(
    session: AsyncSession, org_id: uuid.UUID, rects: Sequence[Rectification], now: datetime
) -> list[RectificationRead]:
    """The API shapes of ``rects`` (one org's) at ``now``: stores, people, photos and history
    each read in one query for all of them, never one per task."""
    if not rects:
        return []
    ids = [r.id for r in rects]
    stores = await store_service.stores_by_id(session, org_id, {r.store_id for r in rects})
    history = await repository.changes_of(session, org_id, ids)
    befores = await photo_service.photos_of_audits(session, org_id, {r.audit_id for r in rects})
    afters = await photo_service.after_photos(session, org_id, ids)
    people = {r.assignee_id for r in rects} | {r.raised_by_id for r in rects}
    people |= {c.by_user_id for steps in history.values() for c in steps if c.by_user_id}
    users = await user_service.users_by_id(session, org_id, people)
    return [
        _read(
            r,
            stores.get(r.store_id),
            users,
            history.get(r.id, []),
            befores.get(r.audit_id, {}).get(r.item_key),
            afters.get(r.id),
            now,
        )
        for r in rects
    ]


async def read(session: AsyncSession, rect: Rectification, now: datetime) -> RectificationRead:
    return (await reads(session, rect.org_id, [rect], now))[0]


def _read(
    rect: Rectification,
    store: Store | None,
    users: dict[uuid.UUID, User],
    history: list[RectificationChange],
    before: Photo | None,
    after: Photo | None,
    now: datetime,
) -> RectificationRead:
    return RectificationRead(
        id=rect.id,
        audit_id=rect.audit_id,
        store=_store_ref(rect, store),
        item_key=rect.item_key,
        title=rect.title,
        critical=rect.critical,
        assignee=_person(rect.assignee_id, users),
        raised_by=_person(rect.raised_by_id, users),
        due_at=rect.due_at,
        status=rect.status,
        overdue=rules.is_overdue(rect.status, rect.due_at, now),
        before_photo_url=photo_url(rect.id, "before") if before is not None else None,
        after_photo_url=photo_url(rect.id, "after") if after is not None else None,
        after_photo=_after_photo(rect, after) if after is not None else None,
        visit_id=rect.visit_id,
        note=rect.note,
        submit_note=rect.submit_note,
        submitted_at=rect.submitted_at,
        verified_at=rect.verified_at,
        reopened_at=rect.reopened_at,
        created_at=rect.created_at,
        history=[
            HistoryEntry(
                status=RectificationStatus(c.status),
                at=c.at,
                by=_person(c.by_user_id, users) if c.by_user_id else None,
                reason=c.reason,
            )
            for c in history
        ],
        server_time=now,
    )


def _store_ref(rect: Rectification, store: Store | None) -> RectificationStore:
    # A store is never deleted while a rectification names it (the foreign key refuses it).
    if store is None:
        return RectificationStore(id=rect.store_id, code="", name="")
    return RectificationStore(id=store.id, code=store.code, name=store.name)


def _person(user_id: uuid.UUID, users: dict[uuid.UUID, User]) -> RectificationUser:
    user = users.get(user_id)
    return RectificationUser(id=user_id, display_name=user.display_name if user else "")


def _after_photo(rect: Rectification, photo: Photo) -> AfterPhotoRead:
    url = photo_url(rect.id, "after")
    return AfterPhotoRead(
        sha256=photo.sha256.hex(),
        width=photo.width,
        height=photo.height,
        bytes=photo.bytes,
        url=url,
        thumb_url=f"{url}?thumb=1",
        taken_at=photo.taken_at,
        current=rules.photo_counts(photo.taken_at, rect.reopened_at),
        flags=photo.flags,
    )


async def get_rectification(
    session: AsyncSession, principal: Principal, rect_id: uuid.UUID, now: datetime
) -> RectificationRead:
    return await read(session, await _visible(session, principal, rect_id), now)


async def list_rectifications(
    session: AsyncSession,
    principal: Principal,
    filters: RectificationFilters,
    page: PageParams,
    now: datetime,
) -> tuple[list[RectificationRead], str | None]:
    """Visible rectifications sorted by due time (soonest first), with a (due_at, id) cursor:
    one query for the page, then the batched reads of :func:`reads`."""
    rows, cursor = await repository.visible_page(session, principal, filters, page, now)
    return await reads(session, principal.org_id, rows, now), cursor


async def for_audits(
    session: AsyncSession, org_id: uuid.UUID, audit_ids: Collection[uuid.UUID], now: datetime
) -> dict[uuid.UUID, list[RectificationRead]]:
    """Each audit's rectifications by item key (audits without any map to an empty list)."""
    rows = await repository.of_audits(session, org_id, audit_ids)
    out: dict[uuid.UUID, list[RectificationRead]] = {a: [] for a in audit_ids}
    for item in await reads(session, org_id, rows, now):
        out.setdefault(item.audit_id, []).append(item)
    return out


async def open_at_store(
    session: AsyncSession, org_id: uuid.UUID, store_id: uuid.UUID, now: datetime
) -> list[RectificationRead]:
    """The store's rectifications still owed (open or reopened), soonest due first."""
    return await reads(
        session, org_id, await repository.owed_at_store(session, org_id, store_id), now
    )


async def open_count_at_store(session: AsyncSession, org_id: uuid.UUID, store_id: uuid.UUID) -> int:
    return await repository.count_owed_at_store(session, org_id, store_id)


async def fixed_during_visit(
    session: AsyncSession, org_id: uuid.UUID, visit_id: uuid.UUID, now: datetime | None = None
) -> list[RectificationRead]:
    """The rectifications whose current after photo was taken during ``visit_id`` (whatever
    their status since), for the visit's summary card."""
    rows = await repository.of_visit(session, org_id, visit_id)
    return await reads(session, org_id, rows, now or utc_now())


# --- photos -------------------------------------------------------------------------------------


async def photo_file(
    session: AsyncSession,
    storage: Storage,
    principal: Principal,
    rect_id: uuid.UUID,
    which: str,
    *,
    thumbnail: bool,
) -> tuple[bytes, str]:
    """The before (``which="before"``) or after photo's JPEG and its ETag, for anyone who can
    see the rectification."""
    rect = await _visible(session, principal, rect_id)
    photo = await (
        _before_photo(session, rect) if which == "before" else _current_after(session, rect)
    )
    if photo is None:
        raise NotFound(f"The rectification has no {which} photo.")
    data = await photo_service.read_file(storage, photo, thumbnail=thumbnail)
    return data, photo.sha256.hex() + (".thumb" if thumbnail else "")


async def _before_photo(session: AsyncSession, rect: Rectification) -> Photo | None:
    owner = photo_service.PhotoOwner.audit_item(rect.audit_id, rect.item_key)
    return await photo_service.current(session, rect.org_id, owner)


async def _current_after(session: AsyncSession, rect: Rectification) -> Photo | None:
    owner = photo_service.PhotoOwner.after(rect.id)
    return await photo_service.current(session, rect.org_id, owner)


async def put_after_photo(
    session: AsyncSession,
    settings: Settings,
    storage: Storage,
    principal: Principal,
    rect_id: uuid.UUID,
    data: bytes,
    now: datetime,
) -> tuple[Rectification, bool]:
    """The assignee's after photo, taken at the store during their open visit there. Returns
    (rectification, changed); the same bytes again change nothing."""
    rect = await _for_assignee_update(session, principal, rect_id)
    at_store: list[Visit] = []

    async def at_the_door() -> list[str]:
        """Runs only for an upload that is not a replay: the task must be owed and the
        assignee at the store; then the watermark names both."""
        if not rules.is_owed(rect.status):
            raise RectificationNotOpen(rect.status.value)
        visit = await visit_service.open_visit_of(session, rect.org_id, rect.assignee_id)
        if visit is None or visit.store_id != rect.store_id:
            raise NotAtStore(rect.store_id, visit.store_id if visit is not None else None)
        at_store.append(visit)
        store = await store_service.get_store(session, rect.org_id, rect.store_id)
        rep = await user_service.get_user(session, rect.org_id, rect.assignee_id)
        return watermark_lines(store.name, rep.display_name, now, settings.timezone)

    async def flags_for(duplicates: list[photo_service.DuplicateMatch]) -> list[dict[str, Any]]:
        return after_photo_flags(await _before_photo(session, rect), duplicates)

    accepted = await photo_service.accept_upload(
        session,
        storage,
        org_id=rect.org_id,
        owner=photo_service.PhotoOwner.after(rect.id),
        data=data,
        watermark_lines=at_the_door,
        font_path=cjk_font_path(settings),
        now=now,
        flags_for=flags_for,
    )
    if not accepted.changed:
        return rect, False
    (visit,) = at_store
    rect.visit_id = visit.id
    rect.updated_at = now
    await session.flush()
    await _event(
        session,
        rect,
        principal.user_id,
        RectificationPhotoAdded(
            **event_fields(rect),
            visit_id=visit.id,
            sha256=accepted.photo.sha256.hex(),
            duplicate_of=[d.photo_id for d in accepted.duplicates[:5]],
        ),
        now,
    )
    return rect, True


def after_photo_flags(
    before: Photo | None, duplicates: Sequence[photo_service.DuplicateMatch]
) -> list[dict[str, Any]]:
    """The after photo's flags: one when it repeats the before photo, one for the closest
    duplicate of any other photo of the org (as a visit photo is flagged)."""
    flags: list[dict[str, Any]] = []
    repeats = [d for d in duplicates if before is not None and d.photo_id == before.id]
    others = [d for d in duplicates if d not in repeats]
    if repeats:
        flags.append(_repeats_before_flag(repeats[0]))
    if others:
        flags.append(
            photo_service.duplicate_flag(
                others[0], subject_zh="整改后照片", subject_en="after photo"
            )
        )
    return flags


def _how(distance: int) -> tuple[str, str]:
    if distance == 0:
        return "完全相同", "identical"
    return f"高度相似（差异 {distance}）", f"near-identical (distance {distance})"


def _repeats_before_flag(match: photo_service.DuplicateMatch) -> dict[str, Any]:
    how_zh, how_en = _how(match.distance)
    flag = Flag(
        FlagCode.duplicate_photo,
        f"整改后照片与整改前照片{how_zh}",
        f"after photo {how_en} to the before photo",
    )
    return {**flag.as_dict(), "repeats": "before_photo", "other_photo_id": str(match.photo_id)}


# --- transitions --------------------------------------------------------------------------------


async def submit(
    session: AsyncSession, principal: Principal, rect_id: uuid.UUID, note: str, now: datetime
) -> Rectification:
    """The assignee submits the fix at ``now`` (the after photo must be newer than the last
    reopen). The same submit again answers the submitted task unchanged."""
    rect = await _for_assignee_update(session, principal, rect_id)
    if rect.status == RectificationStatus.submitted and (rect.submit_note or "") == note:
        return rect
    if not rules.is_owed(rect.status):
        raise RectificationNotOpen(rect.status.value)
    after = await _current_after(session, rect)
    if after is None or not rules.photo_counts(after.taken_at, rect.reopened_at):
        raise RectificationIncomplete(["after_photo"])
    rect.status = RectificationStatus.submitted
    rect.submitted_at = now
    rect.submit_note = note
    rect.updated_at = now
    repository.add_change(session, rect, by_user_id=principal.user_id, reason=note or None, at=now)
    await session.flush()
    await _event(
        session,
        rect,
        principal.user_id,
        RectificationSubmitted(**event_fields(rect), visit_id=rect.visit_id, note=note or None),
        now,
    )
    store = await store_service.find_store(session, rect.org_id, rect.store_id)
    rep = await user_service.get_user(session, rect.org_id, rect.assignee_id)
    message = messages.submitted(rect.title, _name(store), rep.display_name)
    for user_id in await _judges(session, rect, store):
        await _notify(session, rect, user_id, message, now)
    return rect


async def verify(
    session: AsyncSession, principal: Principal, rect_id: uuid.UUID, comment: str, now: datetime
) -> Rectification:
    """Accept the submitted fix at ``now``; the same verify again changes nothing."""
    rect, store = await _for_judge_update(session, principal, rect_id)
    if rect.status == RectificationStatus.verified and await _last_step_is(
        session, rect, RectificationStatus.verified, comment
    ):
        return rect
    if rect.status != RectificationStatus.submitted:
        raise RectificationNotSubmitted(rect.status.value)
    rect.status = RectificationStatus.verified
    rect.verified_at = now
    rect.updated_at = now
    repository.add_change(
        session, rect, by_user_id=principal.user_id, reason=comment or None, at=now
    )
    await session.flush()
    await _event(
        session,
        rect,
        principal.user_id,
        RectificationVerified(**event_fields(rect), comment=comment or None),
        now,
    )
    await _notify(session, rect, rect.assignee_id, messages.verified(rect.title, _name(store)), now)
    return rect


async def reopen(
    session: AsyncSession, principal: Principal, rect_id: uuid.UUID, reason: str, now: datetime
) -> Rectification:
    """Hand the submitted fix back to the assignee at ``now`` with a reason (see the module
    docstring for the new due time); the same reopen again changes nothing."""
    rect, store = await _for_judge_update(session, principal, rect_id)
    if rect.status == RectificationStatus.reopened and await _last_step_is(
        session, rect, RectificationStatus.reopened, reason
    ):
        return rect
    if rect.status != RectificationStatus.submitted:
        raise RectificationNotSubmitted(rect.status.value)
    rect.status = RectificationStatus.reopened
    rect.reopened_at = now
    rect.due_at = rules.due_after_reopen(rect.due_at, rect.critical, now)
    # The new due time is at least two days away: every reminder is pending again.
    rect.reminded_24h_at = None
    rect.reminded_due_at = None
    rect.escalated_at = None
    rect.updated_at = now
    repository.add_change(session, rect, by_user_id=principal.user_id, reason=reason, at=now)
    await session.flush()
    await _event(
        session,
        rect,
        principal.user_id,
        RectificationReopened(**event_fields(rect), reason=reason),
        now,
    )
    message = messages.reopened(rect.title, _name(store), reason)
    await _notify(session, rect, rect.assignee_id, message, now)
    return rect


async def _last_step_is(
    session: AsyncSession, rect: Rectification, status: RectificationStatus, reason: str
) -> bool:
    last = await repository.last_change(session, rect.org_id, rect.id)
    return last is not None and last.status == status.value and (last.reason or "") == reason


# --- who may do what ----------------------------------------------------------------------------


async def _visible(
    session: AsyncSession, principal: Principal, rect_id: uuid.UUID, *, lock: bool = False
) -> Rectification:
    rect = await repository.visible_by_id(session, principal, rect_id, lock=lock)
    if rect is None:
        raise NotFound("No such rectification.")
    return rect


async def _for_assignee_update(
    session: AsyncSession, principal: Principal, rect_id: uuid.UUID
) -> Rectification:
    # Locked: a photo, a submit and a verify of the same task never interleave.
    rect = await _visible(session, principal, rect_id, lock=True)
    if rect.assignee_id != principal.user_id:
        raise Forbidden("Only the rep the rectification is assigned to can fix it.")
    return rect


async def _for_judge_update(
    session: AsyncSession, principal: Principal, rect_id: uuid.UUID
) -> tuple[Rectification, Store | None]:
    rect = await _visible(session, principal, rect_id, lock=True)
    store = await store_service.find_store(session, rect.org_id, rect.store_id)
    if not await _may_judge(session, principal, rect, store):
        raise Forbidden(
            "Only a supervisor of the store's team, the auditor who raised it, or an admin "
            "can verify or reopen a rectification."
        )
    return rect, store


async def _may_judge(
    session: AsyncSession, principal: Principal, rect: Rectification, store: Store | None
) -> bool:
    if principal.role == Role.admin:
        return True
    if principal.role != Role.supervisor:
        return False
    if rect.raised_by_id == principal.user_id:
        return True
    team_id = store.team_id if store is not None else None
    return await team_service.leads_team(session, rect.org_id, team_id, principal.user_id)


async def _judges(
    session: AsyncSession, rect: Rectification, store: Store | None
) -> list[uuid.UUID]:
    """Who is told of a submit or an escalation: the supervisor of the store's team and the
    auditor, if active and not the assignee; else the org's active admins."""
    team_id = store.team_id if store is not None else None
    supervisor = await team_service.supervisor_of(session, rect.org_id, team_id)
    wanted = {rect.raised_by_id} | ({supervisor} if supervisor else set())
    wanted.discard(rect.assignee_id)
    users = await user_service.users_by_id(session, rect.org_id, wanted)
    active = sorted(u for u in wanted if u in users and users[u].is_active)
    if active:
        return active
    return sorted(await user_service.active_ids_with_role(session, rect.org_id, Role.admin))


def _name(store: Store | None) -> str | None:
    return store.name if store is not None else None


# --- events and notifications -------------------------------------------------------------------


class RectificationEventFields(TypedDict):
    audit_id: uuid.UUID
    store_id: uuid.UUID
    item_key: str
    assignee_id: uuid.UUID
    due_at: datetime


def event_fields(rect: Rectification) -> RectificationEventFields:
    """What every rectification event says about its task (as it is now)."""
    return {
        "audit_id": rect.audit_id,
        "store_id": rect.store_id,
        "item_key": rect.item_key,
        "assignee_id": rect.assignee_id,
        "due_at": rect.due_at,
    }


async def _event(
    session: AsyncSession,
    rect: Rectification,
    actor_id: uuid.UUID | None,
    payload: EventPayload,
    now: datetime,
) -> None:
    await events.record(
        session, payload, org_id=rect.org_id, subject_id=rect.id, actor_id=actor_id, occurred_at=now
    )


async def _notify(
    session: AsyncSession,
    rect: Rectification,
    user_id: uuid.UUID,
    message: messages.Message,
    now: datetime,
) -> None:
    await notifications.notify(
        session,
        org_id=rect.org_id,
        user_id=user_id,
        type=message.type,
        title=message.title,
        body=message.body,
        subject_type="rectification",
        subject_id=rect.id,
        now=now,
    )


# --- reminders and escalation (called by the jobs; rows claimed with SKIP LOCKED) --------------

JOB_BATCH = 200


async def remind_day_before(
    session: AsyncSession, now: datetime, batch: int = JOB_BATCH, *, org_id: uuid.UUID | None = None
) -> int:
    """Tell the assignee of each owed task entering its last 24 hours (every org's, or
    ``org_id``'s only). Each claimed row is locked (others skip it) and stamped in the same
    transaction as its notification, so with any number of replicas it goes out exactly once."""
    claimed = await repository.claim_entering_last_day(session, now, batch, org_id)
    stores = await _store_names(session, claimed)
    for rect in claimed:
        rect.reminded_24h_at = now
        message = messages.due_soon(rect.title, stores.get(rect.store_id))
        await _notify(session, rect, rect.assignee_id, message, now)
    await session.flush()
    return len(claimed)


async def remind_due(
    session: AsyncSession, now: datetime, batch: int = JOB_BATCH, *, org_id: uuid.UUID | None = None
) -> int:
    """Tell the assignee of each owed task whose time has come. A day-before reminder that never
    went out (the job was down) is stamped as handled too: "due tomorrow" late would confuse."""
    claimed = await repository.claim_due(session, now, batch, org_id)
    stores = await _store_names(session, claimed)
    for rect in claimed:
        rect.reminded_due_at = now
        rect.reminded_24h_at = rect.reminded_24h_at or now
        message = messages.due_now(rect.title, stores.get(rect.store_id))
        await _notify(session, rect, rect.assignee_id, message, now)
    await session.flush()
    return len(claimed)


async def escalate_overdue(
    session: AsyncSession, now: datetime, batch: int = JOB_BATCH, *, org_id: uuid.UUID | None = None
) -> int:
    """Tell the supervisor of the store's team and the auditor (or the org's admins) about each
    owed task past due, once, and record ``rectification.overdue``."""
    claimed = await repository.claim_overdue(session, now, batch, org_id)
    for rect in claimed:
        rect.escalated_at = now
        store = await store_service.find_store(session, rect.org_id, rect.store_id)
        recipients = await _judges(session, rect, store)
        rep = await user_service.get_user(session, rect.org_id, rect.assignee_id)
        message = messages.overdue(rect.title, _name(store), rep.display_name)
        for user_id in recipients:
            await _notify(session, rect, user_id, message, now)
        await _event(
            session,
            rect,
            None,
            RectificationOverdue(**event_fields(rect), notified=recipients),
            now,
        )
    await session.flush()
    return len(claimed)


async def _store_names(
    session: AsyncSession, rects: Sequence[Rectification]
) -> dict[uuid.UUID, str]:
    names: dict[uuid.UUID, str] = {}
    for org_id in {r.org_id for r in rects}:
        store_ids = {r.store_id for r in rects if r.org_id == org_id}
        stores = await store_service.stores_by_id(session, org_id, store_ids)
        names.update({store_id: store.name for store_id, store in stores.items()})
    return names
