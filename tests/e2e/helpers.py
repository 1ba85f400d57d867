"""What the browser tests do over and over: sign in, take photos through the file chooser, fill a
form from its definition, read the outbox, and (for setting up reviews) run a visit over HTTP."""

import asyncio
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageDraw

from tests.e2e.conftest import PASSWORD, STORE_AT

PHOTO_KINDS = ("storefront", "shelf", "conversation")


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


async def shot(page: Any, artifacts: Path, name: str) -> None:
    await page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


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


def submitted_visit(client: httpx.Client, qr_url: str, folder: Path, seed: int) -> dict[str, Any]:
    """Check in, add everything and submit over HTTP, as the app would."""
    now = datetime.now(UTC)
    stamp = now.isoformat().replace("+00:00", "Z")
    visit = client.post(
        "/api/v1/visits",
        json={
            "id": str(uuid.uuid4()),
            "qr": qr_url,
            "position": {
                "lat": STORE_AT[0] + 0.0001 * (seed % 3),
                "lng": STORE_AT[1],
                "accuracy_m": 10,
                "captured_at": stamp,
            },
            "device_time": stamp,
        },
    )
    assert visit.status_code == 201, visit.text
    body = visit.json()
    for index, kind in enumerate(PHOTO_KINDS):
        path = camera_jpeg(folder / f"api-{seed}-{kind}.jpg", 500 + seed * 10 + index, (800, 600))
        buffer = io.BytesIO(path.read_bytes())
        photo = client.put(
            f"/api/v1/visits/{body['id']}/photos/{kind}", files={"file": ("p.jpg", buffer)}
        )
        assert photo.status_code in (200, 201), photo.text
    answers = client.put(
        f"/api/v1/visits/{body['id']}/answers",
        json={"answers": valid_answers(body["form"]["fields"])},
    )
    assert answers.status_code == 200, answers.text
    due = (now + timedelta(days=2)).isoformat().replace("+00:00", "Z")
    action = client.put(
        f"/api/v1/visits/{body['id']}/next-action",
        json={"id": str(uuid.uuid4()), "type": "quote", "due_at": due, "note": "报价单"},
    )
    assert action.status_code in (200, 201), action.text
    submitted = client.post(f"/api/v1/visits/{body['id']}/submit")
    assert submitted.status_code == 200, submitted.text
    result: dict[str, Any] = submitted.json()
    return result
