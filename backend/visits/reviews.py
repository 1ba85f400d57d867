"""Supervisor reviews: approve, reject into rework, and the queue of visits waiting for one."""

import uuid

from sqlalchemy import and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Forbidden
from backend.events import service as events
from backend.kit.pagination import PageParams, decode_time_cursor, encode_time_cursor
from backend.kit.time import utc_now
from backend.models import ReviewDecision, Visit, VisitReview, VisitStatus
from backend.models.user import Role
from backend.notifications import service as notifications
from backend.visits import service as visit_service
from backend.visits.exceptions import VisitNotSubmitted
from backend.visits.service import VisitView


async def approve(
    session: AsyncSession, principal: Principal, visit_id: uuid.UUID, comment: str | None
) -> VisitView:
    visit = await _submitted_visit_for_review(session, principal, visit_id)
    visit.status = VisitStatus.approved
    await _record(session, principal, visit, ReviewDecision.approved, comment)
    return await visit_service.get_visit(session, principal, visit.id)


async def reject(
    session: AsyncSession, principal: Principal, visit_id: uuid.UUID, reason: str
) -> VisitView:
    """Send the visit back to the rep as rework: answers, photos and next action reopen."""
    visit = await _submitted_visit_for_review(session, principal, visit_id)
    visit.status = VisitStatus.rejected
    await _record(session, principal, visit, ReviewDecision.rejected, reason)
    view = await visit_service.get_visit(session, principal, visit.id)
    await notifications.notify(
        session,
        org_id=visit.org_id,
        user_id=visit.rep_id,
        type="visit.rejected",
        title={"zh": f"拜访被退回：{view.store.name}", "en": f"Visit sent back: {view.store.name}"},
        body={"zh": f"退回原因：{reason}", "en": f"Reason: {reason}"},
        subject_type="visit",
        subject_id=visit.id,
    )
    return view


async def _submitted_visit_for_review(
    session: AsyncSession, principal: Principal, visit_id: uuid.UUID
) -> Visit:
    if principal.role == Role.rep:
        raise Forbidden("Only a supervisor of the rep's team or an admin reviews visits.")
    visit = await visit_service.lock_visible_visit(session, principal, visit_id)
    if visit.status != VisitStatus.submitted:
        raise VisitNotSubmitted(visit.status)
    return visit


async def _record(
    session: AsyncSession,
    principal: Principal,
    visit: Visit,
    decision: ReviewDecision,
    comment: str | None,
) -> None:
    session.add(
        VisitReview(
            org_id=visit.org_id,
            visit_id=visit.id,
            reviewer_id=principal.user_id,
            decision=decision,
            comment=comment,
            at=utc_now(),
        )
    )
    await session.flush()
    await events.record(
        session,
        org_id=visit.org_id,
        type=f"visit.{decision.value}",
        subject_type="visit",
        subject_id=visit.id,
        actor_id=principal.user_id,
        payload={"comment": comment, "rep_id": str(visit.rep_id)},
    )


async def review_queue(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    flagged: bool | None = None,
    rep_id: uuid.UUID | None = None,
) -> tuple[list[VisitView], str | None]:
    """Submitted visits of the caller's teams (an admin: the org's), oldest submission first."""
    if principal.role == Role.rep:
        raise Forbidden("The review queue is for supervisors and admins.")
    stmt = visit_service.visible_visits(principal).where(Visit.status == VisitStatus.submitted)
    if rep_id is not None:
        stmt = stmt.where(Visit.rep_id == rep_id)
    if flagged is not None:
        stmt = stmt.where(Visit.trust_score < 100 if flagged else Visit.trust_score == 100)
    if page.cursor:
        after_at, after_id = decode_time_cursor(page.cursor)
        # The plain range condition lets the index seek to the cursor instead of filtering
        # every row before it; the OR settles ties on the same instant.
        stmt = stmt.where(
            Visit.submitted_at >= after_at,
            or_(
                Visit.submitted_at > after_at,
                and_(Visit.submitted_at == after_at, Visit.id > after_id),
            ),
        )
    rows = (
        await session.scalars(stmt.order_by(Visit.submitted_at, Visit.id).limit(page.limit + 1))
    ).all()
    visits = rows[: page.limit]
    cursor = None
    if len(rows) > page.limit and visits[-1].submitted_at is not None:
        cursor = encode_time_cursor(visits[-1].submitted_at, visits[-1].id)
    return await visit_service.views(session, visits), cursor
