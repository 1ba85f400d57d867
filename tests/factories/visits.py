"""Visits over the API: check-in bodies, a store and a check-in in one org (``Field``), and the
steps that complete and submit a visit."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict, Unpack

import httpx

from backend.kit.time import utc_now
from tests.factories.forms import fill_form
from tests.factories.images import encode, synthetic_photo
from tests.factories.stores import STORE_LAT, STORE_LNG, create_store
from tests.factories.world import Actor, Org

METRES_PER_DEGREE_LAT = 111_195.0
# The photos a visit needs before it can be submitted.
KINDS = ("storefront", "shelf", "conversation")


def north(metres: float, lat: float = STORE_LAT) -> float:
    return lat + metres / METRES_PER_DEGREE_LAT


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class CheckInOptions(TypedDict, total=False):
    accuracy_m: float  # 15 m unless given
    captured_at: datetime  # when the position was fixed: 3 s before device_time unless given
    device_time: datetime  # the phone's clock: now unless given
    queued_offline: bool
    visit_id: uuid.UUID  # the client-generated id: a fresh one unless given


def check_in_body(
    qr: str, lat: float = STORE_LAT, lng: float = STORE_LNG, **options: Unpack[CheckInOptions]
) -> dict[str, Any]:
    """A ``POST /api/v1/visits`` body: the door code ``qr`` scanned at (lat, lng)."""
    device_time = options.get("device_time") or utc_now()
    captured_at = options.get("captured_at") or device_time - timedelta(seconds=3)
    return {
        "id": str(options.get("visit_id") or uuid.uuid4()),
        "qr": qr,
        "position": {
            "lat": lat,
            "lng": lng,
            "accuracy_m": options.get("accuracy_m", 15.0),
            "captured_at": iso(captured_at),
        },
        "device_time": iso(device_time),
        "queued_offline": options.get("queued_offline", False),
    }


def photo_set(seed: int, size: tuple[int, int]) -> dict[str, bytes]:
    """One distinct JPEG for each kind a visit needs."""
    return {
        kind: encode(synthetic_photo(seed + i, size), "JPEG", quality=80)
        for i, kind in enumerate(KINDS)
    }


@dataclass
class Field:
    """Stores and check-ins in one org, as its admin and its reps."""

    client: httpx.AsyncClient
    org: Org

    async def store(
        self, lat: float = STORE_LAT, lng: float = STORE_LNG, **extra: Any
    ) -> dict[str, Any]:
        return await create_store(self.client, self.org.admin.headers, lat=lat, lng=lng, **extra)

    def check_in_body(
        self,
        store: dict[str, Any],
        *,
        lat: float | None = None,
        lng: float | None = None,
        **options: Unpack[CheckInOptions],
    ) -> dict[str, Any]:
        """A check-in at ``store`` (at its own position unless given)."""
        return check_in_body(
            store["qr_url"],
            store["lat"] if lat is None else lat,
            store["lng"] if lng is None else lng,
            **options,
        )

    async def check_in(self, body: dict[str, Any], actor: Actor | None = None) -> httpx.Response:
        actor = actor or self.org.rep
        return await self.client.post("/api/v1/visits", json=body, headers=actor.headers)

    async def abandon(
        self, visit_id: str, reason: str, actor: Actor | None = None
    ) -> httpx.Response:
        actor = actor or self.org.rep
        return await self.client.post(
            f"/api/v1/visits/{visit_id}/abandon", json={"reason": reason}, headers=actor.headers
        )


async def start(field: Field) -> dict[str, Any]:
    """A fresh store and the rep's check-in there: the open visit."""
    store = await field.store()
    response = await field.check_in(field.check_in_body(store))
    assert response.status_code == 201, response.text
    visit: dict[str, Any] = response.json()
    return visit


async def rep_put(field: Field, url: str, **kwargs: Any) -> httpx.Response:
    return await field.client.put(url, headers=field.org.rep.headers, **kwargs)


async def add_photos(field: Field, visit_id: str, photos: dict[str, bytes]) -> None:
    for kind, data in photos.items():
        response = await rep_put(
            field,
            f"/api/v1/visits/{visit_id}/photos/{kind}",
            files={"file": (f"{kind}.jpg", data, "image/jpeg")},
        )
        assert response.status_code == 201, response.text


def next_action(checked_in_at: str, after: timedelta = timedelta(days=2)) -> dict[str, Any]:
    due = datetime.fromisoformat(checked_in_at) + after
    return {
        "id": str(uuid.uuid4()),
        "type": "send_sample",
        "due_at": iso(due),
        "note": "送样品两盒",
    }


async def complete(field: Field, visit: dict[str, Any], photos: dict[str, bytes]) -> None:
    """Everything submit needs: the photos, valid answers, a next action."""
    await add_photos(field, visit["id"], photos)
    answers = fill_form(visit["form"]["fields"])
    response = await rep_put(
        field, f"/api/v1/visits/{visit['id']}/answers", json={"answers": answers}
    )
    assert response.status_code == 200, response.text
    response = await rep_put(
        field, f"/api/v1/visits/{visit['id']}/next-action", json=next_action(visit["checked_in_at"])
    )
    assert response.status_code == 201, response.text


async def submit(field: Field, visit_id: str) -> httpx.Response:
    return await field.client.post(
        f"/api/v1/visits/{visit_id}/submit", headers=field.org.rep.headers
    )
