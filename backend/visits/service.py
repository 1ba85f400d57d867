"""Visits: reading, listing and abandoning them (the check-in itself is in ``check_in``)."""

import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions import service as action_service
from backend.auth.principal import Principal
from backend.errors import Forbidden, NotFound
from backend.events import service as events
from backend.forms import service as form_service
from backend.forms.definitions import FormVersion
from backend.kit.pagination import PageParams, decode_time_cursor, encode_time_cursor
from backend.kit.time import utc_now
from backend.models import NextAction, Photo, PhotoKind, Store, User, VisitReview
from backend.models.user import Role
from backend.models.visit import Visit, VisitStatus
from backend.photos import service as photo_service
from backend.stores import service as store_service
from backend.teams import service as team_service
from backend.users import service as user_service
from backend.visits import rules
from backend.visits.exceptions import (
    VisitNotOpen,
)
from backend.visits.schemas import VisitFilters

STALE_AFTER = timedelta(hours=4)
STALE_BATCH = 500


# Photos, answers and the next action change while the rep is at the store or reworking a
# rejection; never after submission or approval.
EDITABLE = (VisitStatus.open, VisitStatus.rejected)


@dataclass(frozen=True)
class VisitView:
    visit: Visit
    store: Store
    rep: User
    photos: dict[PhotoKind, Photo] = field(default_factory=dict)
    reviews: list[VisitReview] = field(default_factory=list)
    form: FormVersion | None = None
    next_action: NextAction | None = None


def visible_visits(principal: Principal) -> Select[Visit]:
    """Visits the caller may see: a rep their own, a supervisor their teams', an admin all."""
    stmt = select(Visit).where(Visit.org_id == principal.org_id)
    if principal.role == Role.rep:
        return stmt.where(Visit.rep_id == principal.user_id)
    if principal.role == Role.supervisor:
        return stmt.where(
            Visit.rep_id.in_(team_service.supervised_rep_ids(principal.org_id, principal.user_id))
        )
    return stmt


async def get_visit_in_org(
    session: AsyncSession, org_id: uuid.UUID, visit_id: uuid.UUID
) -> VisitView:
    """For callers already authorised another way (a verified share link)."""
    visit = await session.scalar(select(Visit).where(Visit.org_id == org_id, Visit.id == visit_id))
    if visit is None:
        raise NotFound("No such visit.")
    return await _view(session, visit)


async def get_visit(session: AsyncSession, principal: Principal, visit_id: uuid.UUID) -> VisitView:
    visit = await session.scalar(visible_visits(principal).where(Visit.id == visit_id))
    if visit is None:
        raise NotFound("No such visit.")
    return await _view(session, visit)


async def list_visits(
    session: AsyncSession, principal: Principal, filters: VisitFilters, page: PageParams
) -> tuple[list[VisitView], str | None]:
    stmt = visible_visits(principal)
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
        stmt = stmt.where(Visit.trust_score < 100 if filters.flagged else Visit.trust_score == 100)
    if page.cursor:
        after_at, after_id = decode_time_cursor(page.cursor)
        stmt = stmt.where(
            Visit.checked_in_at <= after_at,  # lets the index seek to the cursor
            or_(
                Visit.checked_in_at < after_at,
                and_(Visit.checked_in_at == after_at, Visit.id < after_id),
            ),
        )
    rows = (
        await session.scalars(
            stmt.order_by(Visit.checked_in_at.desc(), Visit.id.desc()).limit(page.limit + 1)
        )
    ).all()
    more = len(rows) > page.limit
    visits = rows[: page.limit]
    cursor = encode_time_cursor(visits[-1].checked_in_at, visits[-1].id) if more else None
    return await views(session, visits), cursor


async def visits_at_store(
    session: AsyncSession,
    principal: Principal,
    store_id: uuid.UUID,
    since: datetime,
    limit: int,
) -> list[VisitView]:
    """The caller's visible visits at a store since a time, newest first."""
    rows = await session.scalars(
        visible_visits(principal)
        .where(Visit.store_id == store_id, Visit.checked_in_at >= since)
        .order_by(Visit.checked_in_at.desc(), Visit.id.desc())
        .limit(limit)
    )
    return await views(session, rows.all())


async def abandon(
    session: AsyncSession, principal: Principal, visit_id: uuid.UUID, reason: str
) -> VisitView:
    visit = await lock_visit_for_rep(session, principal, visit_id)
    if visit.status != VisitStatus.open:
        if visit.status == VisitStatus.abandoned and visit.abandon_reason == reason:
            return await _view(session, visit)  # a replay
        raise VisitNotOpen(visit.status)
    await _abandon(session, visit, reason, principal.user_id, "rep", utc_now())
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
    visit = await session.scalar(
        select(Visit)
        .where(Visit.org_id == org_id, Visit.rep_id == rep_id, Visit.status == VisitStatus.open)
        .with_for_update()
    )
    if visit is not None:
        await _abandon(session, visit, reason, actor_id, "admin", now)


async def _abandon(
    session: AsyncSession,
    visit: Visit,
    reason: str,
    actor_id: uuid.UUID,
    by: str,
    now: datetime,
) -> None:
    visit.status = VisitStatus.abandoned
    visit.abandoned_at = now
    visit.abandon_reason = reason
    await session.flush()
    await action_service.drop_for_visit(session, visit.org_id, visit.id, actor_id)
    await events.record(
        session,
        org_id=visit.org_id,
        type="visit.abandoned",
        subject_type="visit",
        subject_id=visit.id,
        actor_id=actor_id,
        payload={"reason": reason, "by": by},
    )


async def abandon_stale_visits(
    session: AsyncSession, now: datetime, batch: int = STALE_BATCH
) -> int:
    """Abandon visits open longer than 4 hours; rows are claimed with SKIP LOCKED."""
    stale = (
        await session.scalars(
            select(Visit)
            .where(Visit.status == VisitStatus.open, Visit.checked_in_at < now - STALE_AFTER)
            .order_by(Visit.checked_in_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for visit in stale:
        visit.status = VisitStatus.abandoned
        visit.abandoned_at = now
        visit.abandon_reason = "auto: open for more than 4 hours"
        await events.record(
            session,
            org_id=visit.org_id,
            type="visit.abandoned",
            subject_type="visit",
            subject_id=visit.id,
            actor_id=None,
            payload={"reason": visit.abandon_reason, "by": "scheduler"},
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
    reviews = await _reviews_of(session, org_id, visit_ids)
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


async def _reviews_of(
    session: AsyncSession, org_id: uuid.UUID, visit_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[VisitReview]]:
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


async def lock_visible_visit(
    session: AsyncSession, principal: Principal, visit_id: uuid.UUID
) -> Visit:
    """The visit, row-locked until the transaction ends (404 if the caller cannot see it)."""
    visit = await session.scalar(
        visible_visits(principal).where(Visit.id == visit_id).with_for_update(of=Visit)
    )
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
