import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from tests.factories.actions import Desk
from tests.factories.audits import Tour
from tests.factories.visits import Field
from tests.factories.world import World


@pytest.fixture
async def desk(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> Desk:
    return Desk(Field(client, await world.org()), world, sessionmaker, settings)


@pytest.fixture
async def tour(
    app: FastAPI,
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> Tour:
    field = Field(client, await world.org())
    return await Tour.build(field, world, sessionmaker, settings, app.state.storage)
