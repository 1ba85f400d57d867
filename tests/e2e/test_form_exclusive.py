"""An exclusive option ("没有") stands alone in the visit form: ticking it unticks the others,
ticking another unticks it, and what reaches the server is the option alone."""

import asyncio
from pathlib import Path
from typing import Any

from tests.e2e.helpers import Phone, Site, fill_form, shot, sign_in

FIELD = "#field-competitor_promotions"


async def _ticked(page: Any) -> list[str]:
    values: list[str] = await page.eval_on_selector_all(
        f"{FIELD} input[type=checkbox]", "boxes => boxes.filter(b => b.checked).map(b => b.value)"
    )
    return values


async def test_none_unticks_the_others_and_the_others_untick_none(
    phone: Phone, site: Site, artifacts: Path
) -> None:
    page = await phone(locale="zh-CN")
    await sign_in(page, site.reps["zh"])
    await page.goto(site.stores["store1"]["qr_url"])
    await page.wait_for_selector("#accuracy")
    await page.click("#check-in-button")
    await page.wait_for_selector(FIELD)
    with site.api(site.reps["zh"]) as client:
        visit = client.get("/api/v1/visits?status=open").json()["items"][0]
    await fill_form(page, visit["form"]["fields"])  # ticks the first option: 没有
    assert await _ticked(page) == ["none"]

    await page.check(f"{FIELD} input[value=buy_gift]")
    assert await _ticked(page) == ["buy_gift"]
    await page.check(f"{FIELD} input[value=price_cut]")
    assert await _ticked(page) == ["buy_gift", "price_cut"]  # ordinary options combine
    await page.check(f"{FIELD} input[value=none]")
    assert await _ticked(page) == ["none"]
    await page.locator(FIELD).scroll_into_view_if_needed()
    await shot(page, artifacts, "form-exclusive-none")

    # What the rep sees is what is saved: 没有 alone reaches the server.
    deadline = asyncio.get_running_loop().time() + 20
    with site.api(site.reps["zh"]) as client:
        while True:
            answers = client.get(f"/api/v1/visits/{visit['id']}").json()["answers"] or {}
            if answers.get("competitor_promotions") == ["none"]:
                break
            assert asyncio.get_running_loop().time() < deadline, answers
            await asyncio.sleep(0.3)

    await page.check(f"{FIELD} input[value=bundle]")
    assert await _ticked(page) == ["bundle"]
