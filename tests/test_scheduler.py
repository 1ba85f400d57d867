"""Two app replicas' schedulers against one database: each job's work is done exactly once."""

from datetime import timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.db import session_scope
from backend.kit.time import utc_now
from backend.models import Event, Visit
from backend.models.user import Role
from backend.users import service as user_service
from backend.users.schemas import UserCreate
from tests.factories.visits import Field
from tests.factories.world import PASSWORD, World
from tests.replicas import run_on_two_replicas

STALE_VISITS = 12


async def _stale_visits(
    field: Field, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    store = await field.store()
    async with session_scope(sessionmaker) as session:
        reps = [
            await user_service.create_user(
                session,
                field.org.id,
                UserCreate(
                    username=f"{field.org.rep.username}-{i}",
                    display_name=f"rep {i}",
                    role=Role.rep,
                    password=PASSWORD,
                ),
                None,
            )
            for i in range(STALE_VISITS)
        ]
    for rep in reps:
        actor = await world.actor(rep.id, rep.org_id, rep.username, Role.rep)
        body = field.check_in_body(
            store, captured_at=utc_now() - timedelta(hours=5), queued_offline=True
        )
        assert (await field.check_in(body, actor)).status_code == 201


async def test_two_schedulers_abandon_each_stale_visit_once(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    field = Field(client, await world.org())
    await _stale_visits(field, world, sessionmaker)
    still_open = select(func.count()).select_from(Visit).where(Visit.status == "open")
    await run_on_two_replicas(settings, sessionmaker, "visits.abandon_stale", still_open)
    async with session_scope(sessionmaker) as session:
        statuses = (await session.scalars(select(Visit.status))).all()
        abandoned = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "visit.abandoned")
        )
    assert len(statuses) == STALE_VISITS
    assert set(statuses) == {"abandoned"}
    assert abandoned == STALE_VISITS
