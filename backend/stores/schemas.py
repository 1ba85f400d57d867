import uuid
from typing import Annotated

from pydantic import Field, StringConstraints

from backend.kit.schemas import (
    CleanStr,
    Latitude,
    Longitude,
    Name,
    ResponseSchema,
    Schema,
    UtcDatetime,
)

StoreCode = Annotated[
    CleanStr,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    Field(description="The store's own code, unique within the organization"),
]
Address = Annotated[CleanStr, StringConstraints(strip_whitespace=True, max_length=500)]
CustomerTypeKey = Annotated[
    CleanStr, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=40)
]
GeofenceRadius = Annotated[int, Field(ge=20, le=2000, description="Metres (20-2000)")]

MAX_POSTER_BATCH = 500


class StoreCreate(Schema):
    code: StoreCode
    name: Name
    address: Address = ""
    lat: Latitude
    lng: Longitude
    geofence_radius_m: GeofenceRadius | None = Field(
        default=None, description="Metres (20-2000); the configured default (150) when omitted"
    )
    customer_type: CustomerTypeKey
    team_id: uuid.UUID | None = None


class StoreUpdate(Schema):
    """PATCH: only the fields sent change. ``team_id: null`` unassigns the team; a null for any
    other field is ignored."""

    code: StoreCode | None = None
    name: Name | None = None
    address: Address | None = None
    lat: Latitude | None = None
    lng: Longitude | None = None
    geofence_radius_m: GeofenceRadius | None = None
    customer_type: CustomerTypeKey | None = None
    team_id: uuid.UUID | None = None


class StoreRead(ResponseSchema):
    """A store. Its door code (``qr_url``) is in an admin's answers from the stores endpoints
    only: whoever can read the code could check in without standing at the door."""

    id: uuid.UUID
    org_id: uuid.UUID
    code: str
    name: str
    address: str
    lat: float
    lng: float
    geofence_radius_m: int
    customer_type: str
    team_id: uuid.UUID | None
    qr_url: str | None = Field(
        default=None,
        description="The store's door code, `{PUBLIC_BASE_URL}/q/{token}`: what its QR code and "
        "poster encode. Admins only: null for every other role, and in every answer other than "
        "the stores endpoints' (the timeline's, say), so the code proves the phone was at the door",
    )
    created_at: UtcDatetime
    updated_at: UtcDatetime
    distance_m: float | None = Field(
        default=None, description="Great-circle metres from `near`; only when listed with `near`"
    )


class ImportRowError(ResponseSchema):
    row: int = Field(
        description="The spreadsheet row number: the header is row 1, the first data row is 2"
    )
    field: str
    message: str


class ImportResult(ResponseSchema):
    created: int
    updated: int
    unchanged: int
    errors: list[ImportRowError]


class PosterBatch(Schema):
    store_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=MAX_POSTER_BATCH)]
