import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from tests.factories.actions import Desk
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
