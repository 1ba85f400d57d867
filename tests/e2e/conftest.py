"""Browser tests of the PWA: a real server process on a seeded database, driven by Debian's
Chromium through Playwright with a phone viewport. Chromium must be installed (CI installs it);
a missing browser fails the tests with how to install it, never a silent skip."""

import logging
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.auth.principal import Principal
from backend.config import Environment, Settings
from backend.db import create_engine, create_sessionmaker, session_scope
from backend.models.user import Role
from backend.orgs import service as org_service
from backend.stores import service as store_service
from backend.stores.schemas import StoreCreate
from backend.teams import service as team_service
from backend.teams.schemas import TeamCreate
from backend.users import service as user_service
from backend.users.schemas import UserCreate
from tests.db import PostgresForTests
from tests.server import running_server

PASSWORD = "e2e-password-123"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "e2e"
CHROMIUM = os.environ.get("DOORSTEP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
# The store every rep checks in at, and a point about 1.1 km east of it.
STORE_AT = (30.27410, 120.15510)
FAR_AWAY = (30.27410, 120.16650)
REPS = ("online", "offline", "geo", "review", "zh")

pytestmark = pytest.mark.e2e
logger = logging.getLogger("tests.e2e.browser")


@dataclass
class Site:
    base_url: str
    org_id: uuid.UUID
    supervisor: str
    reps: dict[str, str]
    stores: dict[str, dict[str, Any]] = field(default_factory=dict)

    def token(self, username: str) -> str:
        response = httpx.post(
            f"{self.base_url}/api/v1/auth/token",
            data={"grant_type": "password", "username": username, "password": PASSWORD},
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def api(self, username: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(username)}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


def _chromium() -> str:
    path = shutil.which(CHROMIUM) or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if path is None:
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: the PWA end-to-end tests need it. Install "
            "Debian's package with `sudo apt-get install -y chromium` (or run `bash "
            ".ci/system-deps`), or point DOORSTEP_CHROMIUM at a Chromium binary.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    executable = _chromium()
    try:
        from playwright.async_api import async_playwright
    except ImportError:  # pragma: no cover - a dev dependency
        pytest.fail("Python Playwright is missing: pip install -e '.[dev]'", pytrace=False)
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        await instance.close()


async def _seed(url: str) -> tuple[uuid.UUID, dict[str, str], list[uuid.UUID]]:
    settings = Settings(environment=Environment.test, database_url=url, _env_file=None)
    engine = create_engine(url, settings)
    async with session_scope(create_sessionmaker(engine)) as session:
        org, admin = await org_service.create_org(session, "E2E", "e2e-admin", PASSWORD)
        supervisor = await user_service.create_user(
            session,
            org.id,
            UserCreate(
                username="e2e-sup", display_name="王主管", role=Role.supervisor, password=PASSWORD
            ),
            admin.id,
        )
        reps = {}
        for name in REPS:
            user = await user_service.create_user(
                session,
                org.id,
                UserCreate(
                    username=f"e2e-{name}",
                    display_name=f"Rep {name}",
                    role=Role.rep,
                    password=PASSWORD,
                ),
                admin.id,
            )
            reps[name] = user.id
        team = await team_service.create_team(
            session,
            Principal(admin.id, org.id, Role.admin),
            TeamCreate(name="E2E", supervisor_id=supervisor.id, member_ids=list(reps.values())),
        )
        store_ids = []
        for index, name in enumerate(("老百姓大药房（文三路店）", "益丰大药房（学院路店）")):
            store = await store_service.create_store(
                session,
                settings,
                org.id,
                StoreCreate(
                    code=f"E2E-{index + 1}",
                    name=name,
                    address="杭州市西湖区文三路 100 号",
                    lat=STORE_AT[0] + index * 0.01,
                    lng=STORE_AT[1],
                    customer_type="pharmacy",
                    team_id=team.id,
                ),
                admin.id,
            )
            store_ids.append(store.id)
    await engine.dispose()
    return org.id, {name: f"e2e-{name}" for name in REPS}, store_ids


@pytest.fixture(scope="module")
async def site(
    template: PostgresForTests, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    name = await template.clone()
    url = template.url(name)
    org_id, reps, store_ids = await _seed(url)
    data_dir = tmp_path_factory.mktemp("e2e-data")
    try:
        with running_server(url, data_dir) as base_url:
            built = Site(base_url, org_id, "e2e-sup", reps)
            with built.api("e2e-admin") as admin:
                for index, store_id in enumerate(store_ids):
                    built.stores[f"store{index + 1}"] = admin.get(
                        f"/api/v1/stores/{store_id}"
                    ).json()
            yield built
    finally:
        await template.drop(name)


Phone = Callable[..., Awaitable[Any]]


def _log_console(message: Any) -> None:
    if message.type in ("error", "warning"):
        logger.warning("console.%s: %s", message.type, message.text)


@pytest.fixture
async def phone(browser: Any, site: Site) -> AsyncIterator[Phone]:
    """phone(locale="en-US", at=STORE_AT) → a fresh page on a phone-sized browser context."""
    contexts: list[Any] = []

    async def open_phone(locale: str = "en-US", at: tuple[float, float] = STORE_AT) -> Any:
        context = await browser.new_context(
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale=locale,
            geolocation={"latitude": at[0], "longitude": at[1], "accuracy": 12},
            permissions=["geolocation"],
            base_url=site.base_url,
            service_workers="allow",
        )
        context.set_default_timeout(15_000)
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
