import asyncio
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.db import create_engine, create_sessionmaker, session_scope
from backend.kit.time import utc_now
from backend.models import Event, Visit
from backend.visits import jobs
from tests.factories.visits import Field


async def test_stale_visits_are_abandoned_exactly_once_by_two_schedulers(
    field: Field, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    stale_ids = []
    actors = [field.org.rep, field.org.other_rep]
    for actor in actors:
        store = await field.store()
        body = field.check_in_body(
            store, captured_at=utc_now() - timedelta(hours=5), queued_offline=True
        )
        response = await field.check_in(body, actor)
        assert response.status_code == 201
        stale_ids.append(response.json()["id"])

    # A second "replica": its own engine and connection pool against the same database.
    assert settings.database_url
    other_engine = create_engine(settings.database_url, settings)
    other = create_sessionmaker(other_engine)
    try:
        results = await asyncio.gather(
            *(
                jobs.abandon_stale_visits(maker)
                for maker in (sessionmaker, other, sessionmaker, other)
            )
        )
    finally:
        await other_engine.dispose()
    assert sum(results) == 2
    async with session_scope(sessionmaker) as session:
        statuses = (await session.scalars(select(Visit.status))).all()
        abandoned_events = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "visit.abandoned")
        )
    assert set(statuses) == {"abandoned"}
    assert abandoned_events == 2


async def test_recent_open_visits_are_left_alone(
    field: Field, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    store = await field.store()
    body = field.check_in_body(
        store, captured_at=utc_now() - timedelta(hours=3, minutes=50), queued_offline=True
    )
    assert (await field.check_in(body)).status_code == 201
    assert await jobs.abandon_stale_visits(sessionmaker) == 0
