"""What the browser tests share: the seeded site (``Site``) and its constants, a phone-sized
browser context, and what they do over and over: sign in, take photos through the file chooser,
fill a form from its definition, read the outbox, and (for setting up reviews) run a visit over
HTTP. The fixtures that use these live in ``conftest.py``."""

import asyncio
import io
import os
import shutil
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageDraw

from tests.factories.visits import KINDS, check_in_body, iso

PASSWORD = "e2e-password-123"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "e2e"
CHROMIUM = os.environ.get("DOORSTEP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
# The store every rep checks in at, and a point about 1.1 km east of it.
STORE_AT = (30.27410, 120.15510)
FAR_AWAY = (30.27410, 120.16650)


@dataclass
class Site:
    base_url: str
    org_id: uuid.UUID
    supervisor: str
    reps: dict[str, str]
    stores: dict[str, dict[str, Any]] = field(default_factory=dict)

    def token(self, username: str) -> str:
        response = httpx.post(
            f"{self.base_url}/api/v1/auth/token",
            data={"grant_type": "password", "username": username, "password": PASSWORD},
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def api(self, username: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(username)}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


Phone = Callable[..., Awaitable[Any]]


def chromium_path() -> str:
    """Where Chromium is; fails the test (never skips it) when it is missing."""
    path = shutil.which(CHROMIUM) or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if path is None:
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: the PWA end-to-end tests need it. Install "
            "Debian's package with `sudo apt-get install -y chromium` (or run `bash "
            ".ci/system-deps`), or point DOORSTEP_CHROMIUM at a Chromium binary.",
            pytrace=False,
        )
    return path


async def phone_context(
    browser: Any,
    base_url: str,
    *,
    locale: str = "en-US",
    at: tuple[float, float] = STORE_AT,
    permissions: tuple[str, ...] = ("geolocation",),
) -> Any:
    """A phone-sized browser context standing at ``at``, with the service worker allowed."""
    context = await browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale=locale,
        geolocation={"latitude": at[0], "longitude": at[1], "accuracy": 12},
        permissions=list(permissions),
        base_url=base_url,
        service_workers="allow",
    )
    context.set_default_timeout(15_000)
    return context


PHOTO_KINDS = KINDS


def open_actions(site: Site, username: str) -> list[dict[str, Any]]:
    """The open next actions ``username`` is assigned, read over the API."""
    with site.api(username) as client:
        items: list[dict[str, Any]] = client.get(
            "/api/v1/next-actions?assignee=me&status=open&limit=50"
        ).json()["items"]
    return items


def camera_jpeg(path: Path, seed: int, size: tuple[int, int] = (2016, 1512)) -> Path:
    """A distinct, camera-sized JPEG (distinct so no duplicate_photo flag links the tests)."""
    image = Image.new("RGB", size, ((seed * 53) % 256, (seed * 97) % 256, (seed * 31) % 256))
    draw = ImageDraw.Draw(image)
    for i in range(24):
        x = (seed * 131 + i * 89) % size[0]
        y = (seed * 71 + i * 113) % size[1]
        draw.rectangle([x, y, x + 300, y + 200], fill=((i * 37 + seed) % 256, (i * 11) % 256, 200))
    draw.text((40, 40), f"photo {seed}", fill=(255, 255, 255))
    image.save(path, "JPEG", quality=90)
    return path


async def shot(page: Any, artifacts: Path, name: str, *, full_page: bool = True) -> None:
    await page.screenshot(path=str(artifacts / f"{name}.png"), full_page=full_page)


async def sign_in(page: Any, username: str, path: str = "/") -> None:
    await page.goto(path)
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("form button[type=submit]")
    await page.wait_for_selector("#tabs:not([hidden])")


REFERENCE_SYNCED = """() => new Promise((resolve) => {
    const open = indexedDB.open('doorstep');
    open.onsuccess = () => {
        const db = open.result;
        if (!db.objectStoreNames.contains('kv')) { db.close(); resolve(false); return; }
        const get = db.transaction('kv', 'readonly').objectStore('kv').get('reference_synced_at');
        get.onsuccess = () => { resolve(Boolean(get.result)); db.close(); };
        get.onerror = () => { resolve(false); db.close(); };
    };
    open.onerror = () => resolve(false);
})"""


async def wait_offline_ready(page: Any, timeout_s: float = 20) -> None:
    """The service worker controls the page and a full reference sync is in IndexedDB.

    Polled with ``evaluate``, which awaits the page's promise: ``wait_for_function`` would take
    the promise object itself as a truthy answer and not wait at all.
    """
    await page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller")
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await page.evaluate(REFERENCE_SYNCED):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the app did not finish its reference sync")
        await asyncio.sleep(0.1)


async def outbox_items(page: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = await page.evaluate(
        """() => new Promise((resolve, reject) => {
            const open = indexedDB.open('doorstep');
            open.onsuccess = () => {
                const get = open.result.transaction('outbox').objectStore('outbox').getAll();
                get.onsuccess = () => {
                    resolve(get.result.map(({ blob, ...rest }) => ({ ...rest, has_blob: !!blob })));
                    open.result.close();
                };
                get.onerror = () => reject(get.error);
            };
        })"""
    )
    return items


def losing_the_first_answer(
    seen: list[str], note: Callable[[Any], str]
) -> Callable[[Any], Awaitable[None]]:
    """A route handler for ``page.route``: each request is noted in ``seen`` (what ``note`` reads
    from it); the first reaches the server but its answer is lost, as on a dropped connection;
    the later ones go through."""

    async def handler(route: Any) -> None:
        seen.append(note(route.request))
        if len(seen) == 1:
            await route.fetch()
            await route.abort()
        else:
            await route.continue_()

    return handler


async def take_photos(page: Any, folder: Path, seed: int) -> None:
    for index, kind in enumerate(PHOTO_KINDS):
        path = camera_jpeg(folder / f"{kind}-{seed}.jpg", seed * 10 + index)
        async with page.expect_file_chooser() as chooser:
            await page.click(f"label.slot[data-kind={kind}]")
        await (await chooser.value).set_files(str(path))
        await page.wait_for_selector(f"label.slot.filled[data-kind={kind}]")


async def fill_form(page: Any, fields: list[dict[str, Any]]) -> None:
    """Answer every required, unconditional field through the UI with a valid value."""
    for spec in fields:
        if not spec.get("required") or spec.get("visible_if"):
            continue
        key, kind = spec["key"], spec["type"]
        options = [o["value"] for o in spec.get("options") or []]
        target = f"#f-{key}"
        if kind == "choice" and len(options) <= 6:
            await page.check(f'input[name="f-{key}"][value="{options[0]}"]')
        elif kind in ("choice",):
            await page.select_option(target, options[0])
        elif kind == "boolean":
            await page.select_option(target, "true")
        elif kind == "multi_choice":
            await page.check(f'#field-{key} input[type=checkbox][value="{options[0]}"]')
        elif kind in ("integer", "number"):
            await page.fill(target, str(max(int(spec.get("min") or 0), 1)))
        elif kind == "date":
            await page.fill(target, date.today().isoformat())
        else:
            await page.fill(target, "好")


def valid_answers(fields: list[dict[str, Any]]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for spec in fields:
        if not spec.get("required") or spec.get("visible_if"):
            continue
        options = [o["value"] for o in spec.get("options") or []]
        kind = spec["type"]
        answers[spec["key"]] = {
            "choice": options[0] if options else None,
            "multi_choice": options[:1],
            "boolean": True,
            "integer": max(int(spec.get("min") or 0), 1),
            "number": float(max(int(spec.get("min") or 0), 1)),
            "date": date.today().isoformat(),
            "string_list": ["好"],
        }.get(kind, "好")
    return answers


def check_in_over_http(client: httpx.Client, qr: str, at: tuple[float, float]) -> dict[str, Any]:
    """A check-in with the door code ``qr`` standing at ``at``, as the app sends it; left open."""
    now = datetime.now(UTC)
    body = check_in_body(qr, *at, accuracy_m=10, captured_at=now, device_time=now)
    response = client.post("/api/v1/visits", json=body)
    assert response.status_code == 201, response.text
    visit: dict[str, Any] = response.json()
    return visit


def submit_over_http(
    client: httpx.Client,
    visit: dict[str, Any],
    photos: dict[str, Path],
    action: dict[str, Any],
) -> dict[str, Any]:
    """Add the photos, valid answers and the next action ``action`` to an open visit, submit."""
    for kind, path in photos.items():
        photo = client.put(
            f"/api/v1/visits/{visit['id']}/photos/{kind}",
            files={"file": ("p.jpg", io.BytesIO(path.read_bytes()))},
        )
        assert photo.status_code in (200, 201), photo.text
    answers = client.put(
        f"/api/v1/visits/{visit['id']}/answers",
        json={"answers": valid_answers(visit["form"]["fields"])},
    )
    assert answers.status_code == 200, answers.text
    put = client.put(f"/api/v1/visits/{visit['id']}/next-action", json=action)
    assert put.status_code in (200, 201), put.text
    submitted = client.post(f"/api/v1/visits/{visit['id']}/submit")
    assert submitted.status_code == 200, submitted.text
    result: dict[str, Any] = submitted.json()
    return result


def quote(due: datetime, note: str) -> dict[str, Any]:
    """A next action: send a quote by ``due``."""
    return {"id": str(uuid.uuid4()), "type": "quote", "due_at": iso(due), "note": note}


def submitted_visit(client: httpx.Client, qr_url: str, folder: Path, seed: int) -> dict[str, Any]:
    """Check in (near the first store), add everything and submit over HTTP, as the app would."""
    now = datetime.now(UTC)
    visit = check_in_over_http(client, qr_url, (STORE_AT[0] + 0.0001 * (seed % 3), STORE_AT[1]))
    photos = {
        kind: camera_jpeg(folder / f"api-{seed}-{kind}.jpg", 500 + seed * 10 + index, (800, 600))
        for index, kind in enumerate(PHOTO_KINDS)
    }
    return submit_over_http(client, visit, photos, quote(now + timedelta(days=2), "报价单"))


# --- audit tours and rectifications (issue 12) ---------------------------------------------------

DESKTOP = {"width": 1280, "height": 800}


async def desktop_context(browser: Any, base_url: str, *, locale: str = "en-US") -> Any:
    """A desktop-sized browser context (a supervisor at the office), service worker allowed."""
    context = await browser.new_context(
        viewport=DESKTOP, locale=locale, base_url=base_url, service_workers="allow"
    )
    context.set_default_timeout(15_000)
    return context


def audit_checklist(site: Site) -> list[dict[str, Any]]:
    """The items of the ``standard`` template's current checklist, read over the API."""
    with site.api(site.supervisor) as client:
        templates = client.get("/api/v1/audit-templates").json()
    [standard] = [t for t in templates if t["key"] == "standard"]
    items: list[dict[str, Any]] = standard["checklist"]["items"]
    return items


def wants_photo(item: dict[str, Any], failed: bool) -> bool:
    return item.get("photo") == "required" or (item.get("photo") == "on_fail" and failed)


def passing_value(item: dict[str, Any]) -> float:
    """A number inside the item's min..max."""
    low, high = item.get("min"), item.get("max")
    value = (low if low is not None else 0) + 1
    return min(value, high) if high is not None else value


async def answer_checklist(
    page: Any, items: list[dict[str, Any]], failing: set[str], folder: Path, seed: int
) -> list[str]:
    """Answer every item through the audit screen: the checks in ``failing`` fail, every other
    item passes (a scale one below its top, a number inside its range), and a distinct photo
    goes to each item that wants one. → the keys that were given a photo."""
    photographed = []
    for index, item in enumerate(items):
        key, kind = item["key"], item["kind"]
        if kind == "check":
            verb = "fail" if key in failing else "pass"
            await page.click(f"[data-test=audit-{verb}-{key}]")
            await page.wait_for_selector(f"[data-test=audit-{verb}-{key}][aria-pressed=true]")
        elif kind == "scale":
            value = int(item["scale_max"]) - 1
            await page.click(f"[data-test=audit-scale-{key}-{value}]")
            await page.wait_for_selector(
                f"[data-test=audit-scale-{key}-{value}][aria-pressed=true]"
            )
        else:
            # The card is drawn anew once the answer is stored: wait for the new input.
            field = f"[data-test=audit-number-{key}]"
            await page.eval_on_selector(field, "(input) => { input.dataset.stale = '1'; }")
            await page.fill(field, str(passing_value(item)))
            await page.dispatch_event(field, "change")
            await page.wait_for_selector(f"{field}:not([data-stale])")
        if wants_photo(item, key in failing):
            path = camera_jpeg(folder / f"audit-{seed}-{key}.jpg", seed * 100 + index, (1200, 900))
            await page.set_input_files(f"[data-test=audit-photo-{key}]", str(path))
            await page.wait_for_selector(f"label.slot.filled[for=audit-photo-{key}]")
            photographed.append(key)
    return photographed


async def wait_outbox_empty(page: Any, timeout_s: float = 30) -> None:
    """Polls IndexedDB until the outbox is empty (everything acknowledged by the server)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while left := await outbox_items(page):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the outbox did not drain: {left}")
        await asyncio.sleep(0.2)


async def images_loaded(page: Any, selector: str) -> None:
    """Every <img> under ``selector`` has decoded a real image."""
    await page.wait_for_function(
        "(sel) => { const imgs = [...document.querySelectorAll(`${sel} img`)];"
        " return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0); }",
        arg=selector,
    )


async def check_in_through_scan(page: Any, qr_url: str) -> str:
    """The rep's check-in as on the phone: Scan tab, the typed door code, "Check in here".
    → the new visit's id."""
    await page.click("#tabs >> text=Scan")
    await page.fill("#qr-text", qr_url)
    await page.click("text=Continue")
    await page.wait_for_selector("text=Inside the check-in circle")
    await page.click("#check-in-button")
    await page.wait_for_selector("#visit-form")
    visit_id: str = page.url.rstrip("/").split("/")[-1]
    uuid.UUID(visit_id)
    return visit_id
