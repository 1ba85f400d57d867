"""The supervisor's side (approval queue with flags and photos, approve, reject with a reason,
team board) and the rep's rework of the rejected visit."""

from pathlib import Path

from tests.e2e.helpers import Phone, Site, outbox_items, shot, sign_in, submitted_visit, take_photos


async def test_supervisor_approves_one_rejects_another_and_rep_reworks(
    phone: Phone, site: Site, tmp_path: Path, artifacts: Path
) -> None:
    rep = site.reps["review"]
    with site.api(rep) as client:
        first = submitted_visit(client, site.stores["store1"]["qr_url"], tmp_path, seed=7)
        second = submitted_visit(client, site.stores["store1"]["qr_url"], tmp_path, seed=8)

    boss = await phone()
    await sign_in(boss, site.supervisor)
    await boss.wait_for_selector("#review-list")
    cards = boss.locator("#review-list > li")
    assert await cards.count() == 2
    assert await boss.locator(f"li[data-visit-id='{first['id']}'] .photo-row img").count() == 3
    # Trust flags are on the queue (both visits were done in seconds: short_visit).
    await boss.wait_for_selector(f"li[data-visit-id='{first['id']}'] .chip.red")
    await boss.wait_for_function(
        "() => [...document.querySelectorAll('#review-list img')]"
        ".every((i) => i.complete && i.naturalWidth > 0)"
    )
    await shot(boss, artifacts, "13-review-queue")

    await boss.click(f"li[data-visit-id='{first['id']}'] a")
    await boss.wait_for_selector("#approve")
    await shot(boss, artifacts, "14-review-visit")
    await boss.click("#approve")
    await boss.wait_for_selector(f"li[data-visit-id='{second['id']}']")
    assert await boss.locator(f"li[data-visit-id='{first['id']}']").count() == 0

    await boss.click(f"li[data-visit-id='{second['id']}'] a")
    await boss.click("#reject")
    await boss.wait_for_selector("#review-error >> text=A reason is required to reject")
    await boss.fill("#review-comment", "陈列照看不清价签，请重拍")
    await boss.click("#reject")
    await boss.wait_for_selector("#queue-empty")

    await boss.click("#tabs >> text=Board")
    await boss.wait_for_selector("#board-open li")
    assert await boss.locator("#board-open .countdown").count() >= 2
    await shot(boss, artifacts, "15-team-board")

    with site.api(site.supervisor) as client:
        assert client.get(f"/api/v1/visits/{first['id']}").json()["status"] == "approved"
        assert client.get(f"/api/v1/visits/{second['id']}").json()["status"] == "rejected"

    # The rep sees the rework request with its reason, retakes the photo and resubmits.
    page = await phone()
    await sign_in(page, rep)
    rework = page.locator(f"a[href='/visit/{second['id']}']").first
    await page.wait_for_selector("#h-rework")
    assert "陈列照看不清价签，请重拍" in await rework.inner_text()
    await shot(page, artifacts, "16-today-rework")
    await rework.click()
    await page.wait_for_selector("#rework-reason >> text=陈列照看不清价签，请重拍")
    await take_photos(page, tmp_path, seed=9)
    await page.wait_for_selector("#visit-sync >> text=Everything is synced")
    await shot(page, artifacts, "17-rework-visit")
    await page.click("#submit-visit")
    await page.wait_for_selector("#summary-card")
    assert await outbox_items(page) == []

    with site.api(rep) as client:
        visit = client.get(f"/api/v1/visits/{second['id']}").json()
    assert visit["status"] == "submitted"
    assert visit["submit_count"] == 2
    assert visit["photos"]["shelf"]["sha256"] != second["photos"]["shelf"]["sha256"]
