"""Completing a visit: the form answers, the next action, and the submission with its card."""

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions import service as action_service
from backend.actions.schemas import NextActionInput, NextActionRead
from backend.auth.principal import Principal
from backend.config import Settings
from backend.errors import Conflict
from backend.events import service as events
from backend.events.catalog import VisitAnswersSaved, VisitResubmitted, VisitSubmitted
from backend.forms import service as form_service
from backend.forms.definitions import FormVersion
from backend.models import NextAction, PhotoKind, Visit, VisitStatus
from backend.rectifications import service as rectification_service
from backend.summaries import card
from backend.visits import rules
from backend.visits import service as visit_service
from backend.visits.exceptions import VisitIncomplete, VisitNotOpen
from backend.visits.service import EDITABLE, VisitView


async def put_answers(
    session: AsyncSession, principal: Principal, visit_id: uuid.UUID, answers: object, now: datetime
) -> VisitView:
    """Replace the visit's answers, validated against the form version the visit pinned.

    The same answers again (an outbox retry whose first answer was lost) change nothing: the
    answers keep the time they were first saved, and no second event is written.
    """
    visit = await _editable_visit(session, principal, visit_id)
    form = await visit_service.pinned_form(session, visit)
    if form is None:
        # Only visits recorded before visit forms existed have none pinned.
        raise Conflict("This visit has no form to answer.")
    validated = form_service.validate_answers(form, answers)
    if visit.answers is not None and visit.answers == validated:
        return await visit_service.get_visit(session, principal, visit.id)
    visit.answers = validated
    visit.answers_updated_at = now
    await session.flush()
    await events.record(
        session,
        VisitAnswersSaved(version=form.version),
        org_id=visit.org_id,
        subject_id=visit.id,
        actor_id=principal.user_id,
        occurred_at=now,
    )
    return await visit_service.get_visit(session, principal, visit.id)


async def put_next_action(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    visit_id: uuid.UUID,
    data: NextActionInput,
    now: datetime,
) -> tuple[NextActionRead, bool]:
    """Set the visit's next action; returns its read (with its store) and whether it changed."""
    visit = await _editable_visit(session, principal, visit_id)
    ref = action_service.VisitRef(
        id=visit.id,
        org_id=visit.org_id,
        rep_id=visit.rep_id,
        store_id=visit.store_id,
        checked_in_at=visit.checked_in_at,
    )
    action, changed = await action_service.set_for_visit(
        session, settings, principal.user_id, ref, data, now
    )
    return await action_service.read(session, action, now), changed


async def submit(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    visit_id: uuid.UUID,
    now: datetime,
) -> VisitView:
    """Submit for review: everything missing is listed at once; the summary card is built."""
    visit = await visit_service.lock_visit_for_rep(session, principal, visit_id)
    if visit.status == VisitStatus.submitted:
        return await visit_service.get_visit(session, principal, visit.id)  # a replay
    if visit.status not in EDITABLE:
        raise VisitNotOpen(visit.status)
    view = await visit_service.get_visit(session, principal, visit.id)
    missing = missing_for_submit(view)
    if missing:
        raise VisitIncomplete(missing)
    # The first submission is when the rep left the store; rework does not move it.
    visit.checked_out_at = visit.checked_out_at or now
    _apply_short_visit_flag(visit)
    visit.status = VisitStatus.submitted
    visit.submitted_at = now
    visit.submit_count += 1
    # The view loaded for the check above holds this same visit object: no need to reload it.
    visit.summary = card.build_summary(await summary_input(session, settings, view))
    await session.flush()
    submitted = VisitSubmitted if visit.submit_count == 1 else VisitResubmitted
    await events.record(
        session,
        submitted(trust_score=visit.trust_score, submit_count=visit.submit_count),
        org_id=visit.org_id,
        subject_id=visit.id,
        actor_id=principal.user_id,
        occurred_at=now,
    )
    return view


def missing_for_submit(view: VisitView) -> list[str]:
    return submit_needs(
        view.photos,
        answers_due=view.form is not None and view.visit.answers is None,
        has_next_action=view.next_action is not None,
    )


def submit_needs(
    photos: Collection[PhotoKind], *, answers_due: bool, has_next_action: bool
) -> list[str]:
    """What submit still needs (``missing``, in the order the rep reads it): each photo kind,
    the form's answers when the visit has a form, the next action."""
    missing = [f"photo:{kind.value}" for kind in PhotoKind if kind not in photos]
    if answers_due:
        missing.append("answers")
    if not has_next_action:
        missing.append("next_action")
    return missing


def submit_requires() -> list[str]:
    """Everything submit can ask for: what a visit with a form misses before anything is done.
    Published by ``GET /api/v1/config`` so the PWA lists the same things from the same rule."""
    return submit_needs((), answers_due=True, has_next_action=False)


def _apply_short_visit_flag(visit: Visit) -> None:
    assert visit.checked_out_at is not None
    flag = rules.short_visit_flag(visit.checked_in_at, visit.checked_out_at)
    added = [flag.as_dict()] if flag is not None else []
    visit_service.replace_flags(visit, lambda f: f.get("code") == "short_visit", added)


async def _editable_visit(
    session: AsyncSession, principal: Principal, visit_id: uuid.UUID
) -> Visit:
    visit = await visit_service.lock_visit_for_rep(session, principal, visit_id)
    if visit.status not in EDITABLE:
        raise VisitNotOpen(visit.status)
    return visit


async def summary_input(
    session: AsyncSession, settings: Settings, view: VisitView
) -> card.SummaryInput:
    """What the summary card is built from (also used by the demo seed)."""
    visit, form = view.visit, view.form
    assert visit.checked_out_at is not None
    customer_type = await form_service.get_customer_type(session, visit.org_id, visit.customer_type)
    answers = visit.answers or {}
    return card.SummaryInput(
        visit_id=visit.id,
        store=card.SummaryStore(
            name=view.store.name,
            code=view.store.code,
            address=view.store.address,
            customer_type=visit.customer_type,
            customer_type_name={
                "zh": customer_type.name,
                "en": customer_type.name_en or customer_type.name,
            },
        ),
        rep_display_name=view.rep.display_name,
        checked_in_at=visit.checked_in_at,
        checked_out_at=visit.checked_out_at,
        trust_score=visit.trust_score,
        timezone=settings.timezone,
        distance_m=visit.check_in_distance_m,
        accuracy_m=visit.check_in_accuracy_m,
        flags=[card.SummaryFlag(f["code"], int(f["weight"]), f["detail"]) for f in visit.flags],
        photos={
            kind.value: card.SummaryPhoto(
                f"/api/v1/visits/{visit.id}/photos/{kind.value}/thumb", photo.width, photo.height
            )
            for kind, photo in view.photos.items()
        },
        profile_tags=_tags(form, answers),
        next_action=_next_action(view.next_action),
        pending=_pending(form, answers),
        answers=_answers(form, answers),
        rectifications=[
            card.SummaryRectification(r.id, r.item_key, r.title.model_dump(), r.status)
            for r in await rectification_service.fixed_during_visit(session, visit.org_id, visit.id)
        ],
    )


def _tags(form: FormVersion | None, answers: dict[str, Any]) -> list[card.SummaryTag]:
    if form is None:
        return []
    return [
        card.SummaryTag(t["tag"], t["field"], t["label"])
        for t in form_service.profile_tags(form, answers)
    ]


def _pending(form: FormVersion | None, answers: dict[str, Any]) -> list[card.SummaryPending]:
    if form is None:
        return []
    return [
        card.SummaryPending(p["key"], p["label"], p["items"])
        for p in form_service.pending_items(form, answers)
    ]


def _answers(form: FormVersion | None, answers: dict[str, Any]) -> list[card.SummaryAnswer]:
    if form is None:
        return []
    return [
        card.SummaryAnswer(r["key"], r["label"], r["type"], r["value"], r.get("display"))
        for r in form_service.answer_rows(form, answers)
    ]


def _next_action(action: NextAction | None) -> card.SummaryNextAction | None:
    if action is None:
        return None
    return card.SummaryNextAction(action.type, action.due_at, action.note)
