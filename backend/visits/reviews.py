"""Supervisor reviews: approve, reject into rework, and the queue of visits waiting for one."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Forbidden
from backend.events import service as events
from backend.events.catalog import VisitApproved, VisitRejected
from backend.kit.pagination import PageParams
from backend.models import ReviewDecision, Visit, VisitReview, VisitStatus
from backend.models.user import Role
from backend.notifications import service as notifications
from backend.visits import repository
from backend.visits import service as visit_service
from backend.visits.exceptions import VisitNotSubmitted
from backend.visits.service import VisitView


async def approve(
    session: AsyncSession,
    principal: Principal,
    visit_id: uuid.UUID,
    comment: str | None,
    now: datetime,
) -> VisitView:
    visit = await _submitted_visit_for_review(session, principal, visit_id)
    visit.status = VisitStatus.approved
    await _record(session, principal, visit, ReviewDecision.approved, comment, now)
    return await visit_service.get_visit(session, principal, visit.id)


async def reject(
    session: AsyncSession, principal: Principal, visit_id: uuid.UUID, reason: str, now: datetime
) -> VisitView:
    """Send the visit back to the rep as rework: answers, photos and next action reopen."""
    visit = await _submitted_visit_for_review(session, principal, visit_id)
    visit.status = VisitStatus.rejected
    await _record(session, principal, visit, ReviewDecision.rejected, reason, now)
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
        now=now,
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
    now: datetime,
) -> None:
    session.add(
        VisitReview(
            org_id=visit.org_id,
            visit_id=visit.id,
            reviewer_id=principal.user_id,
            decision=decision,
            comment=comment,
            at=now,
        )
    )
    await session.flush()
    reviewed = VisitApproved if decision == ReviewDecision.approved else VisitRejected
    await events.record(
        session,
        reviewed(comment=comment, rep_id=visit.rep_id),
        org_id=visit.org_id,
        subject_id=visit.id,
        actor_id=principal.user_id,
        occurred_at=now,
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
    visits, cursor = await repository.page_submitted(
        session, principal, page, flagged=flagged, rep_id=rep_id
    )
    return await visit_service.views(session, visits), cursor
