"""The webhook tests run the app as deployed: the lifespan starts the sender loop
(``scheduler_enabled``), and the loopback receiver's address is an allowed host."""

from collections.abc import AsyncIterator

import pytest

from backend.config import Settings
from tests.factories.webhook_receiver import Receiver, receiving


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"scheduler_enabled": True, "webhook_allowed_hosts": ("127.0.0.1",)}
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as server:
        yield server
