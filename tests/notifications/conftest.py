from collections.abc import AsyncIterator

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from backend.config import Settings
from backend.main import create_app
from tests.actions.conftest import with_routers


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = with_routers(create_app(settings))
    async with LifespanManager(application):
        yield application
