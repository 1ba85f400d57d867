"""A store's recent history, composed from the domains that record it."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audits import service as audit_service
from backend.auth.principal import Principal
from backend.config import Settings
from backend.models.user import Role
from backend.rectifications import service as rectification_service
from backend.rectifications.schemas import RectificationRead
from backend.stores import service as store_service
from backend.stores.schemas import StoreRead
from backend.visits import service as visit_service

MAX_VISITS = 500


@dataclass(frozen=True)
class Timeline:
    store: StoreRead
    since: datetime
    visits: list[visit_service.VisitView]
    audits: list[audit_service.AuditBrief]
    rectifications: list[RectificationRead]


async def store_timeline(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    store_id: uuid.UUID,
    days: int,
    now: datetime,
) -> Timeline:
    """The store's last ``days`` days before ``now``, as the caller may see them: visits (with
    their photos, flags and next actions), audits with their scores, and the store's open
    rectifications (a rep sees those assigned to them)."""
    store = await store_service.get_store(session, principal.org_id, store_id)
    since = now - timedelta(days=days)
    visits = await visit_service.visits_at_store(session, principal, store.id, since, MAX_VISITS)
    # Never the door code, whoever asks: the timeline is read by every role (and third parties).
    view = await store_service.to_read(session, settings, store, door_code=False)
    audits = await audit_service.audits_at_store(session, principal.org_id, store.id, since)
    rectifications = await rectification_service.open_at_store(
        session, principal.org_id, store.id, now
    )
    if principal.role == Role.rep:
        rectifications = [r for r in rectifications if r.assignee.id == principal.user_id]
    return Timeline(view, since, visits, audits, rectifications)
