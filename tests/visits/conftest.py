import httpx
import pytest

from tests.factories.visits import Field
from tests.factories.world import World


@pytest.fixture
async def field(client: httpx.AsyncClient, world: World) -> Field:
    return Field(client, await world.org())
