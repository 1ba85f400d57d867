"""The rep's side of the PWA: a whole visit online, the same visit with the network off from
scan to submit (then a reload, then the network back), the outside_geofence explanation, and the
Chinese interface for a zh-CN browser."""

from pathlib import Path
from typing import Any

from tests.e2e.helpers import (
    FAR_AWAY,
    Phone,
    Site,
    fill_form,
    outbox_items,
    shot,
    sign_in,
    take_photos,
    wait_offline_ready,
)


def _visits(site: Site, username: str) -> list[dict[str, Any]]:
    with site.api(username) as client:
        items: list[dict[str, Any]] = client.get("/api/v1/visits?limit=50").json()["items"]
    return items


async def _fill_visit(page: Any, site: Site, tmp_path: Path, seed: int) -> None:
    await page.wait_for_selector("#visit-form")
    await take_photos(page, tmp_path, seed)
    form = site.stores["store1"]
    fields = await page.evaluate(
        """async (type) => {
            const db = await new Promise((r) => {
                const o = indexedDB.open('doorstep');
                o.onsuccess = () => r(o.result);
            });
            return new Promise((r) => {
                const get = db.transaction('kv').objectStore('kv').get('customer_types');
                get.onsuccess = () => r(
                    get.result.value.find((t) => t.key === type).visit_form.fields);
            });
        }""",
        form["customer_type"],
    )
    await fill_form(page, fields)
    await page.select_option("#action-type", "send_sample")
    await page.click("text=In 3 d")
    await page.fill("#action-note", "Samples of the new syrup")
    await page.locator("#action-note").blur()


async def test_whole_visit_online(
    phone: Phone, site: Site, tmp_path: Path, artifacts: Path
) -> None:
    page = await phone()
    await page.goto("/")
    await page.wait_for_selector("#username")
    await shot(page, artifacts, "01-login")
    await sign_in(page, site.reps["online"])
    await page.wait_for_selector("text=No visit in progress.")
    await shot(page, artifacts, "02-today")

    await page.click("#tabs >> text=Scan")
    await page.wait_for_selector("#qr-text")  # this browser has no camera: typing the code
    await shot(page, artifacts, "03-scan")
    await page.fill("#qr-text", site.stores["store1"]["qr_url"])
    await page.click("text=Continue")
    await page.wait_for_selector("#accuracy")
    assert await page.locator("#store-name").inner_text() == site.stores["store1"]["name"]
    await page.wait_for_selector("text=Inside the check-in circle")
    await shot(page, artifacts, "04-check-in")
    await page.click("#check-in-button")

    await _fill_visit(page, site, tmp_path, seed=1)
    await page.wait_for_selector("#visit-sync >> text=Everything is synced")
    await shot(page, artifacts, "05-visit")
    await page.click("#submit-visit")
    await page.wait_for_selector("#summary-card")
    await page.click("#share")
    link = await page.get_attribute("#share-link", "href")
    shared = await page.request.get(link)  # the server's read-only page, not the app shell
    assert shared.ok and site.stores["store1"]["name"] in await shared.text()
    assert "/app/main.js" not in await shared.text()
    await shot(page, artifacts, "06-summary")

    visits = _visits(site, site.reps["online"])
    assert len(visits) == 1
    assert visits[0]["status"] == "submitted"
    assert sorted(visits[0]["photos"]) == ["conversation", "shelf", "storefront"]
    assert visits[0]["next_action"]["type"] == "send_sample"
    assert await outbox_items(page) == []


async def test_whole_visit_offline_then_synced_once(
    phone: Phone, site: Site, tmp_path: Path, artifacts: Path
) -> None:
    page = await phone()
    await sign_in(page, site.reps["offline"])
    await wait_offline_ready(page)

    await page.context.set_offline(True)
    await page.goto(site.stores["store1"]["qr_url"])  # the phone's camera opening the code
    await page.wait_for_selector("text=Offline")
    await page.wait_for_selector("#accuracy")
    assert await page.locator("#store-name").inner_text() == site.stores["store1"]["name"]
    await page.click("#check-in-button")
    await _fill_visit(page, site, tmp_path, seed=2)
    await page.click("#submit-visit")
    await page.wait_for_selector("#summary-pending")
    await shot(page, artifacts, "07-offline-submitted")

    await page.reload()
    await page.click("#tabs >> text=Outbox")
    await page.wait_for_selector("#outbox-list li")
    kinds = [item["kind"] for item in sorted(await outbox_items(page), key=lambda i: i["seq"])]
    assert kinds[0] == "check_in" and kinds[-1] == "submit"
    assert kinds.count("photo") == 3 and "answers" in kinds and "next_action" in kinds
    await shot(page, artifacts, "08-outbox-offline")
    assert _visits(site, site.reps["offline"]) == []

    await page.context.set_offline(False)
    await page.wait_for_selector("#outbox-empty", timeout=30_000)
    await shot(page, artifacts, "09-outbox-synced")
    assert await outbox_items(page) == []
    visits = _visits(site, site.reps["offline"])
    assert len(visits) == 1
    assert visits[0]["status"] == "submitted"
    assert visits[0]["check_in"]["queued_offline"] is True
    assert sorted(visits[0]["photos"]) == ["conversation", "shelf", "storefront"]


async def test_outside_geofence_is_explained(phone: Phone, site: Site, artifacts: Path) -> None:
    page = await phone(at=FAR_AWAY)
    await sign_in(page, site.reps["geo"])
    await page.goto(site.stores["store1"]["qr_url"])
    await page.wait_for_selector("#distance")
    await page.click("#check-in-button")
    explanation = page.locator("#geofence-explanation")
    await explanation.wait_for()
    text = await explanation.inner_text()
    assert "Check-in refused: not at the store" in text
    assert "check-in circle is 150 m" in text
    assert "Walk to the store's door" in text
    await shot(page, artifacts, "10-outside-geofence")
    assert _visits(site, site.reps["geo"]) == []
    assert await outbox_items(page) == []


async def test_chinese_for_a_chinese_browser(phone: Phone, site: Site, artifacts: Path) -> None:
    page = await phone(locale="zh-CN")
    await page.goto("/")
    await page.wait_for_selector("text=用户名")
    assert await page.get_attribute("html", "lang") == "zh-CN"
    await sign_in(page, site.reps["zh"])
    await page.wait_for_selector("h1:has-text('今日')")
    await page.wait_for_selector("text=当前没有进行中的拜访。")
    await shot(page, artifacts, "11-today-zh")
    await page.goto(site.stores["store1"]["qr_url"])
    await page.wait_for_selector("text=在此签到")
    await page.wait_for_selector("text=定位精度")
    await shot(page, artifacts, "12-check-in-zh")
    await page.click("#lang-switch")
    await page.wait_for_selector("text=Check in here")


async def test_expired_access_token_is_refreshed_silently(phone: Phone, site: Site) -> None:
    """Back after days offline: the access token has long expired; the app trades the refresh
    token (rotated, the newest kept) without asking the rep to sign in again."""
    page = await phone()
    await sign_in(page, site.reps["geo"])
    before = await page.evaluate("JSON.parse(localStorage.getItem('doorstep.auth'))")
    await page.evaluate(
        """() => {
            const auth = JSON.parse(localStorage.getItem('doorstep.auth'));
            auth.access_token = 'expired'; auth.access_expires_at = Date.now() - 3 * 86400000;
            localStorage.setItem('doorstep.auth', JSON.stringify(auth));
        }"""
    )
    async with page.expect_response("**/api/v1/auth/token") as refreshed:
        await page.reload()
    assert (await refreshed.value).status == 200
    await page.wait_for_selector("#h-actions")
    assert await page.locator("#username").count() == 0
    after = await page.evaluate("JSON.parse(localStorage.getItem('doorstep.auth'))")
    assert after["refresh_token"] != before["refresh_token"]
    assert after["access_token"] not in ("expired", before["access_token"])
