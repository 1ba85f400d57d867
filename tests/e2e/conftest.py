"""Browser tests of the PWA: a real server process on a seeded database, driven by Debian's
Chromium through Playwright with a phone viewport. Chromium must be installed (CI installs it);
a missing browser fails the tests with how to install it, never a silent skip."""

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from backend.auth.principal import Principal
from backend.models.user import Role
from backend.stores import service as store_service
from backend.teams import service as team_service
from backend.teams.schemas import TeamCreate
from tests.db import PostgresForTests
from tests.e2e.helpers import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    PASSWORD,
    STORE_AT,
    Phone,
    Site,
    chromium_path,
    phone_context,
)
from tests.factories.stores import store_input
from tests.factories.world import seed_org, seeding
from tests.server import running_server

REPS = ("online", "offline", "geo", "review", "zh")

pytestmark = pytest.mark.e2e
logger = logging.getLogger("tests.e2e.browser")


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    executable = chromium_path()
    try:
        from playwright.async_api import async_playwright
    except ImportError:  # pragma: no cover - a dev dependency
        pytest.fail("Python Playwright is missing: pip install -e '.[dev]'", pytrace=False)
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        await instance.close()


async def _seed(url: str) -> tuple[uuid.UUID, dict[str, str], list[uuid.UUID]]:
    async with seeding(url) as (session, settings):
        org, admin, (supervisor, *reps) = await seed_org(
            session,
            "E2E",
            "e2e-admin",
            PASSWORD,
            [
                ("e2e-sup", Role.supervisor, "王主管"),
                *((f"e2e-{name}", Role.rep, f"Rep {name}") for name in REPS),
            ],
        )
        team = await team_service.create_team(
            session,
            Principal(admin.id, org.id, Role.admin),
            TeamCreate(name="E2E", supervisor_id=supervisor.id, member_ids=[r.id for r in reps]),
        )
        store_ids = []
        for index, name in enumerate(("老百姓大药房（文三路店）", "益丰大药房（学院路店）")):
            store = await store_service.create_store(
                session,
                settings,
                org.id,
                store_input(
                    code=f"E2E-{index + 1}",
                    name=name,
                    lat=STORE_AT[0] + index * 0.01,
                    lng=STORE_AT[1],
                    team_id=team.id,
                ),
                admin.id,
            )
            store_ids.append(store.id)
    return org.id, {name: f"e2e-{name}" for name in REPS}, store_ids


@asynccontextmanager
async def serving_site(
    template: PostgresForTests, tmp_path_factory: pytest.TempPathFactory, **env: str
) -> AsyncIterator[Site]:
    """A seeded database and a server process on it; ``env``: its DOORSTEP_* settings."""
    name = await template.clone()
    url = template.url(name)
    org_id, reps, store_ids = await _seed(url)
    data_dir = tmp_path_factory.mktemp("e2e-data")
    try:
        with running_server(url, data_dir, **env) as base_url:
            built = Site(base_url, org_id, "e2e-sup", reps)
            with built.api("e2e-admin") as admin:
                for index, store_id in enumerate(store_ids):
                    built.stores[f"store{index + 1}"] = admin.get(
                        f"/api/v1/stores/{store_id}"
                    ).json()
            yield built
    finally:
        await template.drop(name)


@pytest.fixture(scope="module")
async def site(
    template: PostgresForTests, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    """The default server; a module that needs other settings overrides ``site`` with
    ``serving_site(..., DOORSTEP_...=...)`` (``phone`` follows it)."""
    async with serving_site(template, tmp_path_factory) as built:
        yield built


def _log_console(message: Any) -> None:
    if message.type in ("error", "warning"):
        logger.warning("console.%s: %s", message.type, message.text)


@pytest.fixture
async def phone(browser: Any, site: Site) -> AsyncIterator[Phone]:
    """phone(locale="en-US", at=STORE_AT) → a fresh page on a phone-sized browser context."""
    contexts: list[Any] = []

    async def open_phone(locale: str = "en-US", at: tuple[float, float] = STORE_AT) -> Any:
        context = await phone_context(browser, site.base_url, locale=locale, at=at)
        contexts.append(context)
        page = await context.new_page()
        # The page's errors end up in the test's captured log, to read when a test fails.
        page.on("pageerror", lambda error: logger.warning("pageerror: %s", error))
        page.on("console", _log_console)
        return page

    yield open_phone
    for context in contexts:
        await context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
