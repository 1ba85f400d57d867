"""/docs (Swagger UI) and /redoc render the API's operations with every request but those to
Doorstep itself cut off, as on a closed network: nothing is fetched from another host."""

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.helpers import Site, shot

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SHOTS = Path("/tmp/shots")

Open = Callable[[str, dict[str, int]], Awaitable[tuple[Any, list[str], list[str]]]]


@pytest.fixture
async def offline_page(browser: Any, site: Site) -> AsyncIterator[Open]:
    """open(path, viewport) → (page, off-host requests, failures: same-host requests that
    failed or answered an error, console errors and page errors)."""
    contexts: list[Any] = []
    host = urlsplit(site.base_url).netloc

    async def open_page(path: str, viewport: dict[str, int]) -> tuple[Any, list[str], list[str]]:
        context = await browser.new_context(viewport=viewport, base_url=site.base_url)
        context.set_default_timeout(20_000)
        contexts.append(context)
        off_host: list[str] = []
        failed: list[str] = []

        async def only_this_host(route: Any) -> None:
            url = route.request.url
            if urlsplit(url).netloc == host:
                await route.continue_()
            else:
                off_host.append(url)
                await route.abort("internetdisconnected")

        await context.route("**/*", only_this_host)
        page = await context.new_page()
        page.on(
            "requestfailed",
            lambda request: (
                failed.append(request.url) if urlsplit(request.url).netloc == host else None
            ),
        )
        page.on(
            "response",
            lambda response: (
                failed.append(f"{response.status} {response.url}")
                if response.status >= 400
                else None
            ),
        )
        page.on(
            "console",
            lambda message: (
                failed.append(f"console.{message.type}: {message.text}")
                if message.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda error: failed.append(f"pageerror: {error}"))
        response = await page.goto(path)
        assert response is not None and response.ok
        return page, off_host, failed

    yield open_page
    for context in contexts:
        await context.close()


async def test_swagger_ui_renders_without_another_host(offline_page: Open, artifacts: Path) -> None:
    page, off_host, failed = await offline_page("/docs", DESKTOP)
    check_in = page.locator('[id^="operations-"][id$="-visits_check_in"]')
    await check_in.wait_for()
    assert "Check in at a store by its door QR code" in await check_in.inner_text()
    assert await page.locator(".opblock").count() > 50
    await check_in.locator(".opblock-summary").click()  # expands, from the local bundle
    await page.locator(".opblock.is-open .opblock-body").first.wait_for()
    icon = await page.get_attribute('link[rel="shortcut icon"]', "href")
    assert icon == "/icons/icon-192.png"
    assert (await page.request.get(icon)).ok
    await shot(page, artifacts, "docs-swagger-1280")
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(artifacts / "docs-swagger-1280.png", SHOTS / "docs-swagger-1280.png")
    assert off_host == []
    assert failed == []


async def test_redoc_renders_without_another_host(offline_page: Open, artifacts: Path) -> None:
    page, off_host, failed = await offline_page("/redoc", DESKTOP)
    await page.get_by_role("heading", name="Check in at a store by its door QR code").wait_for()
    assert await page.locator("[data-section-id^='tag/']").count() >= 5
    await shot(page, artifacts, "docs-redoc-1280")
    assert off_host == []
    assert failed == []


async def test_docs_on_a_phone(offline_page: Open, artifacts: Path) -> None:
    page, off_host, failed = await offline_page("/docs", PHONE)
    await page.locator('[id^="operations-"][id$="-visits_check_in"]').wait_for()
    await page.screenshot(path=str(artifacts / "docs-swagger-390.png"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(artifacts / "docs-swagger-390.png", SHOTS / "docs-swagger-390.png")
    assert off_host == [] and failed == []
