"""Visits made over HTTP, as the app would make them, at any store's own position (the shared
``submitted_visit`` helper always stands at the first store), to set up what a browser test then
looks at; and the screenshots those tests leave under /tmp/shots to be looked at."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.helpers import (
    PHOTO_KINDS,
    camera_jpeg,
    check_in_over_http,
    quote,
    submit_over_http,
)

SHOTS = Path("/tmp/shots")

# A datetime-local value `days` from now, in the browser's time zone.
LOCAL_INPUT = """(days) => {
    const d = new Date(Date.now() + days * 86400000); d.setSeconds(0, 0);
    return new Date(d - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}"""


async def snap(page: Any, name: str, *, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def open_visit(client: httpx.Client, store: dict[str, Any]) -> dict[str, Any]:
    """A check-in at the store's door, left open."""
    return check_in_over_http(client, store["qr_url"], (store["lat"], store["lng"]))


def submitted_visit_at(
    client: httpx.Client, store: dict[str, Any], folder: Path, seed: int
) -> dict[str, Any]:
    """Check in at the store, add the three photos, valid answers and a next action, submit."""
    visit = open_visit(client, store)
    photos = {
        kind: camera_jpeg(folder / f"v-{seed}-{kind}.jpg", 700 + seed * 10 + index, (640, 480))
        for index, kind in enumerate(PHOTO_KINDS)
    }
    due = datetime.now(UTC) + timedelta(days=2, minutes=seed)
    return submit_over_http(client, visit, photos, quote(due, f"报价 {seed}"))
