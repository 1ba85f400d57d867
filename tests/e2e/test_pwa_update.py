"""A new service worker waits for the rep: the page offers "新版本可用，刷新", swaps on the tap."""

from pathlib import Path

from tests.e2e.helpers import Phone, shot


async def test_new_version_waits_for_the_reps_tap(phone: Phone, artifacts: Path) -> None:
    page = await phone(locale="zh-CN")
    await page.goto("/")
    await page.wait_for_selector("#username")
    await page.wait_for_function("navigator.serviceWorker.controller !== null")
    await page.evaluate("window.__before_update = true")

    # Another script URL for the same scope is an update: it installs, then waits.
    await page.evaluate("navigator.serviceWorker.register('/sw.js?next=1', { scope: '/' })")
    banner = page.locator("#banner-update")
    await banner.wait_for()
    assert "新版本可用，刷新" in await banner.inner_text()
    await shot(page, artifacts, "18-update-prompt")
    # Nothing was swapped under the page: same document, same controller.
    assert await page.evaluate("window.__before_update === true")
    assert await page.evaluate("navigator.serviceWorker.controller.scriptURL.endsWith('/sw.js')")

    async with page.expect_navigation():
        await banner.locator("button").click()
    await page.wait_for_selector("#username")
    assert await page.evaluate("window.__before_update === undefined")
    assert await page.evaluate("navigator.serviceWorker.controller.scriptURL.endsWith('?next=1')")
