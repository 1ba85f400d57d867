"""The right screen for every role (issue 10, item 4): what a supervisor and an admin see first,
a supervisor opening a rep's visit read-only, unknown paths, sign-out with writes still waiting,
and a door link opened where the app has no session."""

from pathlib import Path
from typing import Any

from tests.e2e.helpers import Phone, Site, outbox_items, sign_in, wait_offline_ready
from tests.e2e.visit_api import open_visit, snap, submitted_visit_at

DESKTOP = {"width": 1280, "height": 800}


async def tab_labels(page: Any) -> list[str]:
    labels: list[str] = await page.locator("#tabs a").evaluate_all(
        "(links) => links.map((a) => a.firstChild.textContent.trim())"
    )
    return labels


async def test_supervisor_starts_on_the_review_queue(
    phone: Phone, site: Site, tmp_path: Path
) -> None:
    with site.api(site.reps["review"]) as client:
        visit = submitted_visit_at(client, site.stores["store1"], tmp_path, seed=1)
    page = await phone()
    await sign_in(page, site.supervisor)
    await page.wait_for_selector(f"#review-list li[data-visit-id='{visit['id']}']")
    assert await page.locator("h1").inner_text() == "Approval queue"
    assert await tab_labels(page) == ["Review", "Board", "Audit", "Fixes", "Inbox"]
    # The three thumbnails fit the card at 390 px, each labelled, in the fixed order.
    row = page.locator(f"li[data-visit-id='{visit['id']}'] .photo-row")
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#review-list img')]"
        ".every((i) => i.complete && i.naturalWidth > 0)"
    )
    card = await page.locator(f"li[data-visit-id='{visit['id']}']").bounding_box()
    for figure in await row.locator("figure").all():
        box = await figure.bounding_box()
        assert box["x"] + box["width"] <= card["x"] + card["width"] - 8
    captions = await row.locator("figcaption").all_inner_texts()
    assert captions == ["Storefront", "Shelf display", "Conversation"]
    await snap(page, "supervisor-home-390")
    await page.set_viewport_size(DESKTOP)
    await snap(page, "supervisor-home-1280")

    # A supervisor's scan and door code start an audit tour of the store, never a check-in.
    await page.goto("/scan")
    await page.wait_for_selector("#qr-text")
    assert await page.locator("#not-found").count() == 0
    await page.goto(site.stores["store1"]["qr_url"])
    await page.wait_for_selector("[data-test=audit-start]")
    assert await page.locator("#store-name").inner_text() == site.stores["store1"]["name"]
    assert await page.locator("#check-in-button").count() == 0


async def test_admin_starts_on_the_console_placeholder(phone: Phone, site: Site) -> None:
    page = await phone()
    await sign_in(page, "e2e-admin")
    placeholder = page.locator("#console-placeholder")
    await placeholder.wait_for()
    assert await page.locator("h1").inner_text() == "Admin console coming soon"
    assert await placeholder.locator("a[href='/docs']").count() == 1
    assert await tab_labels(page) == ["Console", "Review", "Board", "Inbox"]
    await snap(page, "admin-home-390")
    await page.set_viewport_size(DESKTOP)
    await snap(page, "admin-home-1280")
    await page.set_viewport_size({"width": 390, "height": 844})
    # What an admin can do already works: reviews and the board.
    await page.click("#tabs >> text=Review")
    await page.wait_for_selector("#review-list, #queue-empty")
    await page.click("#tabs >> text=Board")
    await page.wait_for_selector("#board-open")
    # /admin (and below it) is the console's place; another unknown path is not found.
    await page.goto("/admin/users")
    await placeholder.wait_for()
    await page.goto("/foo")
    await page.wait_for_selector("#not-found")


async def test_supervisor_sees_a_reps_visits_read_only(
    phone: Phone, site: Site, tmp_path: Path
) -> None:
    rep = site.reps["geo"]
    with site.api(rep) as client:
        rework = submitted_visit_at(client, site.stores["store2"], tmp_path, seed=2)
    with site.api(site.supervisor) as boss:
        rejected = boss.post(f"/api/v1/visits/{rework['id']}/reject", json={"reason": "门头照模糊"})
        assert rejected.status_code == 200, rejected.text
    with site.api(rep) as client:
        still_open = open_visit(client, site.stores["store1"])

    page = await phone()
    await sign_in(page, site.supervisor)
    for path, status in (
        (f"/visit/{rework['id']}", "Sent back"),
        (f"/visits/{still_open['id']}", "Open"),
        (f"/visit/{rework['id']}/summary", "Sent back"),
    ):
        await page.goto(path)
        await page.wait_for_selector("#read-only-note")
        assert status in await page.locator("#visit-status").inner_text()
        for editable in ("input", "textarea", "select", "#submit-visit", "#approve", "#reject"):
            assert await page.locator(f"#main {editable}").count() == 0, (path, editable)
        await snap(page, f"supervisor-read-only-{status.replace(' ', '-').lower()}")
    await page.goto(f"/visit/{rework['id']}")
    await page.wait_for_selector("#last-review >> text=门头照模糊")
    captions = await page.locator(".photo-row figcaption").all_inner_texts()
    assert captions == ["Storefront", "Shelf display", "Conversation"]
    assert await outbox_items(page) == []


async def test_unknown_paths_are_not_found(phone: Phone, site: Site) -> None:
    page = await phone(locale="zh-CN")
    await sign_in(page, site.reps["zh"])
    for path in ("/admin", "/users", "/foo", "/review", "/board"):
        await page.goto(path)
        await page.wait_for_selector("#not-found")
        assert path in await page.locator("#not-found").inner_text()
        assert await page.locator("h1").inner_text() == "找不到这个页面"
    await snap(page, "not-found-390-zh")
    await page.click("#menu-button")
    await page.wait_for_selector("#sign-out >> text=退出登录")
    await snap(page, "account-menu-390-zh", full_page=False)
    await page.click("#menu-button")
    await page.click("#go-home")
    await page.wait_for_selector("#h-actions")
    assert page.url.endswith("/")


async def test_sign_out_warns_about_waiting_writes_then_clears_everything(
    phone: Phone, site: Site
) -> None:
    page = await phone()
    await sign_in(page, site.reps["offline"])
    await wait_offline_ready(page)
    await page.context.set_offline(True)
    await page.goto(site.stores["store1"]["qr_url"])
    await page.wait_for_selector("#accuracy")
    await page.click("#check-in-button")
    await page.wait_for_selector("#visit-form")
    assert [item["kind"] for item in await outbox_items(page)] == ["check_in"]

    await page.click("#menu-button")
    await page.wait_for_selector("#menu >> text=Rep offline")
    await snap(page, "account-menu-390", full_page=False)
    await page.click("#sign-out")
    dialog = page.locator("#confirm-dialog")
    await dialog.wait_for()
    assert "Not yet sent to the server: 1" in await dialog.inner_text()
    await snap(page, "sign-out-warning-390", full_page=False)
    await page.click("#confirm-no")
    await dialog.wait_for(state="detached")
    assert len(await outbox_items(page)) == 1
    assert await page.evaluate("localStorage.getItem('doorstep.auth')") is not None

    # Still offline: signing out needs no network, and the shell still opens afterwards.
    await page.click("#menu-button")
    await page.click("#sign-out")
    await dialog.wait_for()
    await page.click("#confirm-yes")
    await page.wait_for_selector("#username")
    assert await page.evaluate("localStorage.getItem('doorstep.auth')") is None
    assert await outbox_items(page) == []
    left = await page.evaluate(
        """() => new Promise((resolve) => {
            const open = indexedDB.open('doorstep');
            open.onsuccess = () => {
                const tx = open.result.transaction(['visits', 'kv']);
                const visits = tx.objectStore('visits').count();
                const kv = tx.objectStore('kv').count();
                tx.oncomplete = () => resolve([visits.result, kv.result]);
            };
        })"""
    )
    assert left == [0, 0]
    shells = await page.evaluate("caches.keys()")
    assert shells and all(name.startswith("doorstep-shell-") for name in shells)
    assert await page.locator("#tabs").is_hidden()
    assert await page.locator("#menu-button").is_hidden()
    await page.goto("/")
    await page.wait_for_selector("#username")
    await snap(page, "signed-out-390")


async def test_door_link_without_a_session_says_open_it_in_the_app(
    phone: Phone, site: Site
) -> None:
    link = site.stores["store1"]["qr_url"]
    page = await phone()
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await page.goto(link)
    notice = page.locator("#door-link-notice")
    await notice.wait_for()
    assert "Open this in the Doorstep app" in await notice.inner_text()
    assert await page.locator("#username").is_visible()
    await snap(page, "door-link-no-session-390")
    await page.click("#copy-door-link")
    await page.wait_for_selector("text=Link copied")
    assert await page.evaluate("navigator.clipboard.readText()") == link

    # No Clipboard API (an old in-app browser): the link in a selected field to copy by hand.
    bare = await phone()
    await bare.add_init_script(
        "Object.defineProperty(navigator, 'clipboard', { value: undefined })"
    )
    await bare.goto(link)
    await bare.click("#copy-door-link")
    field = bare.locator("#door-link-text")
    await field.wait_for()
    assert await field.input_value() == link
    assert await bare.evaluate(
        "document.activeElement.id === 'door-link-text'"
        " && document.activeElement.selectionEnd === document.activeElement.value.length"
    )
    await snap(bare, "door-link-fallback-390")
    chinese = await phone(locale="zh-CN")
    await chinese.goto(link)
    await chinese.wait_for_selector("#door-link-notice >> text=请在 Doorstep 应用里扫码")
    await snap(chinese, "door-link-no-session-390-zh")

    # Signing in right there (it was the app after all) goes on to the check-in.
    await bare.fill("#username", site.reps["online"])
    await bare.fill("#password", "e2e-password-123")
    await bare.click("form button[type=submit]")
    await bare.wait_for_selector("#check-in-button")
