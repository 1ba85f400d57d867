"""An audit tour with the network off from the door code to submit (issue 12): the supervisor's
phone starts the audit from its cached templates, takes every answer and photo and the submit
into the outbox, survives a reload still offline (the audit screen draws from IndexedDB), and,
back online, replays it all exactly once: one audit, its photos, its two rectifications, and
an empty outbox."""

from pathlib import Path

import httpx

from tests.e2e.helpers import (
    Phone,
    Site,
    answer_checklist,
    audit_checklist,
    outbox_items,
    shot,
    sign_in,
    wait_offline_ready,
    wait_outbox_empty,
)
from tests.e2e.visit_api import submitted_visit_at

FAILING = {"store_clean", "posm_in_place"}


async def test_audit_offline_from_door_to_submit_replays_once(
    phone: Phone, site: Site, tmp_path: Path, artifacts: Path
) -> None:
    store = site.stores["store2"]
    rep = site.reps["review"]
    with site.api(rep) as client:
        rep_id = client.get("/api/v1/me").json()["id"]
        submitted_visit_at(client, store, tmp_path, seed=4)  # the rep each fix goes to
    items = audit_checklist(site)

    boss = await phone(at=(store["lat"], store["lng"]))
    await sign_in(boss, site.supervisor)
    await wait_offline_ready(boss)
    assert await boss.evaluate(
        """async () => {
            const { kvGet } = await import('/app/db.js');
            return ((await kvGet('audit_templates')) || []).length;
        }"""
    )

    # Offline from the door code (the phone's camera opening it) to the submit.
    await boss.context.set_offline(True)
    await boss.goto(store["qr_url"])
    await boss.wait_for_selector("text=Offline")
    await boss.wait_for_selector("[data-test=audit-start]:not([disabled])")
    assert await boss.locator("#store-name").inner_text() == store["name"]
    await boss.click("[data-test=audit-start]")
    await boss.wait_for_selector("[data-test=audit-item]")
    audit_id = boss.url.rstrip("/").split("/")[-1]
    await boss.wait_for_function(
        "(n) => document.querySelectorAll('[data-test=audit-item]').length === n", arg=len(items)
    )
    photographed = await answer_checklist(boss, items, FAILING, tmp_path, seed=5)
    assert set(photographed) == {"storefront_sign", "display_score", *FAILING}
    await shot(boss, artifacts, "audit-offline-01-checklist-390")
    await boss.click("[data-test=audit-submit]")
    await boss.wait_for_selector("#audit-confirm")
    await boss.click("#audit-confirm [data-test=audit-confirm]")
    await boss.wait_for_selector("[data-test=audit-result]")
    shown = await boss.inner_text("[data-test=audit-result] .score-value")

    # Reloaded, still offline: the queue is all there, and the screen draws from the phone.
    await boss.reload()
    await boss.wait_for_selector("[data-test=audit-result]")
    await boss.wait_for_selector("#sync-status >> text=Offline")
    await shot(boss, artifacts, "audit-offline-02-reloaded-390")
    queued = sorted(await outbox_items(boss), key=lambda item: item["seq"])
    kinds = [item["kind"] for item in queued]
    assert kinds[0] == "audit_start" and kinds[-1] == "audit_submit", kinds
    assert sorted(i["item_key"] for i in queued if i["kind"] == "audit_photo") == sorted(
        photographed
    )
    assert all(i["has_blob"] for i in queued if i["kind"] == "audit_photo")
    assert "audit_results" in kinds
    with site.api(site.supervisor) as client:
        assert client.get(f"/api/v1/audits?store_id={store['id']}").json()["items"] == []

    # Back online: the outbox drains, once.
    await boss.context.set_offline(False)
    await wait_outbox_empty(boss)
    await boss.goto("/outbox")
    await boss.wait_for_selector("#outbox-empty")
    await shot(boss, artifacts, "audit-offline-03-outbox-empty-390")

    with site.api(site.supervisor) as client:
        audits = client.get(f"/api/v1/audits?store_id={store['id']}").json()["items"]
        assert [a["id"] for a in audits] == [audit_id]
        audit = client.get(f"/api/v1/audits/{audit_id}").json()
        assert audit["status"] == "submitted"
        assert f"{audit['score']['percent']}%" == shown  # the phone scored it as the server does
        assert audit["check_in"]["queued_offline"] is True
        with_photos = {k for k, r in audit["results"].items() if r.get("photo_url")}
        assert with_photos == set(photographed)
        for key in photographed:
            image = client.get(audit["results"][key]["photo_url"])
            assert image.status_code == 200, (key, image.text)
            assert image.headers["content-type"].startswith("image/")
            assert len(image.content) > 1000
        rects = client.get(f"/api/v1/rectifications?store_id={store['id']}").json()["items"]
    assert sorted(r["item_key"] for r in rects) == sorted(FAILING)
    assert {r["audit_id"] for r in rects} == {audit_id}
    assert {r["assignee"]["id"] for r in rects} == {rep_id}
    # Each fix carries its item's audit photo as the before photo.
    assert all(r["before_photo_url"] for r in rects)
    # Nobody else sees the photos: they are not public files.
    url = audit["results"][photographed[0]]["photo_url"]
    async with httpx.AsyncClient(base_url=site.base_url) as nobody:
        assert (await nobody.get(url)).status_code in (401, 403)
    assert await outbox_items(boss) == []
