"""Visits made over HTTP, as the app would make them, at any store's own position (the shared
``submitted_visit`` helper always stands at the first store), to set up what a browser test then
looks at; and the screenshots those tests leave under /tmp/shots to be looked at."""

import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.helpers import PHOTO_KINDS, camera_jpeg, valid_answers

SHOTS = Path("/tmp/shots")

# A datetime-local value `days` from now, in the browser's time zone.
LOCAL_INPUT = """(days) => {
    const d = new Date(Date.now() + days * 86400000); d.setSeconds(0, 0);
    return new Date(d - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}"""


async def snap(page: Any, name: str, *, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def open_visit(client: httpx.Client, store: dict[str, Any]) -> dict[str, Any]:
    """A check-in at the store's door, left open."""
    now = _stamp(datetime.now(UTC))
    response = client.post(
        "/api/v1/visits",
        json={
            "id": str(uuid.uuid4()),
            "qr": store["qr_url"],
            "position": {
                "lat": store["lat"],
                "lng": store["lng"],
                "accuracy_m": 10,
                "captured_at": now,
            },
            "device_time": now,
        },
    )
    assert response.status_code == 201, response.text
    visit: dict[str, Any] = response.json()
    return visit


def submitted_visit_at(
    client: httpx.Client, store: dict[str, Any], folder: Path, seed: int
) -> dict[str, Any]:
    """Check in at the store, add the three photos, valid answers and a next action, submit."""
    visit = open_visit(client, store)
    for index, kind in enumerate(PHOTO_KINDS):
        path = camera_jpeg(folder / f"v-{seed}-{kind}.jpg", 700 + seed * 10 + index, (640, 480))
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
    due = _stamp(datetime.now(UTC) + timedelta(days=2, minutes=seed))
    action = client.put(
        f"/api/v1/visits/{visit['id']}/next-action",
        json={"id": str(uuid.uuid4()), "type": "quote", "due_at": due, "note": f"报价 {seed}"},
    )
    assert action.status_code in (200, 201), action.text
    submitted = client.post(f"/api/v1/visits/{visit['id']}/submit")
    assert submitted.status_code == 200, submitted.text
    result: dict[str, Any] = submitted.json()
    return result
