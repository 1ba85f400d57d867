"""Visits: reading, listing and abandoning them (the check-in itself is in ``check_in``)."""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions import service as action_service
from backend.auth.principal import Principal
from backend.errors import Forbidden, NotFound
from backend.events import service as events
from backend.events.catalog import AbandonedBy, VisitAbandoned
from backend.forms import service as form_service
from backend.forms.definitions import FormVersion
from backend.kit.pagination import PageParams
from backend.models import NextAction, Photo, PhotoKind, VisitReview
from backend.models.visit import Visit, VisitStatus
from backend.photos import service as photo_service
from backend.stores import service as store_service
from backend.users import service as user_service
from backend.visits import repository, rules
from backend.visits.exceptions import (
    VisitNotOpen,
)
from backend.visits.schemas import VisitFilters

STALE_AFTER = timedelta(hours=4)
STALE_BATCH = 500
STALE_REASON = "auto: open for more than 4 hours"


# Photos, answers and the next action change while the rep is at the store or reworking a
# rejection; never after submission or approval.
EDITABLE = (VisitStatus.open, VisitStatus.rejected)


class VisitStoreFacts(Protocol):
    """What a visit's read shows of its store: a ``Store`` row, or the check-in's ``DoorStore``
    (backend.presence.rules), read by the check-in's own SQL."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def lat(self) -> float: ...
    @property
    def lng(self) -> float: ...
    @property
    def customer_type(self) -> str: ...
    @property
    def geofence_radius_m(self) -> int: ...


class VisitRepFacts(Protocol):
    """What a visit's read shows of its rep: a ``User`` row, or the check-in's ``RepFacts``."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def username(self) -> str: ...
    @property
    def display_name(self) -> str: ...


@dataclass(frozen=True)
class VisitView:
    visit: Visit
    store: VisitStoreFacts
    rep: VisitRepFacts
    photos: dict[PhotoKind, Photo] = field(default_factory=dict)
    reviews: list[VisitReview] = field(default_factory=list)
    form: FormVersion | None = None
    next_action: NextAction | None = None


async def get_visit_in_org(
    session: AsyncSession, org_id: uuid.UUID, visit_id: uuid.UUID
) -> VisitView:
    """For callers already authorised another way (a verified share link)."""
    visit = await repository.find_in_org(session, org_id, visit_id)
    if visit is None:
        raise NotFound("No such visit.")
    return await _view(session, visit)


async def get_visit(session: AsyncSession, principal: Principal, visit_id: uuid.UUID) -> VisitView:
    visit = await repository.find_visible(session, principal, visit_id)
    if visit is None:
        raise NotFound("No such visit.")
    return await _view(session, visit)


async def list_visits(
    session: AsyncSession, principal: Principal, filters: VisitFilters, page: PageParams
) -> tuple[list[VisitView], str | None]:
    visits, cursor = await repository.page_visible(session, principal, filters, page)
    return await views(session, visits), cursor


async def visits_at_store(
    session: AsyncSession,
    principal: Principal,
    store_id: uuid.UUID,
    since: datetime,
    limit: int,
) -> list[VisitView]:
    """The caller's visible visits at a store since a time, newest first."""
    return await views(
        session, await repository.at_store(session, principal, store_id, since, limit)
    )


async def abandon(
    session: AsyncSession, principal: Principal, visit_id: uuid.UUID, reason: str, now: datetime
) -> VisitView:
    visit = await lock_visit_for_rep(session, principal, visit_id)
    if visit.status != VisitStatus.open:
        if visit.status == VisitStatus.abandoned and visit.abandon_reason == reason:
            return await _view(session, visit)  # a replay
        raise VisitNotOpen(visit.status)
    await _abandon(session, visit, reason, principal.user_id, "rep", now)
    return await _view(session, visit)


async def abandon_open_visit_of(
    session: AsyncSession,
    org_id: uuid.UUID,
    rep_id: uuid.UUID,
    reason: str,
    actor_id: uuid.UUID,
    now: datetime,
) -> None:
    """Close the rep's open visit, if any, for a reason not of their making (deactivation)."""
    visit = await repository.lock_open_of_rep(session, org_id, rep_id)
    if visit is not None:
        await _abandon(session, visit, reason, actor_id, "admin", now)


async def _abandon(
    session: AsyncSession,
    visit: Visit,
    reason: str,
    actor_id: uuid.UUID,
    by: AbandonedBy,
    now: datetime,
) -> None:
    visit.status = VisitStatus.abandoned
    visit.abandoned_at = now
    visit.abandon_reason = reason
    await session.flush()
    await action_service.drop_for_visit(session, visit.org_id, visit.id, actor_id, now)
    await events.record(
        session,
        VisitAbandoned(reason=reason, by=by),
        org_id=visit.org_id,
        subject_id=visit.id,
        actor_id=actor_id,
        occurred_at=now,
    )


async def abandon_stale_visits(
    session: AsyncSession,
    now: datetime,
    batch: int = STALE_BATCH,
    *,
    org_id: uuid.UUID | None = None,
) -> int:
    """Abandon visits open longer than 4 hours (every org's, or ``org_id``'s only: the demo
    seed's simulated ticks); rows are claimed with SKIP LOCKED."""
    stale = await repository.claim_stale(session, now - STALE_AFTER, batch, org_id)
    for visit in stale:
        visit.status = VisitStatus.abandoned
        visit.abandoned_at = now
        visit.abandon_reason = STALE_REASON
        await events.record(
            session,
            VisitAbandoned(reason=STALE_REASON, by="scheduler"),
            org_id=visit.org_id,
            subject_id=visit.id,
            actor_id=None,
            occurred_at=now,
        )
    await session.flush()
    return len(stale)


async def _view(session: AsyncSession, visit: Visit) -> VisitView:
    return (await views(session, [visit]))[0]


async def views(session: AsyncSession, visits: Sequence[Visit]) -> list[VisitView]:
    """Visits with what hangs off them, loaded in one query per kind of thing."""
    if not visits:
        return []
    org_id = visits[0].org_id
    visit_ids = {v.id for v in visits}
    stores = await store_service.stores_by_id(session, org_id, {v.store_id for v in visits})
    reps = await user_service.users_by_id(session, org_id, {v.rep_id for v in visits})
    photos = await photo_service.photos_of(session, org_id, visit_ids)
    reviews = await repository.reviews_of(session, org_id, visit_ids)
    forms = await _forms_of(session, org_id, visits)
    actions = await action_service.for_visits(session, org_id, visit_ids)
    return [
        VisitView(
            v,
            stores[v.store_id],
            reps[v.rep_id],
            photos[v.id],
            reviews[v.id],
            forms.get((v.customer_type, v.form_version)),
            actions.get(v.id),
        )
        for v in visits
    ]


async def _forms_of(
    session: AsyncSession, org_id: uuid.UUID, visits: Sequence[Visit]
) -> dict[tuple[str, int | None], FormVersion]:
    pinned = {(v.customer_type, v.form_version) for v in visits if v.form_version is not None}
    return {
        (key, version): await form_service.form_version(session, org_id, key, version)
        for key, version in pinned
        if version is not None
    }


async def pinned_form(session: AsyncSession, visit: Visit) -> FormVersion | None:
    """The form version the visit began with (None only for a type that has no form)."""
    if visit.form_version is None:
        return None
    return await form_service.form_version(
        session, visit.org_id, visit.customer_type, visit.form_version
    )


async def open_visit_of(
    session: AsyncSession, org_id: uuid.UUID, rep_id: uuid.UUID
) -> Visit | None:
    """The rep's open visit (at most one), row-locked until the transaction ends so it stays
    open while the caller relies on it (a rectification's after photo proves presence)."""
    return await repository.lock_open_of_rep(session, org_id, rep_id)


async def lock_visible_visit(
    session: AsyncSession, principal: Principal, visit_id: uuid.UUID
) -> Visit:
    """The visit, row-locked until the transaction ends (404 if the caller cannot see it)."""
    visit = await repository.find_visible(session, principal, visit_id, lock=True)
    if visit is None:
        raise NotFound("No such visit.")
    return visit


async def lock_visit_for_rep(
    session: AsyncSession, principal: Principal, visit_id: uuid.UUID
) -> Visit:
    """The caller's own visit, row-locked (403 for someone else's visit they can see)."""
    visit = await lock_visible_visit(session, principal, visit_id)
    if visit.rep_id != principal.user_id:
        raise Forbidden("Only the rep on the visit can change it.")
    return visit


def replace_flags(
    visit: Visit, replaced: Callable[[dict[str, Any]], bool], added: list[dict[str, Any]]
) -> None:
    """Swap the flags one rule owns (a photo's, the submit's) and rescore the visit."""
    visit.flags = [f for f in visit.flags if not replaced(f)] + added
    visit.trust_score = rules.score_of(visit.flags)


async def latest_visitor(
    session: AsyncSession, org_id: uuid.UUID, store_id: uuid.UUID, since: datetime
) -> uuid.UUID | None:
    """Who visited the store last since ``since``: an active rep (an audit's failed items go to
    them unless the auditor names someone), or None."""
    return await repository.latest_visitor(session, org_id, store_id, since)
