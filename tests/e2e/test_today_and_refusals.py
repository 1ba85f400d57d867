"""Today, summary and refusals (issue 10, items 5 and 6): next actions name their store however
old their visit; photos come labelled in their fixed order; rescheduling works offline and
reaches the server once; "you already have a visit open" names the store and lets the rep
continue it; abandoning asks for a reason and a confirmation; the missing list follows each
change."""

from pathlib import Path
from typing import Any

from tests.e2e.helpers import (
    Phone,
    Site,
    losing_the_first_answer,
    open_actions,
    outbox_items,
    sign_in,
    take_photos,
    wait_offline_ready,
)
from tests.e2e.visit_api import LOCAL_INPUT, open_visit, snap, submitted_visit_at

PHOTO_LABELS = ["Storefront", "Shelf display", "Conversation"]


async def _abandon_with_a_reason(page: Any, form: str, reason: str) -> None:
    """Tap the ``form``'s abandon button with no reason (asked for one), then with ``reason``."""
    await page.click(f"#{form}-button")
    await page.wait_for_selector(f"#{form}-error >> text=Please give a reason")
    await page.fill(f"#{form}-reason", reason)
    await page.click(f"#{form}-button")


async def test_every_next_action_names_its_store(phone: Phone, site: Site, tmp_path: Path) -> None:
    rep = site.reps["online"]
    with site.api(rep) as client:
        oldest = submitted_visit_at(client, site.stores["store2"], tmp_path, seed=1)
        # Ten newer visits elsewhere push the oldest out of Today's list of recent visits.
        for seed in range(2, 12):
            latest = submitted_visit_at(client, site.stores["store1"], tmp_path, seed=seed)
    actions = {a["visit_id"]: a for a in open_actions(site, rep)}
    assert len(actions) == 11

    page = await phone()
    await sign_in(page, rep)
    oldest_row = page.locator(f"li[data-action-id='{actions[oldest['id']]['id']}']")
    await oldest_row.locator(".action-store").wait_for()
    assert await oldest_row.locator(".action-store").inner_text() == site.stores["store2"]["name"]
    for row in await page.locator("#h-actions ~ ul > li").all():
        assert await row.locator(".action-store").inner_text() != ""
    await snap(page, "today-actions-with-stores-390")

    await page.goto(f"/visit/{latest['id']}/summary")
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#summary-card .photo-row img')]"
        ".filter((i) => i.complete && i.naturalWidth > 0).length === 3"
    )
    assert await page.locator("#summary-card figcaption").all_inner_texts() == PHOTO_LABELS
    await snap(page, "summary-photos-390")


async def test_offline_reschedule_reaches_the_server_once(
    phone: Phone, site: Site, tmp_path: Path
) -> None:
    rep = site.reps["offline"]
    with site.api(rep) as client:
        submitted_visit_at(client, site.stores["store1"], tmp_path, seed=20)
    [action] = open_actions(site, rep)
    row = f"li[data-action-id='{action['id']}']"

    page = await phone()
    await sign_in(page, rep)
    await wait_offline_ready(page)
    await page.wait_for_selector(f"{row} button.action-reschedule")
    await page.context.set_offline(True)
    await page.click(f"{row} button.action-reschedule")
    await page.fill(f"#resched-due-{action['id']}", await page.evaluate(LOCAL_INPUT, 3))
    await page.fill(f"#resched-reason-{action['id']}", "店长出差，周五回来")
    await page.click(f"#resched-confirm-{action['id']}")
    await page.wait_for_selector(f"#move-queued-{action['id']}")
    await snap(page, "reschedule-queued-offline-390")
    queued = await outbox_items(page)
    assert [item["kind"] for item in queued] == ["reschedule_action"]
    assert queued[0]["idempotency_key"]

    # The first answer is lost on the way back (the server did the work): the app sends it again.
    calls: list[str] = []
    lose_first_answer = losing_the_first_answer(
        calls, lambda request: request.headers.get("idempotency-key", "")
    )
    await page.route("**/api/v1/next-actions/*/reschedule", lose_first_answer)
    await page.context.set_offline(False)
    for _ in range(300):
        if not await outbox_items(page):
            break
        await page.wait_for_timeout(200)
    assert await outbox_items(page) == []
    assert len(calls) >= 2 and len(set(calls)) == 1, calls

    with site.api(rep) as client:
        moved = client.get(f"/api/v1/next-actions/{action['id']}").json()
    assert moved["reschedule_count"] == 1
    assert len(moved["reschedules"]) == 1
    assert moved["reschedules"][0]["reason"] == "店长出差，周五回来"
    await page.wait_for_selector(f"{row} >> text=Rescheduled 1×")


async def test_open_visit_refusal_names_the_store_and_abandon_needs_reason_and_confirm(
    phone: Phone, site: Site, tmp_path: Path
) -> None:
    rep = site.reps["geo"]
    with site.api(rep) as client:
        elsewhere = open_visit(client, site.stores["store2"])

    page = await phone()
    await sign_in(page, rep)
    await page.goto(site.stores["store1"]["qr_url"])
    await page.wait_for_selector("#check-in-button:not([disabled])")
    await page.click("#check-in-button")
    notice = page.locator("#open-visit-notice")
    await notice.wait_for()
    assert site.stores["store2"]["name"] in await notice.inner_text()
    assert await page.get_attribute("#continue-open-visit", "href") == f"/visit/{elsewhere['id']}"
    await snap(page, "already-open-390")

    # Abandon: a reason first, then a confirmation naming the store; "keep" queues nothing.
    await page.click(".abandon-other summary")
    await _abandon_with_a_reason(page, "abandon-open", "走错门店，先在这家签到")
    dialog = page.locator("#confirm-dialog")
    await dialog.wait_for()
    assert site.stores["store2"]["name"] in await dialog.inner_text()
    await snap(page, "abandon-confirm-390", full_page=False)
    await page.click("#confirm-no")
    await dialog.wait_for(state="detached")
    assert await outbox_items(page) == []
    await page.click("#abandon-open-button")
    await page.click("#confirm-yes")
    await notice.wait_for(state="detached")
    with site.api(rep) as client:
        gone = client.get(f"/api/v1/visits/{elsewhere['id']}").json()
    assert gone["status"] == "abandoned"
    assert gone["abandon_reason"] == "走错门店，先在这家签到"

    # Now the check-in goes through; the missing list then follows every change.
    await page.click("#check-in-button")
    await page.wait_for_selector("#visit-form")
    await page.click("#submit-visit")
    missing = page.locator("#missing")
    await missing.locator("text=Storefront photo").wait_for()
    assert "The next action" in await missing.inner_text()
    await take_photos(page, tmp_path, seed=30)
    await missing.locator("text=Storefront photo").wait_for(state="detached")
    assert "Conversation photo" not in await missing.inner_text()
    await page.select_option("#action-type", "demo")
    await page.click("text=In 3 d")
    await missing.locator("text=The next action").wait_for(state="detached")
    assert "Form:" in await missing.inner_text()
    await snap(page, "missing-list-live-390")

    # Abandoning this one from the visit screen asks the same way.
    await page.click("#abandon-section summary")
    await _abandon_with_a_reason(page, "abandon", "店长不在")
    await page.click("#confirm-yes")
    await page.wait_for_selector("#h-actions")
    with site.api(rep) as client:
        visits = client.get("/api/v1/visits?status=abandoned").json()["items"]
    assert {v["abandon_reason"] for v in visits} == {"走错门店，先在这家签到", "店长不在"}
