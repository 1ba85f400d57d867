"""Stores: the places reps visit. Creation, listing (optionally nearest first), QR codes, posters
and CSV import. Only ``flush()`` here; the request (or job) boundary commits."""

import asyncio
import math
import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.config import Settings
from backend.events import service as events
from backend.events.catalog import EventPayload, StoreCreated, StoreQrRotated, StoreUpdated
from backend.forms import service as forms_service
from backend.kit import fonts
from backend.kit.pagination import PageParams
from backend.models import Organization, Store
from backend.presence import rules as door
from backend.stores import csv_import, posters, qr, repository
from backend.stores.exceptions import (
    InvalidNear,
    InvalidQr,
    StoreCodeTaken,
    StoreNotFound,
    StoresNotFound,
    UnknownCustomerType,
    UnknownTeam,
)
from backend.stores.repository import StoreFilters as StoreFilters  # re-exported
from backend.stores.schemas import (
    ImportResult,
    ImportRowError,
    StoreCreate,
    StoreRead,
    StoreUpdate,
)
from backend.teams import service as team_service

qr_url_for = qr.qr_url_for  # re-exported: ``store_service.qr_url_for(settings, org, store)``

_EDITABLE = (
    "code",
    "name",
    "address",
    "lat",
    "lng",
    "geofence_radius_m",
    "customer_type",
    "team_id",
)


# --- create / read / update -------------------------------------------------------------------


async def create_store(
    session: AsyncSession,
    settings: Settings,
    org_id: uuid.UUID,
    data: StoreCreate,
    actor_id: uuid.UUID | None,
) -> Store:
    """Create a store. 422 for an unknown customer type or team, 409 for a duplicate code."""
    await _require_customer_type(session, org_id, data.customer_type)
    if data.team_id is not None:
        await _require_team(session, org_id, data.team_id)
    await _require_free_code(session, org_id, data.code)
    store = Store(
        id=uuid.uuid4(),
        org_id=org_id,
        code=data.code,
        name=data.name,
        address=data.address,
        lat=data.lat,
        lng=data.lng,
        geofence_radius_m=data.geofence_radius_m or settings.geofence_default_radius_m,
        customer_type=data.customer_type,
        team_id=data.team_id,
        qr_version=1,
    )
    try:
        async with session.begin_nested():
            session.add(store)
            await session.flush()
    except IntegrityError as exc:  # a concurrent create took the code between check and insert
        raise StoreCodeTaken(data.code) from exc
    await events.record(
        session,
        StoreCreated(code=store.code),
        org_id=org_id,
        subject_id=store.id,
        actor_id=actor_id,
    )
    return store


async def get_store(session: AsyncSession, org_id: uuid.UUID, store_id: uuid.UUID) -> Store:
    store = await repository.by_id(session, org_id, store_id)
    if store is None:
        raise StoreNotFound()
    return store


async def find_store(session: AsyncSession, org_id: uuid.UUID, store_id: uuid.UUID) -> Store | None:
    return await repository.by_id(session, org_id, store_id)


async def stores_by_id(
    session: AsyncSession, org_id: uuid.UUID, store_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Store]:
    """The org's stores among ``store_ids`` (unknown or foreign ids are simply absent)."""
    return await repository.by_ids(session, org_id, store_ids)


async def _organization(session: AsyncSession, org_id: uuid.UUID) -> Organization:
    org = await repository.organization(session, org_id)
    assert org is not None  # the caller's (or the store's) organization: a foreign key keeps it
    return org


async def store_at_door(
    session: AsyncSession, org_id: uuid.UUID, store_id: uuid.UUID
) -> tuple[Store | None, Organization | None]:
    """The store a door code names, within ``org_id``, and its organization's keys (one round
    trip; (None, None) when the org has no such store): what the door check reads."""
    return await repository.with_org(session, org_id, store_id)


def store_ids_in_teams(org_id: uuid.UUID, team_ids: Select[uuid.UUID]) -> Select[uuid.UUID]:
    """The org's stores of the teams ``team_ids`` selects, as a subquery for other domains'
    filters (e.g. the stores of the teams a supervisor leads)."""
    return repository.ids_in_teams(org_id, team_ids)


async def update_store(
    session: AsyncSession, principal: Principal, store_id: uuid.UUID, data: StoreUpdate
) -> Store:
    store = await get_store(session, principal.org_id, store_id)
    sent = data.model_fields_set
    changes: dict[str, Any] = {
        field: getattr(data, field)
        for field in _EDITABLE
        if field in sent and (getattr(data, field) is not None or field == "team_id")
    }
    changes = {k: v for k, v in changes.items() if getattr(store, k) != v}
    if "customer_type" in changes:
        await _require_customer_type(session, store.org_id, changes["customer_type"])
    if changes.get("team_id") is not None:
        await _require_team(session, store.org_id, changes["team_id"])
    if "code" in changes:
        await _require_free_code(session, store.org_id, changes["code"])
    if not changes:
        return store
    for field, value in changes.items():
        setattr(store, field, value)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise StoreCodeTaken(str(changes.get("code", store.code))) from exc
    await events.record(
        session,
        StoreUpdated(fields=sorted(changes)),
        org_id=store.org_id,
        subject_id=store.id,
        actor_id=principal.user_id,
    )
    return store


def shows_door_code(principal: Principal) -> bool:
    """Whether the caller may read stores' door codes (``qr_url``): admins only.

    The code is the proof that a phone stood at the door. Whoever reads it from the API (a rep at
    home, a supervisor before an audit tour) could check in without scanning anything, so every
    other role, and every answer other than the stores endpoints' own, goes without it. So does
    an API key, though it reads stores org-wide as an admin does: no app needs to stand at a door.
    """
    return principal.is_admin and not principal.is_api_key


async def to_read(
    session: AsyncSession,
    settings: Settings,
    store: Store,
    distance_m: float | None = None,
    *,
    door_code: bool = False,
) -> StoreRead:
    """The API view of a store; with ``door_code`` (admins only) its signed ``qr_url``."""
    org = await _organization(session, store.org_id) if door_code else None
    return _read(settings, org, store, distance_m)


def _read(
    settings: Settings, org: Organization | None, store: Store, distance_m: float | None
) -> StoreRead:
    """``org`` given: with the door code; ``None``: without."""
    return StoreRead(
        id=store.id,
        org_id=store.org_id,
        code=store.code,
        name=store.name,
        address=store.address,
        lat=store.lat,
        lng=store.lng,
        geofence_radius_m=store.geofence_radius_m,
        customer_type=store.customer_type,
        team_id=store.team_id,
        qr_url=None if org is None else qr.qr_url_for(settings, org, store),
        created_at=store.created_at,
        updated_at=store.updated_at,
        distance_m=None if distance_m is None else round(distance_m, 1),
    )


async def _require_customer_type(
    session: AsyncSession, org_id: uuid.UUID, key: str, pointer: str = "/customer_type"
) -> None:
    if await forms_service.find_customer_type(session, org_id, key) is None:
        raise UnknownCustomerType(key, pointer)


async def _require_team(session: AsyncSession, org_id: uuid.UUID, team_id: uuid.UUID) -> None:
    if not await team_service.team_exists(session, org_id, team_id):
        raise UnknownTeam()


async def _require_free_code(session: AsyncSession, org_id: uuid.UUID, code: str) -> None:
    if await repository.code_taken(session, org_id, code):
        raise StoreCodeTaken(code)


# --- listing ----------------------------------------------------------------------------------


def parse_near(value: str | None) -> tuple[float, float] | None:
    """``"lat,lng"`` in decimal degrees -> (lat, lng); anything else is a 422 (``/query/near``)."""
    if value is None:
        return None
    parts = value.split(",")
    if len(parts) != 2:
        raise InvalidNear()
    try:
        lat, lng = float(parts[0].strip()), float(parts[1].strip())
    except ValueError as exc:
        raise InvalidNear() from exc
    if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
        raise InvalidNear()
    return lat, lng


async def list_stores(
    session: AsyncSession,
    settings: Settings,
    org_id: uuid.UUID,
    filters: StoreFilters,
    page: PageParams,
    *,
    door_code: bool = False,
) -> tuple[list[StoreRead], str | None]:
    """Stores of the org, by code; with ``near``, nearest first (cursor = (distance, id)).

    ``door_code`` (admins only, see ``shows_door_code``) adds each store's ``qr_url``.
    """
    org = await _organization(session, org_id) if door_code else None
    if filters.near is None:
        stores, cursor = await repository.page_by_code(session, org_id, filters, page)
        return [_read(settings, org, s, None) for s in stores], cursor
    rows, cursor = await repository.page_nearest(session, org_id, filters, filters.near, page)
    return [_read(settings, org, s, d) for s, d in rows], cursor


# --- QR codes ---------------------------------------------------------------------------------


async def verify_qr(
    session: AsyncSession, settings: Settings, org_id: uuid.UUID, qr_text: str
) -> Store:
    """The store a scanned code belongs to, for a caller of ``org_id``.

    ``qr_text`` is the bare token or the whole scanned URL (any host). Forged, truncated,
    garbage, rotated, moved (other store) and other-org codes all raise ``InvalidQr``
    (422 ``invalid_qr``); no input raises anything else.
    """
    token = door.scanned_token(qr_text)
    if token is None:
        raise InvalidQr()
    # One round trip for the store and its organization's keys.
    store, org = await repository.with_org(session, org_id, token.store_id)
    # The door check's own rule (backend.presence.rules), as a check-in applies it.
    return door.verified_store(settings.secret, token, store, org)


async def rotate_qr(session: AsyncSession, principal: Principal, store_id: uuid.UUID) -> Store:
    """Issue the store a new code; every earlier code of the store stops verifying."""
    store = await get_store(session, principal.org_id, store_id)
    store.qr_version = store.qr_version + 1
    await session.flush()
    await events.record(
        session,
        StoreQrRotated(qr_version=store.qr_version),
        org_id=store.org_id,
        subject_id=store.id,
        actor_id=principal.user_id,
    )
    return store


async def qr_png(
    session: AsyncSession, settings: Settings, org_id: uuid.UUID, store_id: uuid.UUID
) -> bytes:
    url = await _qr_url(session, settings, org_id, store_id)
    return await asyncio.to_thread(posters.qr_png, url)


async def qr_svg(
    session: AsyncSession, settings: Settings, org_id: uuid.UUID, store_id: uuid.UUID
) -> bytes:
    url = await _qr_url(session, settings, org_id, store_id)
    return await asyncio.to_thread(posters.qr_svg, url)


async def _qr_url(
    session: AsyncSession, settings: Settings, org_id: uuid.UUID, store_id: uuid.UUID
) -> str:
    store = await get_store(session, org_id, store_id)
    return qr.qr_url_for(settings, await _organization(session, org_id), store)


async def poster_pdf(
    session: AsyncSession, settings: Settings, org_id: uuid.UUID, store_id: uuid.UUID
) -> bytes:
    await get_store(session, org_id, store_id)
    return await posters_pdf(session, settings, org_id, [store_id])


async def posters_pdf(
    session: AsyncSession,
    settings: Settings,
    org_id: uuid.UUID,
    store_ids: Sequence[uuid.UUID],
) -> bytes:
    """One A4 page per store, in the order given (repeated ids print once).

    Ids that are not stores of the org make the whole request a 404 listing each bad index.
    """
    font_path = fonts.cjk_font_path(settings)
    unique = list(dict.fromkeys(store_ids))
    found = await repository.by_ids(session, org_id, unique)
    missing = [i for i, sid in enumerate(store_ids) if sid not in found]
    if missing:
        raise StoresNotFound(missing)
    org = await _organization(session, org_id)
    pages = [
        posters.PosterData(
            name=found[sid].name,
            address=found[sid].address,
            code=found[sid].code,
            url=qr.qr_url_for(settings, org, found[sid]),
        )
        for sid in unique
    ]
    return await asyncio.to_thread(posters.render_posters, font_path, pages)


# --- CSV import -------------------------------------------------------------------------------


async def import_stores(
    session: AsyncSession, settings: Settings, principal: Principal, content: bytes
) -> ImportResult:
    """Create or update stores from a CSV file, matching on ``code``.

    Good rows are applied, bad rows reported as ``{row, field, message}`` where ``row`` is the
    spreadsheet row number (the header is row 1, the first data row is row 2). Re-importing the
    same file changes nothing. Blank optional cells (address, geofence_radius_m, team) leave an
    existing store's value alone; a new store gets the defaults.
    """
    org_id = principal.org_id
    parsed = csv_import.parse(content)
    type_keys = await forms_service.customer_type_keys(session, org_id)
    teams = await team_service.list_teams(session, principal)
    team_by_name = {t.name: t.id for t in teams}
    team_ids = {t.id for t in teams}

    errors: list[ImportRowError] = []
    valid: dict[str, tuple[int, dict[str, Any]]] = {}
    for row in parsed.rows:
        outcome = csv_import.validate_row(row, type_keys, team_by_name, team_ids)
        if isinstance(outcome, list):
            errors.extend(outcome)
            continue
        code = outcome["code"]
        if code in valid:
            first = valid[code][0]
            errors.append(
                ImportRowError(
                    row=row.number, field="code", message=f"duplicate of row {first} in this file"
                )
            )
            continue
        valid[code] = (row.number, outcome)

    existing = await repository.by_codes(session, org_id, list(valid))

    new_rows: list[dict[str, Any]] = []
    updated: list[tuple[Store, list[str]]] = []
    unchanged = 0
    for code, (_, values) in valid.items():
        current = existing.get(code)
        if current is None:
            new_rows.append(
                {
                    "id": uuid.uuid4(),
                    "org_id": org_id,
                    "qr_version": 1,
                    "address": "",
                    "team_id": None,
                    **values,
                    "geofence_radius_m": values.get("geofence_radius_m")
                    or settings.geofence_default_radius_m,
                }
            )
            continue
        changed = [k for k, v in values.items() if getattr(current, k) != v]
        if not changed:
            unchanged += 1
            continue
        for field in changed:
            setattr(current, field, values[field])
        updated.append((current, changed))
    await session.flush()

    created_ids = await repository.insert_new(session, new_rows)
    raced = {r["code"] for r in new_rows} - {c for _, c in created_ids}
    for code in sorted(raced, key=lambda c: valid[c][0]):
        errors.append(
            ImportRowError(
                row=valid[code][0], field="code", message="created concurrently; import again"
            )
        )

    store_events: list[tuple[EventPayload, uuid.UUID]] = [
        (StoreCreated(code=code, via="csv"), sid) for sid, code in created_ids
    ]
    store_events += [(StoreUpdated(fields=sorted(f), via="csv"), s.id) for s, f in updated]
    # In bulk statements (events.record flushes per row: too slow for 20k).
    await events.record_many(session, store_events, org_id=org_id, actor_id=principal.user_id)
    errors.sort(key=lambda e: (e.row, e.field))
    return ImportResult(
        created=len(created_ids), updated=len(updated), unchanged=unchanged, errors=errors
    )
