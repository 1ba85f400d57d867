"""The PWA applies the server's policy (GET /api/v1/config) and keeps its outbox honest, against a
server started with a 3-day next-action horizon (DOORSTEP_NEXT_ACTION_HORIZON_DAYS=3):

- the visit screen offers and accepts due times within 3 days only, and refuses a 5-day one on
  the phone, before anything reaches the outbox;
- a client-side bug while replaying (not an answer from the server) leaves the item as "needs
  attention" with the error shown, sent once, not retried forever;
- a change to a visit is one IndexedDB transaction: when its draft cannot be written, its outbox
  item is not kept either.
"""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.db import PostgresForTests
from tests.e2e.conftest import serving_site
from tests.e2e.helpers import Phone, Site, outbox_items, shot, sign_in, wait_offline_ready

HORIZON_DAYS = 3
LOCAL_INPUT = """(days) => {
    const d = new Date(Date.now() + days * 86400000); d.setSeconds(0, 0);
    return new Date(d - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}"""
DRAFT = """(id) => new Promise((resolve) => {
    const open = indexedDB.open('doorstep');
    open.onsuccess = () => {
        const get = open.result.transaction('visits').objectStore('visits').get(id);
        get.onsuccess = () => {
            resolve(get.result ? { photos: Object.keys(get.result.photos || {}) } : null);
            open.result.close();
        };
    };
})"""


@pytest.fixture(scope="module")
async def site(
    template: PostgresForTests, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    async with serving_site(
        template, tmp_path_factory, DOORSTEP_NEXT_ACTION_HORIZON_DAYS=str(HORIZON_DAYS)
    ) as built:
        yield built


async def _check_in(page: Any, site: Site) -> str:
    await page.click("#tabs >> text=Scan")
    await page.fill("#qr-text", site.stores["store1"]["qr_url"])
    await page.click("text=Continue")
    await page.wait_for_selector("text=Inside the check-in circle")
    await page.click("#check-in-button")
    await page.wait_for_selector("#visit-form")
    await page.wait_for_selector("#visit-sync >> text=Everything is synced")
    visit_id: str = page.url.rstrip("/").split("/")[-1]
    uuid.UUID(visit_id)
    return visit_id


async def test_a_three_day_horizon_refuses_a_five_day_due_date_on_the_phone(
    phone: Phone, site: Site, artifacts: Path
) -> None:
    rep = site.reps["online"]
    with site.api(rep) as client:
        policy = client.get("/api/v1/config").json()
    assert policy["next_action_horizon_days"] == HORIZON_DAYS

    page = await phone()
    await sign_in(page, rep)
    visit_id = await _check_in(page, site)

    # What the phone offers follows the server: its types and labels, 3 days, no "In 7 d".
    options = await page.eval_on_selector_all(
        "#action-type option", "(os) => os.filter((o) => o.value).map((o) => [o.value, o.text])"
    )
    assert options == [[t["value"], t["label"]["en"]] for t in policy["next_action_types"]]
    assert "Due within 3 days" in await page.inner_text("main")
    quick = await page.eval_on_selector_all(
        "button", "(bs) => bs.map((b) => b.textContent).filter((t) => /^In \\d+ d$/.test(t))"
    )
    assert quick == ["In 1 d", "In 3 d"]
    latest = datetime.fromisoformat(await page.get_attribute("#action-due", "max"))
    soon = datetime.now() + timedelta(days=HORIZON_DAYS)
    assert abs(latest - soon) < timedelta(minutes=10)
    slots = await page.eval_on_selector_all("label.slot", "(ls) => ls.map((l) => l.dataset.kind)")
    assert slots == policy["photo_kinds"]
    await shot(page, artifacts, "30-visit-3-day-horizon")

    # Five days: refused on the spot, nothing queued, nothing on the server.
    await page.select_option("#action-type", "send_sample")
    await page.fill("#action-due", await page.evaluate(LOCAL_INPUT, 5))
    await page.locator("#action-due").dispatch_event("change")
    error = page.locator("#action-error")
    await error.locator("text=The due time must be after now and no later than").wait_for()
    await page.locator("#action-error").scroll_into_view_if_needed()
    await shot(page, artifacts, "31-due-date-refused-3-day-horizon")
    assert not [i for i in await outbox_items(page) if i["kind"] == "next_action"]
    with site.api(rep) as client:
        assert client.get(f"/api/v1/visits/{visit_id}").json()["next_action"] is None

    # Two days is inside the window: queued and accepted.
    await page.fill("#action-due", await page.evaluate(LOCAL_INPUT, 2))
    await page.locator("#action-due").dispatch_event("change")
    await page.wait_for_selector("#visit-sync >> text=Everything is synced")
    assert await error.inner_text() == ""
    with site.api(rep) as client:
        saved = client.get(f"/api/v1/visits/{visit_id}").json()["next_action"]
    assert saved["type"] == "send_sample"
    due = datetime.fromisoformat(saved["due_at"].replace("Z", "+00:00"))
    assert abs(due - (datetime.now(UTC) + timedelta(days=2))) < timedelta(minutes=10)


async def test_a_client_side_bug_needs_attention_instead_of_retrying_forever(
    phone: Phone, site: Site, artifacts: Path
) -> None:
    page = await phone()
    await sign_in(page, site.reps["offline"])
    await wait_offline_ready(page)
    # A photo whose Blob is gone: FormData.append throws a TypeError on every attempt.
    await page.evaluate(
        """async (visitId) => {
            const outbox = await import('/app/outbox.js');
            await outbox.enqueue({
                kind: 'photo', visit_id: visitId, photo_kind: 'shelf', blob: 'lost',
                replaces: 'photo:shelf',
            });
            await outbox.replay();
            await outbox.retryAll();
            await outbox.replay();
        }""",
        str(uuid.uuid4()),
    )
    [item] = await outbox_items(page)
    assert item["state"] == "attention"
    assert item["attempts"] == 1
    assert item["last_error"]["code"] == "client_error"
    assert item["last_error"]["detail"].startswith("TypeError: ")

    await page.click("#tabs >> text=Outbox")
    card = page.locator("#outbox-list li.attention")
    await card.locator("text=Needs attention").wait_for()
    assert "The app failed to send this (TypeError: " in await card.inner_text()
    await shot(page, artifacts, "32-outbox-client-error")
    # The rep can still get rid of it.
    page.on("dialog", lambda dialog: dialog.accept())
    await card.locator("button.danger").click()
    await page.wait_for_selector("#outbox-empty")


async def test_a_photo_is_one_transaction_draft_and_outbox_together(
    phone: Phone, site: Site
) -> None:
    page = await phone()
    await sign_in(page, site.reps["geo"])
    visit_id = await _check_in(page, site)
    # The draft cannot be stored (a thumbnail IndexedDB cannot clone): the photo's outbox item,
    # written first in the same transaction, must go with it.
    outcome = await page.evaluate(
        """async (id) => {
            const visits = await import('/app/visits.js');
            const blob = new Blob([new Uint8Array(2048)], { type: 'image/jpeg' });
            try {
                const shot = { blob, thumb: () => {}, width: 1, height: 1, bytes: 2048 };
                await visits.setPhoto(id, 'shelf', shot);
                return 'stored';
            } catch (error) { return error.name; }
        }""",
        visit_id,
    )
    assert outcome == "DataCloneError"
    assert not [i for i in await outbox_items(page) if i["kind"] == "photo"]
    assert await page.evaluate(DRAFT, visit_id) == {"photos": []}
