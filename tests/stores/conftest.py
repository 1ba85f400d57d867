import httpx
import pytest

from tests.factories.stores import Stores


@pytest.fixture
def stores(client: httpx.AsyncClient) -> Stores:
    return Stores(client)
