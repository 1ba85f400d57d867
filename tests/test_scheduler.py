"""Two app replicas' schedulers against one database: each job's work is done exactly once."""

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.db import create_engine, create_sessionmaker, session_scope
from backend.kit.storage import build_storage
from backend.kit.time import utc_now
from backend.models import Event, Visit
from backend.models.user import Role
from backend.scheduler import build_scheduler
from backend.users import service as user_service
from backend.users.schemas import UserCreate
from tests.conftest import PASSWORD, World
from tests.visits.conftest import Field

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
    assert settings.database_url
    engine = create_engine(settings.database_url, settings)
    storage = build_storage(settings)
    schedulers = [
        build_scheduler(sessionmaker, storage),
        build_scheduler(create_sessionmaker(engine), storage),
    ]
    try:
        for scheduler in schedulers:
            scheduler.start()
            scheduler.get_job("visits.abandon_stale").modify(next_run_time=utc_now())
        for _ in range(100):
            async with session_scope(sessionmaker) as session:
                still_open = await session.scalar(
                    select(func.count()).select_from(Visit).where(Visit.status == "open")
                )
            if still_open == 0:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # let both schedulers' runs finish
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=False)
        await engine.dispose()
    async with session_scope(sessionmaker) as session:
        statuses = (await session.scalars(select(Visit.status))).all()
        abandoned = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "visit.abandoned")
        )
    assert len(statuses) == STALE_VISITS
    assert set(statuses) == {"abandoned"}
    assert abandoned == STALE_VISITS
