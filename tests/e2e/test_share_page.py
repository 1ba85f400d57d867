"""The read-only page behind a share link, in Chromium at phone and desktop widths: no console
error (its CSP is a header, not a <meta> the browser complains about), no failed request (its
icon resolves), and the summary card PNG it goes with."""

import base64
import io
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.helpers import PHONE, PHOTO_KINDS, STORE_AT, Site, camera_jpeg, valid_answers

DESKTOP = {"width": 1280, "height": 900}
SHOTS = Path("/tmp/shots")
NOTE = (
    "店长希望下周三前送两盒新品样品，并提供阶梯报价；首批订货超过五十盒希望有额外返利。"
    "收银台旁的陈列位下月到期，需尽快续签，否则会被竞品占用。店员对新品卖点还不熟悉，"
    "建议安排一次二十分钟的店内培训，下午两点到四点之间客流较少。"
) * 3


def _submitted_with_a_long_note(client: httpx.Client, site: Site, folder: Path) -> dict[str, Any]:
    """A whole visit over HTTP, as the app sends it, with a long next-action note."""
    stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    position = {"lat": STORE_AT[0], "lng": STORE_AT[1], "accuracy_m": 10, "captured_at": stamp}
    visit = client.post(
        "/api/v1/visits",
        json={
            "id": str(uuid.uuid4()),
            "qr": site.stores["store1"]["qr_url"],
            "position": position,
            "device_time": stamp,
        },
    )
    assert visit.status_code == 201, visit.text
    body = visit.json()
    for index, kind in enumerate(PHOTO_KINDS):
        path = camera_jpeg(folder / f"share-{kind}.jpg", 900 + index, (800, 600))
        photo = client.put(
            f"/api/v1/visits/{body['id']}/photos/{kind}",
            files={"file": ("p.jpg", io.BytesIO(path.read_bytes()))},
        )
        assert photo.status_code == 201, photo.text
    answers = {**valid_answers(body["form"]["fields"]), "notes": NOTE[:300]}
    saved = client.put(f"/api/v1/visits/{body['id']}/answers", json={"answers": answers})
    assert saved.status_code == 200, saved.text
    due = (datetime.now(UTC) + timedelta(days=2)).isoformat().replace("+00:00", "Z")
    action = client.put(
        f"/api/v1/visits/{body['id']}/next-action",
        json={"id": str(uuid.uuid4()), "type": "send_sample", "due_at": due, "note": NOTE},
    )
    assert action.status_code == 201, action.text
    submitted = client.post(f"/api/v1/visits/{body['id']}/submit")
    assert submitted.status_code == 200, submitted.text
    result: dict[str, Any] = submitted.json()
    return result


async def _open(browser: Any, url: str, viewport: dict[str, int], locale: str) -> Any:
    context = await browser.new_context(viewport=viewport, locale=locale)
    page = await context.new_page()
    page.problems = []  # console errors, page errors and failed requests, as they happen
    page.on(
        "console",
        lambda m: (
            page.problems.append(f"console.{m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda error: page.problems.append(f"pageerror: {error}"))
    page.on("requestfailed", lambda r: page.problems.append(f"failed: {r.url}"))
    page.on(
        "response",
        lambda r: page.problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None,
    )
    response = await page.goto(url)
    assert response is not None and response.ok
    return page


async def test_share_page_and_card_open_cleanly(
    browser: Any, site: Site, tmp_path: Path, artifacts: Path
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with site.api(site.reps["review"]) as client:
        visit = _submitted_with_a_long_note(client, site, tmp_path)
        link = client.post(f"/api/v1/visits/{visit['id']}/share").json()["url"]
        cards = {
            locale: client.get(
                f"/api/v1/visits/{visit['id']}/summary.png", params={"locale": locale}
            )
            for locale in ("zh-CN", "en")
        }
    assert link.startswith(site.base_url + "/s/")

    for name, viewport, locale in (
        ("share-page-zh-390", PHONE, "zh-CN"),
        ("share-page-en-1280", DESKTOP, "en-US"),
    ):
        url = link if locale == "zh-CN" else f"{link}?locale=en"
        page = await _open(browser, url, viewport, locale)
        response = await page.request.get(url)
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert await page.locator('meta[http-equiv="Content-Security-Policy"]').count() == 0
        icon = await page.get_attribute('link[rel="icon"]', "href")
        assert icon == "/icons/icon-192.png"
        icon_response = await page.request.get(site.base_url + icon)
        assert icon_response.ok and icon_response.headers["content-type"] == "image/png"
        await page.wait_for_load_state("networkidle")
        assert await page.locator(".photos img").count() == 3
        assert all(
            await page.locator(".photos img").evaluate_all(
                "imgs => imgs.map(i => i.complete && i.naturalWidth > 0)"
            )
        )
        text = await page.inner_text("main")
        if locale == "zh-CN":
            assert "截止：" in text and "米" in text and " m\n" not in text
        else:
            assert "Due " in text and " m" in text and "米" not in text
        await page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
        shutil.copy(artifacts / f"{name}.png", SHOTS / f"{name}.png")
        assert page.problems == []
        await page.context.close()

    # The card as a person sees it in a chat, at phone and desktop widths.
    for locale, response in cards.items():
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        (SHOTS / f"card-{locale}.png").write_bytes(response.content)
        encoded = base64.b64encode(response.content).decode()
        for width in (PHONE["width"], DESKTOP["width"]):
            context = await browser.new_context(viewport={"width": width, "height": 900})
            page = await context.new_page()
            await page.set_content(
                "<body style='margin:0;background:#ddd'>"
                f"<img style='display:block;width:100%;max-width:540px;margin:0 auto' "
                f"src='data:image/png;base64,{encoded}'></body>"
            )
            await page.screenshot(path=str(SHOTS / f"card-{locale}-{width}.png"), full_page=True)
            await context.close()
