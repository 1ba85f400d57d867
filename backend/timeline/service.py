"""A store's recent history, composed from the domains that record it."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.config import Settings
from backend.stores import service as store_service
from backend.stores.schemas import StoreRead
from backend.visits import service as visit_service

MAX_VISITS = 500


@dataclass(frozen=True)
class Timeline:
    store: StoreRead
    since: datetime
    visits: list[visit_service.VisitView]


async def store_timeline(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    store_id: uuid.UUID,
    days: int,
    now: datetime,
) -> Timeline:
    """The store's last ``days`` days before ``now``, as the caller may see them."""
    store = await store_service.get_store(session, principal.org_id, store_id)
    since = now - timedelta(days=days)
    visits = await visit_service.visits_at_store(session, principal, store.id, since, MAX_VISITS)
    # Never the door code, whoever asks: the timeline is read by every role (and third parties).
    view = await store_service.to_read(session, settings, store, door_code=False)
    return Timeline(view, since, visits)
