"""The rep's next actions on Today (done with a note, rescheduled with a reason) and the
notifications inbox (a rejected visit's notice with the unread badge, read on tap)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.e2e.helpers import Phone, Site, open_actions, shot, sign_in, submitted_visit
from tests.e2e.visit_api import LOCAL_INPUT


async def test_rep_completes_one_action_and_reschedules_another(
    phone: Phone, site: Site, tmp_path: Path, artifacts: Path
) -> None:
    rep = site.reps["online"]
    with site.api(rep) as client:
        submitted_visit(client, site.stores["store1"]["qr_url"], tmp_path, seed=31)
        submitted_visit(client, site.stores["store1"]["qr_url"], tmp_path, seed=32)
    actions = open_actions(site, rep)
    assert len(actions) == 2
    done, moved = actions[0]["id"], actions[1]["id"]

    page = await phone()
    await sign_in(page, rep)
    await page.wait_for_selector(f"li[data-action-id='{done}'] button.action-done")
    await page.wait_for_selector(f"li[data-action-id='{moved}'] button.action-reschedule")
    # Touch targets of at least 44 px, and names that say which action they act on.
    # Today may redraw once its data arrives from the server: measure the button it settles on.
    button = page.locator(f"li[data-action-id='{done}'] button.action-done")
    box = None
    for _ in range(50):
        await button.wait_for(state="visible")
        box = await button.bounding_box()
        if box is not None:
            break
        await page.wait_for_timeout(100)
    assert box is not None and box["height"] >= 44 and box["width"] >= 44
    label = await page.get_attribute(
        f"li[data-action-id='{done}'] button.action-done", "aria-label"
    )
    assert label == "Done: Send a quote"
    await shot(page, artifacts, "19-today-actions")

    # Done, with a note: it goes through the outbox and the action leaves the list.
    await page.click(f"li[data-action-id='{done}'] button.action-done")
    await page.fill(f"#done-note-{done}", "报价单已发给店长")
    await shot(page, artifacts, "20-action-done")
    await page.click(f"#done-confirm-{done}")
    await page.wait_for_selector(f"li[data-action-id='{done}']", state="detached")
    with site.api(rep) as client:
        action = client.get(f"/api/v1/next-actions/{done}").json()
    assert action["status"] == "done"
    assert action["completion_note"] == "报价单已发给店长"

    # Reschedule: a reason is required and the time must be within 7 days.
    row = f"li[data-action-id='{moved}']"
    await page.click(f"{row} button.action-reschedule")
    await page.wait_for_selector(f"#resched-due-{moved}")
    await page.fill(f"#resched-due-{moved}", await page.evaluate(LOCAL_INPUT, 3))
    await page.click(f"#resched-confirm-{moved}")
    await page.wait_for_selector(f"#action-error-{moved} >> text=Please give a reason")
    await page.fill(f"#resched-reason-{moved}", "店长出差，周五回来")
    await page.fill(f"#resched-due-{moved}", await page.evaluate(LOCAL_INPUT, 9))
    await page.click(f"#resched-confirm-{moved}")
    await page.wait_for_selector(f"#action-error-{moved} >> text=The due time must be after now")
    await page.fill(f"#resched-due-{moved}", await page.evaluate(LOCAL_INPUT, 3))
    await shot(page, artifacts, "21-action-reschedule")
    await page.click(f"#resched-confirm-{moved}")
    await page.wait_for_selector(f"{row} >> text=Rescheduled 1×")
    await shot(page, artifacts, "22-today-rescheduled")

    with site.api(rep) as client:
        action = client.get(f"/api/v1/next-actions/{moved}").json()
    assert action["status"] == "open"
    assert action["reschedule_count"] == 1
    due = datetime.fromisoformat(action["due_at"].replace("Z", "+00:00"))
    assert abs(due - (datetime.now(UTC) + timedelta(days=3))) < timedelta(minutes=10)


async def test_rejected_visit_notice_in_inbox_and_read_on_tap(
    phone: Phone, site: Site, tmp_path: Path, artifacts: Path
) -> None:
    rep = site.reps["review"]
    with site.api(rep) as client:
        visit = submitted_visit(client, site.stores["store1"]["qr_url"], tmp_path, seed=41)
    with site.api(site.supervisor) as boss:
        rejected = boss.post(f"/api/v1/visits/{visit['id']}/reject", json={"reason": "门头照模糊"})
        assert rejected.status_code == 200, rejected.text
    with site.api(rep) as client:
        inbox = client.get("/api/v1/notifications").json()
    notice = next(
        n for n in inbox["items"] if n["subject_type"] == "visit" and n["subject_id"] == visit["id"]
    )
    assert notice["read_at"] is None
    unread = inbox["unread_count"]
    assert unread >= 1

    page = await phone()
    await sign_in(page, rep)
    await page.wait_for_selector(f"#inbox-badge:not([hidden]) >> text='{unread}'")
    await page.click("#tabs >> text=Inbox")
    item = page.locator(f"[data-notification-id='{notice['id']}']")
    await item.wait_for()
    assert "unread" in (await item.get_attribute("class") or "")
    assert notice["title"]["en"] in await item.inner_text()
    assert notice["body"]["en"] in await item.inner_text()
    await shot(page, artifacts, "23-inbox")

    await item.click()
    await page.wait_for_url(f"**/visit/{visit['id']}")
    await page.wait_for_selector("#rework-reason >> text=门头照模糊")
    with site.api(rep) as client:
        read = client.get("/api/v1/notifications").json()["items"]
    assert next(n for n in read if n["id"] == notice["id"])["read_at"] is not None
    if unread == 1:
        await page.wait_for_selector("#inbox-badge", state="hidden")

    await page.click("#tabs >> text=Inbox")
    await page.wait_for_selector(f"[data-notification-id='{notice['id']}']:not(.unread)")
    await shot(page, artifacts, "24-inbox-read")
