"""Audit tours (巡店): templates with versioned checklists, and audits started at the door.

An audit starts exactly as a visit's check-in does (backend.presence.rules: the door code, the
geofence, the clock correction, the presence flags, one open audit per auditor, replay versus
conflict), pins the checklist version it started with (a foreign key and the
``audits_check_in_locked`` trigger keep it), collects results and item photos, and on submit is
scored (backend.audits.scoring) and turns every failed item into a rectification
(backend.rectifications.service). docs/audits.md explains the rules.
"""

import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audits import checklist as checklists
from backend.audits import defaults, repository, results, scoring
from backend.audits.exceptions import (
    AuditAlreadyOpen,
    AuditIdConflict,
    AuditIncomplete,
    AuditNotOpen,
    InvalidAudit,
    InvalidChecklist,
    NoTemplateForStore,
)
from backend.audits.schemas import (
    AuditStartRequest,
    AuditTemplateCreate,
    RectificationChoice,
    SubmitRequest,
)
from backend.auth.principal import Principal
from backend.config import Settings
from backend.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from backend.events import service as events
from backend.events.catalog import (
    AuditAbandoned,
    AuditChecklistPublished,
    AuditPhotoAdded,
    AuditResultsSaved,
    AuditStarted,
    AuditSubmitted,
    AuditTemplateCreated,
)
from backend.kit.fonts import cjk_font_path
from backend.kit.pagination import PageParams
from backend.kit.storage import Storage
from backend.kit.watermark import watermark_lines
from backend.models import (
    Audit,
    AuditBand,
    AuditChecklist,
    AuditStatus,
    AuditTemplate,
    Organization,
    Photo,
    Rectification,
    Store,
    User,
)
from backend.models.user import Role
from backend.photos import service as photo_service
from backend.presence import flags as trust
from backend.presence import rules as door
from backend.rectifications import service as rectification_service
from backend.rectifications.schemas import RectificationRead
from backend.stores import service as store_service
from backend.teams import service as team_service
from backend.users import service as user_service
from backend.visits import service as visit_service

STANDARD_KEY = defaults.STANDARD_TEMPLATE.key
# Who gets a failed item when the auditor names nobody: the rep of the store's latest visit in
# this window (DESIGN §5).
ASSIGNEE_WINDOW = timedelta(days=30)
DUE_CRITICAL = timedelta(days=2)
DUE_DEFAULT = timedelta(days=7)
DUE_MAX = timedelta(days=14)

_FINGERPRINT_DOMAIN = b"doorstep-audit-start-v1\x00"
_KEY = re.compile(r"[a-z][a-z0-9_]{1,39}")
_ITEM_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")


# --- templates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateView:
    template: AuditTemplate
    checklist: checklists.Checklist | None


async def create_standard_template(
    session: AsyncSession, org_id: uuid.UUID, actor_id: uuid.UUID | None
) -> TemplateView:
    """The bilingual ``standard`` template (门店标准巡检) and version 1 of its checklist, which
    every new organization starts with."""
    standard = defaults.STANDARD_TEMPLATE
    view = await create_template(
        session,
        org_id,
        AuditTemplateCreate(
            key=standard.key,
            name=standard.name,
            name_en=standard.name_en,
            customer_types=list(standard.customer_types),
        ),
        actor_id,
    )
    checklist = await publish_checklist(
        session, org_id, standard.key, defaults.standard_checklist(), actor_id
    )
    return TemplateView(view.template, checklist)


async def create_template(
    session: AsyncSession, org_id: uuid.UUID, data: AuditTemplateCreate, actor_id: uuid.UUID | None
) -> TemplateView:
    """A template without a checklist yet (publish one with :func:`publish_checklist`)."""
    if await repository.template(session, org_id, data.key) is not None:
        raise Conflict(f"The audit template {data.key!r} already exists.", field="key")
    template = AuditTemplate(
        org_id=org_id,
        key=data.key,
        name=data.name,
        name_en=data.name_en,
        customer_types=sorted(set(data.customer_types)),
    )
    session.add(template)
    await session.flush()
    await events.record(
        session,
        AuditTemplateCreated(key=data.key),
        org_id=org_id,
        subject_id=template.id,
        actor_id=actor_id,
    )
    return TemplateView(template, None)


async def list_templates(session: AsyncSession, org_id: uuid.UUID) -> list[TemplateView]:
    templates = await repository.templates(session, org_id)
    latest = {
        row.template_key: _checklist(row)
        for row in await repository.latest_checklists(session, org_id)
    }
    return [TemplateView(t, latest.get(t.key)) for t in templates]


async def get_template(session: AsyncSession, org_id: uuid.UUID, key: str) -> AuditTemplate:
    template = await _find_template(session, org_id, key)
    if template is None:
        raise NotFound("No such audit template.")
    return template


async def checklist_of(
    session: AsyncSession, org_id: uuid.UUID, key: str, version: int | None
) -> checklists.Checklist:
    """A version of the template's checklist (the latest when ``version`` is None)."""
    await get_template(session, org_id, key)
    row = (
        await repository.latest_checklist(session, org_id, key)
        if version is None
        else await repository.checklist_version(session, org_id, key, version)
    )
    if row is None:
        raise NotFound(f"The audit template {key!r} has no checklist version {version or 1}.")
    return _checklist(row)


async def publish_checklist(
    session: AsyncSession,
    org_id: uuid.UUID,
    key: str,
    data: checklists.ChecklistInput,
    actor_id: uuid.UUID | None,
) -> checklists.Checklist:
    """Publish ``data.items`` as the template's next checklist version. Items identical to the
    current version publish nothing (a retried PUT does not pile up versions)."""
    problems = checklists.checklist_problems(data)
    if problems:
        raise InvalidChecklist(problems)
    # The lock serialises publishers of one template, so two cannot both claim version N+1.
    if await _find_template(session, org_id, key, lock=True) is None:
        raise NotFound("No such audit template.")
    current = await repository.latest_checklist(session, org_id, key)
    items = checklists.stored_items(data)
    if current is not None and current.items == items:
        return _checklist(current)
    row = AuditChecklist(
        org_id=org_id,
        template_key=key,
        version=(current.version + 1) if current else 1,
        items=items,
        created_by=actor_id,
    )
    session.add(row)
    await session.flush()
    await events.record(
        session,
        AuditChecklistPublished(template_key=key, version=row.version, item_count=len(items)),
        org_id=org_id,
        subject_id=row.id,
        actor_id=actor_id,
    )
    return _checklist(row)


async def _find_template(
    session: AsyncSession, org_id: uuid.UUID, key: str, *, lock: bool = False
) -> AuditTemplate | None:
    if not _KEY.fullmatch(key):
        return None  # cannot be a key: no need to ask (a NUL byte would reach PostgreSQL)
    return await repository.template(session, org_id, key, lock=lock)


# A published version never changes, so each is parsed once per process (a handful per org).
_PARSED: dict[uuid.UUID, checklists.Checklist] = {}


def _checklist(row: AuditChecklist) -> checklists.Checklist:
    parsed = _PARSED.get(row.id)
    if parsed is None:
        parsed = checklists.checklist_from_stored(row.template_key, row.version, row.items)
        _PARSED[row.id] = parsed
    return parsed


# --- the audit's read --------------------------------------------------------------------------


@dataclass
class AuditView:
    audit: Audit
    store: Store
    auditor: User
    checklist: checklists.Checklist
    photos: dict[str, Photo] = field(default_factory=dict)
    rectifications: list[RectificationRead] = field(default_factory=list)
    previous: Audit | None = None


async def _view(session: AsyncSession, audit: Audit, now: datetime) -> AuditView:
    return (await _views(session, [audit], now))[0]


async def _views(session: AsyncSession, audits: Sequence[Audit], now: datetime) -> list[AuditView]:
    """The read of each audit (one org's): its store, auditor, pinned checklist, item photos and
    rectifications read for the whole page at once; only ``previous`` is one query each."""
    if not audits:
        return []
    org_id = audits[0].org_id
    ids = [a.id for a in audits]
    stores = await store_service.stores_by_id(session, org_id, {a.store_id for a in audits})
    auditors = await user_service.users_by_id(session, org_id, {a.auditor_id for a in audits})
    pinned = {
        version: await _checklist_version(session, org_id, *version)
        for version in {(a.template_key, a.template_version) for a in audits}
    }
    photos = await photo_service.photos_of_audits(session, org_id, ids)
    rectifications = await rectification_service.for_audits(session, org_id, ids, now)
    return [
        AuditView(
            audit,
            stores[audit.store_id],
            auditors[audit.auditor_id],
            pinned[(audit.template_key, audit.template_version)],
            photos.get(audit.id, {}),
            rectifications.get(audit.id, []),
            await repository.previous_submitted(session, org_id, audit.store_id, audit.started_at),
        )
        for audit in audits
    ]


async def _checklist_version(
    session: AsyncSession, org_id: uuid.UUID, template_key: str, version: int
) -> checklists.Checklist:
    row = await repository.checklist_version(session, org_id, template_key, version)
    assert row is not None  # the foreign key keeps a pinned version
    return _checklist(row)


async def get_audit(
    session: AsyncSession, principal: Principal, audit_id: uuid.UUID, now: datetime
) -> AuditView:
    return await _view(session, await _visible(session, principal, audit_id), now)


async def list_audits(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    store_id: uuid.UUID | None = None,
    auditor_id: uuid.UUID | None = None,
    from_: datetime | None = None,
    to: datetime | None = None,
    now: datetime,
) -> tuple[list[AuditView], str | None]:
    _require_auditor_role(principal, "read audits")
    audits, cursor = await repository.visible_page(
        session, principal, page, store_id=store_id, auditor_id=auditor_id, from_=from_, to=to
    )
    return await _views(session, audits, now), cursor


@dataclass(frozen=True)
class AuditBrief:
    """An audit as a store's timeline shows it."""

    id: uuid.UUID
    auditor_id: uuid.UUID
    status: AuditStatus
    started_at: datetime
    submitted_at: datetime | None
    percent: float | None
    band: str | None
    passed: bool | None
    trust_score: int


async def audits_at_store(
    session: AsyncSession, org_id: uuid.UUID, store_id: uuid.UUID, since: datetime
) -> list[AuditBrief]:
    """The store's audits started since ``since``, newest first (open, submitted, abandoned)."""
    return [
        AuditBrief(
            a.id,
            a.auditor_id,
            a.status,
            a.started_at,
            a.submitted_at,
            a.score_percent,
            a.band.value if a.band else None,
            a.passed,
            a.trust_score,
        )
        for a in await repository.at_store_since(session, org_id, store_id, since)
    ]


async def _visible(
    session: AsyncSession, principal: Principal, audit_id: uuid.UUID, *, lock: bool = False
) -> Audit:
    _require_auditor_role(principal, "read audits")
    audit = await repository.visible_by_id(session, principal, audit_id, lock=lock)
    if audit is None:
        raise NotFound("No such audit.")
    return audit


def _require_auditor_role(principal: Principal, what: str) -> None:
    if principal.role not in (Role.supervisor, Role.admin):
        raise Forbidden(f"Only supervisors and admins {what}.")


async def _for_auditor_update(
    session: AsyncSession, principal: Principal, audit_id: uuid.UUID
) -> Audit:
    # Locked: writes to one audit (results, photos, submit) never interleave.
    audit = await _visible(session, principal, audit_id, lock=True)
    if audit.auditor_id != principal.user_id:
        raise Forbidden("Only the auditor who started the audit can change it.")
    return audit


# --- start at the door -------------------------------------------------------------------------


@dataclass(frozen=True)
class Started:
    view: AuditView
    created: bool  # False: a replay of an audit already started


async def start(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    data: AuditStartRequest,
    server_received_at: datetime,
) -> Started:
    """Start an audit at the store whose door code was scanned, as received at
    ``server_received_at``: the same door check as a visit's check-in, then the checklist pin."""
    _require_auditor_role(principal, "run audit tours")
    arrival = door.arrive(data, server_received_at)
    fingerprint = door.arrival_fingerprint(
        _FINGERPRINT_DOMAIN,
        data.id,
        data,
        arrival.token,
        (data.template_key or "").encode(),
    )
    replay = await _replay_or_refuse(session, principal, data.id, fingerprint)
    if replay is not None:
        return Started(await _view(session, replay, server_received_at), created=False)

    checked = await _door_check(session, settings, principal, arrival)
    store, at_door = checked.store, checked.check
    if principal.role == Role.supervisor and not await team_service.leads_team(
        session, principal.org_id, store.team_id, principal.user_id
    ):
        raise Forbidden("Only a supervisor of the store's team (or an admin) audits this store.")
    checklist = await _checklist_for(session, store, data.template_key)
    values = _new_audit(principal, data, server_received_at, at_door, checklist, fingerprint)
    if not await repository.insert_if_absent(session, values):
        # Lost a race: the same start replayed concurrently, or another audit opened.
        replay = await _replay_or_refuse(session, principal, data.id, fingerprint)
        if replay is not None:
            return Started(await _view(session, replay, server_received_at), created=False)
        raise AuditAlreadyOpen(data.id)  # the other open audit was closed meanwhile
    audit = await repository.by_id(session, data.id)
    assert audit is not None
    await events.record(
        session,
        AuditStarted(
            store_id=store.id,
            template_key=checklist.template_key,
            template_version=checklist.version,
            trust_score=audit.trust_score,
            flags=[f.code for f in at_door.flags],
        ),
        org_id=principal.org_id,
        subject_id=audit.id,
        actor_id=principal.user_id,
        occurred_at=server_received_at,
    )
    return Started(await _view(session, audit, server_received_at), created=True)


async def _replay_or_refuse(
    session: AsyncSession, principal: Principal, audit_id: uuid.UUID, fingerprint: bytes
) -> Audit | None:
    """The auditor's own audit with this id if this is a replay of its start; 409 for an id used
    with other content, or for another open audit; else None."""
    existing = await repository.by_id(session, audit_id)
    if existing is not None:
        if (
            existing.org_id != principal.org_id
            or existing.auditor_id != principal.user_id
            or existing.check_in_fingerprint != fingerprint
        ):
            raise AuditIdConflict()
        return existing
    open_audit = await repository.open_of_auditor(session, principal.org_id, principal.user_id)
    if open_audit is not None:
        raise AuditAlreadyOpen(open_audit.id, open_audit.store_id)
    return None


@dataclass(frozen=True)
class _AtDoor:
    store: Store
    check: door.AtDoor[door.DoorStore]


def _door_store(store: Store) -> door.DoorStore:
    return door.DoorStore(
        id=store.id,
        code=store.code,
        name=store.name,
        address=store.address,
        lat=store.lat,
        lng=store.lng,
        geofence_radius_m=store.geofence_radius_m,
        customer_type=store.customer_type,
        qr_version=store.qr_version,
    )


async def _door_check(
    session: AsyncSession, settings: Settings, principal: Principal, arrival: door.Arrival
) -> _AtDoor:
    store: Store | None = None
    org: Organization | None = None
    if arrival.token is not None:
        store, org = await store_service.store_at_door(
            session, principal.org_id, arrival.token.store_id
        )
    at = arrival.time.checked_in_at
    previous = await repository.previous_start(session, principal.org_id, principal.user_id, at)
    day_start, day_end = _local_day(settings, at)
    same_day = store is not None and await repository.audited_between(
        session, principal.org_id, principal.user_id, store.id, day_start, day_end
    )
    check = door.door_check(
        settings.secret,
        arrival,
        _door_store(store) if store is not None else None,
        org,
        door.PreviousCheckIn(*previous) if previous else None,
        same_day,
    )
    assert store is not None  # the check passed: the code named this store
    return _AtDoor(store, check)


async def _checklist_for(
    session: AsyncSession, store: Store, template_key: str | None
) -> checklists.Checklist:
    """The checklist version the audit pins: the named template's latest, else the latest of
    the template made for the store's customer type, else of ``standard`` (or any template for
    every type)."""
    usable = [
        view
        for view in await list_templates(session, store.org_id)
        if view.checklist is not None
        and (
            not view.template.customer_types or store.customer_type in view.template.customer_types
        )
    ]
    if template_key is not None:
        chosen = next((v for v in usable if v.template.key == template_key), None)
    else:
        chosen = (
            next((v for v in usable if v.template.customer_types), None)
            or next((v for v in usable if v.template.key == STANDARD_KEY), None)
            or next(iter(usable), None)
        )
    if chosen is None or chosen.checklist is None:
        raise NoTemplateForStore(template_key)
    return chosen.checklist


def _new_audit(
    principal: Principal,
    data: AuditStartRequest,
    server_received_at: datetime,
    at_door: door.AtDoor[door.DoorStore],
    checklist: checklists.Checklist,
    fingerprint: bytes,
) -> dict[str, Any]:
    position = data.position
    return {
        "id": data.id,
        "org_id": principal.org_id,
        "store_id": at_door.store.id,
        "auditor_id": principal.user_id,
        "status": AuditStatus.open,
        "template_key": checklist.template_key,
        "template_version": checklist.version,
        "started_at": at_door.time.checked_in_at,
        "check_in_lat": position.lat,
        "check_in_lng": position.lng,
        "check_in_accuracy_m": position.accuracy_m,
        "check_in_distance_m": round(at_door.fence.distance_m, 1),
        "captured_at": position.captured_at,
        "device_time": data.device_time,
        "server_received_at": server_received_at,
        "clock_offset_s": at_door.time.clock_offset.total_seconds(),
        "queued_offline": data.queued_offline,
        "check_in_fingerprint": fingerprint,
        "trust_score": trust.trust_score(at_door.flags),
        "flags": [flag.as_dict() for flag in at_door.flags],
        "results": {},
        "failed_critical": [],
        "created_at": server_received_at,
        "updated_at": server_received_at,
    }


def _local_day(settings: Settings, at: datetime) -> tuple[datetime, datetime]:
    local = at.astimezone(ZoneInfo(settings.timezone))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


# --- results and photos ------------------------------------------------------------------------


async def save_results(
    session: AsyncSession,
    principal: Principal,
    audit_id: uuid.UUID,
    incoming: dict[str, Any],
    now: datetime,
) -> AuditView:
    """Merge ``incoming`` into the audit's results, validated against its pinned checklist
    (``invalid_audit`` lists every bad entry). The same results again change nothing."""
    audit = await _for_auditor_update(session, principal, audit_id)
    checklist = await _pinned(session, audit)
    problems = results.result_problems(checklist, incoming)
    if problems:
        raise InvalidAudit(checklist.version, problems)
    merged = results.merge_results(checklist, audit.results, incoming)
    if merged != audit.results:
        if audit.status != AuditStatus.open:
            raise AuditNotOpen(audit.status)
        audit.results = merged
        audit.results_updated_at = now
        await session.flush()
        await events.record(
            session,
            AuditResultsSaved(item_keys=sorted(incoming)),
            org_id=audit.org_id,
            subject_id=audit.id,
            actor_id=principal.user_id,
            occurred_at=now,
        )
    return await _view(session, audit, now)


async def put_item_photo(
    session: AsyncSession,
    settings: Settings,
    storage: Storage,
    principal: Principal,
    audit_id: uuid.UUID,
    item_key: str,
    data: bytes,
    now: datetime,
) -> tuple[AuditView, bool]:
    """Add or replace an item's photo, with every photo rule (DESIGN §6); a photo that repeats
    another photo of the org is flagged on the audit."""
    audit = await _for_auditor_update(session, principal, audit_id)
    checklist = await _pinned(session, audit)
    if not _ITEM_KEY.fullmatch(item_key) or checklist.item(item_key) is None:
        raise NotFound("The audit's checklist has no such item.")
    owner = photo_service.PhotoOwner.audit_item(audit.id, item_key)

    async def at_the_door() -> list[str]:
        """Not a replay (accept_upload answers one as it is): the audit must be open; the
        watermark names its store and auditor."""
        if audit.status != AuditStatus.open:
            raise AuditNotOpen(audit.status)
        store = await store_service.get_store(session, audit.org_id, audit.store_id)
        auditor = await user_service.get_user(session, audit.org_id, audit.auditor_id)
        return watermark_lines(
            store.name, f"巡店 {auditor.display_name}", audit.started_at, settings.timezone
        )

    async def flags_for(duplicates: list[photo_service.DuplicateMatch]) -> list[dict[str, Any]]:
        photo_flags = [_duplicate_flag(item_key, d) for d in duplicates[:1]]
        _replace_item_flags(audit, item_key, photo_flags)
        await session.flush()
        return photo_flags

    accepted = await photo_service.accept_upload(
        session,
        storage,
        org_id=audit.org_id,
        owner=owner,
        data=data,
        watermark_lines=at_the_door,
        font_path=cjk_font_path(settings),
        now=now,
        flags_for=flags_for,
    )
    if not accepted.changed:
        return await _view(session, audit, now), False  # a replay: nothing is redone
    await events.record(
        session,
        AuditPhotoAdded(
            item_key=item_key,
            sha256=accepted.photo.sha256.hex(),
            duplicate_of=[d.photo_id for d in accepted.duplicates[:5]],
        ),
        org_id=audit.org_id,
        subject_id=audit.id,
        actor_id=principal.user_id,
        occurred_at=now,
    )
    return await _view(session, audit, now), accepted.changed


async def item_photo_file(
    session: AsyncSession,
    storage: Storage,
    principal: Principal,
    audit_id: uuid.UUID,
    item_key: str,
    *,
    thumbnail: bool,
) -> tuple[bytes, str]:
    audit = await _visible(session, principal, audit_id)
    if not _ITEM_KEY.fullmatch(item_key):
        raise NotFound("The audit has no photo for that item.")
    photo = await photo_service.current(
        session, audit.org_id, photo_service.PhotoOwner.audit_item(audit.id, item_key)
    )
    if photo is None:
        raise NotFound("The audit has no photo for that item.")
    return await photo_service.read_file(storage, photo, thumbnail=thumbnail), photo.sha256.hex()


def _duplicate_flag(item_key: str, match: photo_service.DuplicateMatch) -> dict[str, Any]:
    flag = photo_service.duplicate_flag(
        match, subject_zh=f"检查项「{item_key}」照片", subject_en=f"the {item_key} item photo"
    )
    return {**flag, "item_key": item_key}


def _replace_item_flags(audit: Audit, item_key: str, new: list[dict[str, Any]]) -> None:
    kept = [f for f in audit.flags if f.get("item_key") != item_key]
    audit.flags = [*kept, *new]
    audit.trust_score = trust.score_of(audit.flags)


async def _pinned(session: AsyncSession, audit: Audit) -> checklists.Checklist:
    return await _checklist_version(
        session, audit.org_id, audit.template_key, audit.template_version
    )


# --- submit and abandon ------------------------------------------------------------------------


async def submit(
    session: AsyncSession,
    principal: Principal,
    audit_id: uuid.UUID,
    data: SubmitRequest,
    now: datetime,
) -> AuditView:
    """Score the audit and raise a rectification for every failed item (DESIGN §5).

    ``audit_incomplete`` lists everything still missing at once: unanswered items
    (``item:<key>``), photos the checklist asks for (``photo:<key>``) and failed items nobody
    can be assigned (``assignee:<key>``). A replay of the same submit answers with the
    submitted audit.
    """
    audit = await _for_auditor_update(session, principal, audit_id)
    digest = _submit_fingerprint(data)
    if audit.status == AuditStatus.submitted and audit.submit_fingerprint == digest:
        return await _view(session, audit, now)
    if audit.status != AuditStatus.open:
        raise AuditNotOpen(audit.status)
    checklist = await _pinned(session, audit)
    photos = await photo_service.photos_of_audits(session, audit.org_id, [audit.id])
    missing = results.missing(checklist, audit.results, set(photos.get(audit.id, {})))
    score = scoring.score(checklist, audit.results)
    raised, unassigned = await _raised_items(session, audit, checklist, score.failed, data, now)
    missing += [f"assignee:{key}" for key in unassigned]
    if missing:
        raise AuditIncomplete(missing)

    audit.status = AuditStatus.submitted
    audit.submitted_at = now
    audit.submit_fingerprint = digest
    audit.score_earned = score.earned
    audit.score_possible = score.possible
    audit.score_percent = score.percent
    audit.band = AuditBand(score.band)
    audit.passed = score.passed
    audit.failed_critical = score.failed_critical
    await session.flush()
    created: Sequence[Rectification] = await rectification_service.raise_for_audit(
        session, audit, raised, now
    )
    await events.record(
        session,
        AuditSubmitted(
            store_id=audit.store_id,
            auditor_id=audit.auditor_id,
            percent=score.percent,
            band=score.band,
            passed=score.passed,
            failed_critical=score.failed_critical,
            rectification_ids=[r.id for r in created],
        ),
        org_id=audit.org_id,
        subject_id=audit.id,
        actor_id=principal.user_id,
        occurred_at=now,
    )
    return await _view(session, audit, now)


def _submit_fingerprint(data: SubmitRequest) -> bytes:
    body = data.model_dump(mode="json")
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).digest()


async def _raised_items(
    session: AsyncSession,
    audit: Audit,
    checklist: checklists.Checklist,
    failed: list[str],
    data: SubmitRequest,
    now: datetime,
) -> tuple[list[rectification_service.RaisedItem], list[str]]:
    """The rectification of each failed item (assignee and due from the body, else the
    defaults) and the failed items nobody can be assigned."""
    choices = {c.item_key: (i, c) for i, c in enumerate(data.rectifications)}
    _refuse_bad_choices(choices, failed, data)
    default_assignee = await visit_service.latest_visitor(
        session, audit.org_id, audit.store_id, now - ASSIGNEE_WINDOW
    )
    errors: list[FieldError] = []
    raised: list[rectification_service.RaisedItem] = []
    unassigned: list[str] = []
    for key in failed:
        item = checklist.item(key)
        assert item is not None
        index, choice = choices.get(key, (None, None))
        problems = await _choice_problems(session, audit.org_id, index, choice, now)
        if problems:
            errors += problems
            continue
        assignee = (choice.assignee_id if choice else None) or default_assignee
        if assignee is None:
            unassigned.append(key)
            continue
        raised.append(
            rectification_service.RaisedItem(
                item_key=key,
                title=item.label.as_dict(),
                critical=item.critical,
                assignee_id=assignee,
                due_at=(choice.due_at if choice else None) or now + _default_due(item),
                note=(choice.note if choice else "") or _result_note(audit, key),
            )
        )
    if errors:
        raise ValidationFailed("Some rectifications cannot be raised as given.", errors=errors)
    return raised, unassigned


def _default_due(item: checklists.ChecklistItem) -> timedelta:
    return DUE_CRITICAL if item.critical else DUE_DEFAULT


async def _choice_problems(
    session: AsyncSession,
    org_id: uuid.UUID,
    index: int | None,
    choice: RectificationChoice | None,
    now: datetime,
) -> list[FieldError]:
    """What is wrong with the auditor's choice for one failed item: an assignee who is not an
    active rep of the org, a due time outside (now, now + 14 days]."""
    if choice is None:
        return []
    problems = []
    if choice.assignee_id is not None and (
        await user_service.active_role(session, org_id, choice.assignee_id) != Role.rep
    ):
        problems.append(
            FieldError(
                f"/rectifications/{index}/assignee_id",
                "The assignee must be an active rep of your organization.",
                "invalid_assignee",
            )
        )
    if choice.due_at is not None and not now < choice.due_at <= now + DUE_MAX:
        problems.append(
            FieldError(
                f"/rectifications/{index}/due_at",
                "The due time must be after now and within 14 days.",
                "due_out_of_range",
            )
        )
    return problems


def _refuse_bad_choices(
    choices: dict[str, tuple[int, Any]], failed: list[str], data: SubmitRequest
) -> None:
    seen: set[str] = set()
    errors = []
    for index, choice in enumerate(data.rectifications):
        if choice.item_key in seen:
            errors.append(
                FieldError(
                    f"/rectifications/{index}/item_key",
                    "This item is named twice: one rectification per failed item.",
                    "duplicate",
                )
            )
        seen.add(choice.item_key)
    errors += [
        FieldError(
            f"/rectifications/{index}/item_key",
            "This item did not fail: only failed items become rectifications.",
            "not_failed",
        )
        for key, (index, _) in choices.items()
        if key not in failed
    ]
    if errors:
        raise ValidationFailed(
            "Some rectifications are for items that did not fail.", errors=errors
        )


def _result_note(audit: Audit, key: str) -> str:
    note = (audit.results.get(key) or {}).get("note")
    return note if isinstance(note, str) else ""


async def abandon(
    session: AsyncSession, principal: Principal, audit_id: uuid.UUID, reason: str, now: datetime
) -> AuditView:
    """The auditor gives up an open audit (it stays on record); abandoning again is a no-op."""
    audit = await _for_auditor_update(session, principal, audit_id)
    if audit.status == AuditStatus.abandoned:
        return await _view(session, audit, now)
    if audit.status != AuditStatus.open:
        raise AuditNotOpen(audit.status)
    audit.status = AuditStatus.abandoned
    audit.abandoned_at = now
    audit.abandon_reason = reason
    await session.flush()
    await events.record(
        session,
        AuditAbandoned(reason=reason),
        org_id=audit.org_id,
        subject_id=audit.id,
        actor_id=principal.user_id,
        occurred_at=now,
    )
    return await _view(session, audit, now)


def running_score(view: AuditView) -> scoring.Score | None:
    """The audit's score: the stored one once submitted, else over the items answered so far
    (None before any)."""
    if not view.audit.results:
        return None
    return scoring.score(view.checklist, view.audit.results)


def item_failed(view: AuditView, key: str) -> bool:
    item = view.checklist.item(key)
    stored = view.audit.results.get(key)
    return item is not None and stored is not None and results.item_failed(item, stored)
