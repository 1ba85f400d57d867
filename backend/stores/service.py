"""Stores: the places reps visit. Creation, listing (optionally nearest first), QR codes, posters
and CSV import. Only ``flush()`` here; the request (or job) boundary commits."""

import asyncio
import math
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.config import Settings
from backend.events import service as events
from backend.forms import service as forms_service
from backend.kit import fonts
from backend.kit.geo import EARTH_RADIUS_M
from backend.kit.pagination import PageParams, decode_cursor, encode_cursor, invalid_cursor
from backend.models import Event, Organization, Store
from backend.orgs import service as org_service
from backend.stores import csv_import, posters, qr
from backend.stores.exceptions import (
    InvalidNear,
    InvalidQr,
    StoreCodeTaken,
    StoreNotFound,
    StoresNotFound,
    UnknownCustomerType,
    UnknownTeam,
)
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
        org_id=org_id,
        type="store.created",
        subject_type="store",
        subject_id=store.id,
        actor_id=actor_id,
        payload={"code": store.code},
    )
    return store


async def get_store(session: AsyncSession, org_id: uuid.UUID, store_id: uuid.UUID) -> Store:
    store = await session.scalar(select(Store).where(Store.org_id == org_id, Store.id == store_id))
    if store is None:
        raise StoreNotFound()
    return store


async def find_store(session: AsyncSession, org_id: uuid.UUID, store_id: uuid.UUID) -> Store | None:
    return await session.scalar(select(Store).where(Store.org_id == org_id, Store.id == store_id))


async def stores_by_id(
    session: AsyncSession, org_id: uuid.UUID, store_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Store]:
    """The org's stores among ``store_ids`` (unknown or foreign ids are simply absent)."""
    if not store_ids:
        return {}
    found = await session.scalars(
        select(Store).where(Store.org_id == org_id, Store.id.in_(list(store_ids)))
    )
    return {store.id: store for store in found}


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
        org_id=store.org_id,
        type="store.updated",
        subject_type="store",
        subject_id=store.id,
        actor_id=principal.user_id,
        payload={"fields": sorted(changes)},
    )
    return store


def shows_door_code(principal: Principal) -> bool:
    """Whether the caller may read stores' door codes (``qr_url``): admins only.

    The code is the proof that a phone stood at the door. Whoever reads it from the API (a rep at
    home, a supervisor before an audit tour) could check in without scanning anything, so every
    other role, and every answer other than the stores endpoints' own, goes without it.
    """
    return principal.is_admin


async def to_read(
    session: AsyncSession,
    settings: Settings,
    store: Store,
    distance_m: float | None = None,
    *,
    door_code: bool = False,
) -> StoreRead:
    """The API view of a store; with ``door_code`` (admins only) its signed ``qr_url``."""
    org = await org_service.get_org(session, store.org_id) if door_code else None
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
    taken = await session.scalar(select(Store.id).where(Store.org_id == org_id, Store.code == code))
    if taken is not None:
        raise StoreCodeTaken(code)


# --- listing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreFilters:
    q: str | None = None
    customer_type: str | None = None
    team_id: uuid.UUID | None = None
    near: tuple[float, float] | None = None


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
    org = await org_service.get_org(session, org_id) if door_code else None
    stmt = _filtered(org_id, filters)
    if filters.near is None:
        stores = await _list_by_code(session, stmt, page)
        items = [_read(settings, org, s, None) for s in stores[: page.limit]]
        more = len(stores) > page.limit
        last = stores[page.limit - 1] if more else None
        return items, encode_cursor([last.code, str(last.id)]) if last else None
    rows = await _list_near(session, stmt, filters.near, page)
    items = [_read(settings, org, s, d) for s, d in rows[: page.limit]]
    if len(rows) > page.limit:
        last_store, last_distance = rows[page.limit - 1]
        return items, encode_cursor([last_distance, str(last_store.id)])
    return items, None


def _filtered(org_id: uuid.UUID, filters: StoreFilters) -> Select[Store]:
    stmt = select(Store).where(Store.org_id == org_id)
    if filters.q:
        pattern = "%" + _escape_like(filters.q) + "%"
        stmt = stmt.where(
            or_(
                Store.code.ilike(pattern, escape="\\"),
                Store.name.ilike(pattern, escape="\\"),
                Store.address.ilike(pattern, escape="\\"),
            )
        )
    if filters.customer_type is not None:
        stmt = stmt.where(Store.customer_type == filters.customer_type)
    if filters.team_id is not None:
        stmt = stmt.where(Store.team_id == filters.team_id)
    return stmt


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _cursor_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise invalid_cursor() from exc


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")  # JSON can carry lone surrogates that PostgreSQL cannot take
    except UnicodeEncodeError:
        return False
    return True


async def _list_by_code(
    session: AsyncSession, stmt: Select[Store], page: PageParams
) -> Sequence[Store]:
    if page.cursor:
        code, id_text = decode_cursor(page.cursor, (str, str))
        if not _encodable(code):
            raise invalid_cursor()
        stmt = stmt.where(
            tuple_(Store.code, Store.id) > tuple_(literal(code), _cursor_uuid(id_text))
        )
    stmt = stmt.order_by(Store.code, Store.id).limit(page.limit + 1)
    return (await session.scalars(stmt)).all()


def distance_sql(lat: float, lng: float) -> ColumnElement[float]:
    """Haversine metres from (lat, lng) to the store, as SQL (mirrors ``kit.geo.haversine_m``)."""
    dlat = func.radians(Store.lat - lat) / 2
    dlng = func.radians(Store.lng - lng) / 2
    a = func.power(func.sin(dlat), 2) + math.cos(math.radians(lat)) * func.cos(
        func.radians(Store.lat)
    ) * func.power(func.sin(dlng), 2)
    expr: ColumnElement[float] = (
        2 * EARTH_RADIUS_M * func.asin(func.least(literal(1.0), func.sqrt(a)))
    )
    return expr


_FIRST_RADIUS_M = 1_000.0
_MIN_WIDEN = 1.5
_MAX_WIDEN = 16.0


def _bounding_box(lat: float, lng: float, radius_m: float) -> ColumnElement[bool] | None:
    """A lat/lng box containing every point within ``radius_m`` (None: the box is the world).

    The box lets the (org_id, lat, lng) index do the work; the exact distance orders the rows.
    """
    angular = radius_m * 1.001 / EARTH_RADIUS_M + 1e-9  # a hair wider against rounding
    if angular >= math.pi / 2:
        return None
    dlat = math.degrees(angular)
    lat_cond = Store.lat.between(lat - dlat, lat + dlat)
    if lat - dlat <= -90 or lat + dlat >= 90:
        return lat_cond  # the circle contains a pole: every longitude
    dlng = math.degrees(math.asin(min(1.0, math.sin(angular) / math.cos(math.radians(lat)))))
    if lng - dlng < -180 or lng + dlng > 180:
        return lat_cond  # crosses the antimeridian: keep it simple and correct
    return and_(lat_cond, Store.lng.between(lng - dlng, lng + dlng))


async def _list_near(
    session: AsyncSession,
    stmt: Select[Store],
    near: tuple[float, float],
    page: PageParams,
) -> list[tuple[Store, float]]:
    lat, lng = near
    distance = distance_sql(lat, lng).label("distance_m")
    query = stmt.add_columns(distance)
    radius = _FIRST_RADIUS_M
    if page.cursor:
        raw_distance, id_text = decode_cursor(page.cursor, (float, str))
        try:
            after_distance = float(raw_distance)
        except OverflowError as exc:  # a huge JSON integer
            raise invalid_cursor() from exc
        if not math.isfinite(after_distance) or after_distance < 0:
            raise invalid_cursor()
        after = tuple_(distance, Store.id) > tuple_(literal(after_distance), _cursor_uuid(id_text))
        query = query.where(after)
        radius = max(radius, after_distance * 1.5)
    query = query.order_by(distance, Store.id).limit(page.limit + 1)
    while True:
        # Widen the box until it holds a full page whose farthest row is inside the circle the
        # box encloses: then no store outside the box can be nearer than the page's last row.
        box = _bounding_box(lat, lng, radius)
        rows = [(s, float(d)) for s, d in (await session.execute(_with(query, box))).all()]
        if box is None or (len(rows) > page.limit and rows[-1][1] <= radius):
            return rows
        radius = _next_radius(radius, len(rows), page.limit + 1, rows[-1][1] if rows else None)


def _next_radius(radius: float, found: int, wanted: int, farthest: float | None) -> float:
    if found >= wanted and farthest is not None:
        # A full page, but its last row lies in a corner of the box: the circle through that
        # row holds at least a page, so its box is certainly enough.
        return max(farthest, radius * 1.01)
    # Too few rows: guess the radius from the density seen so far (area grows with r^2).
    factor = 1.25 * math.sqrt(wanted / max(found, 1))
    return radius * min(_MAX_WIDEN, max(_MIN_WIDEN, factor))


def _with(query: Select[Store, float], box: ColumnElement[bool] | None) -> Select[Store, float]:
    return query if box is None else query.where(box)


# --- QR codes ---------------------------------------------------------------------------------


async def verify_qr(
    session: AsyncSession, settings: Settings, org_id: uuid.UUID, qr_text: str
) -> Store:
    """The store a scanned code belongs to, for a caller of ``org_id``.

    ``qr_text`` is the bare token or the whole scanned URL (any host). Forged, truncated,
    garbage, rotated, moved (other store) and other-org codes all raise ``InvalidQr``
    (422 ``invalid_qr``); no input raises anything else.
    """
    token = scanned_token(qr_text)
    if token is None:
        raise InvalidQr()
    # One round trip for the store and its organization's keys.
    row = (
        await session.execute(
            select(Store, Organization)
            .join(Organization, Organization.id == Store.org_id)
            .where(Store.org_id == org_id, Store.id == token.store_id)
        )
    ).first()
    return verified_store(settings, token, *(row or (None, None)))


def scanned_token(qr_text: str) -> qr.QrToken | None:
    """The well-formed token in a scanned code (its MAC is not checked yet), else None."""
    token_text = qr.extract_token(qr_text)
    return qr.parse_token(token_text) if token_text else None


def verified_store(
    settings: Settings, token: qr.QrToken | None, store: Store | None, org: Organization | None
) -> Store:
    """``store`` if ``token`` is its current, genuine code; else ``InvalidQr`` saying why.

    ``store`` and ``org`` are the token's store and its organization as found within the
    caller's org (None when there is no such store there).
    """
    if token is None or store is None or org is None:
        raise InvalidQr()
    if token.key_version != org.signing_key_version % 65536:
        raise InvalidQr("This code has been retired; print the store's current poster.")
    if not qr.mac_is_valid(settings.secret, org.id, org.signing_secret, token):
        raise InvalidQr()
    if not qr.is_current(token, org, store):
        raise InvalidQr("This code has been replaced; print the store's current poster.")
    return store


async def rotate_qr(session: AsyncSession, principal: Principal, store_id: uuid.UUID) -> Store:
    """Issue the store a new code; every earlier code of the store stops verifying."""
    store = await get_store(session, principal.org_id, store_id)
    store.qr_version = store.qr_version + 1
    await session.flush()
    await events.record(
        session,
        org_id=store.org_id,
        type="store.qr_rotated",
        subject_type="store",
        subject_id=store.id,
        actor_id=principal.user_id,
        payload={"qr_version": store.qr_version},
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
    return qr.qr_url_for(settings, await org_service.get_org(session, org_id), store)


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
    found = {
        s.id: s
        for s in await session.scalars(
            select(Store).where(Store.org_id == org_id, Store.id.in_(unique))
        )
    }
    missing = [i for i, sid in enumerate(store_ids) if sid not in found]
    if missing:
        raise StoresNotFound(missing)
    org = await org_service.get_org(session, org_id)
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

    existing: dict[str, Store] = {}
    codes = list(valid)
    for start in range(0, len(codes), 5000):
        chunk = codes[start : start + 5000]
        for store in await session.scalars(
            select(Store).where(Store.org_id == org_id, Store.code.in_(chunk))
        ):
            existing[store.code] = store

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

    created_ids: list[tuple[uuid.UUID, str]] = []
    for start in range(0, len(new_rows), 1000):
        batch = new_rows[start : start + 1000]
        stmt = (
            pg_insert(Store)
            .values(batch)
            .on_conflict_do_nothing(index_elements=[Store.org_id, Store.code])
            .returning(Store.id, Store.code)
        )
        created_ids.extend((i, c) for i, c in (await session.execute(stmt)).all())
    raced = {r["code"] for r in new_rows} - {c for _, c in created_ids}
    for code in sorted(raced, key=lambda c: valid[c][0]):
        errors.append(
            ImportRowError(
                row=valid[code][0], field="code", message="created concurrently; import again"
            )
        )

    event_rows = [
        _event_row(org_id, "store.created", sid, principal.user_id, {"code": code, "via": "csv"})
        for sid, code in created_ids
    ] + [
        _event_row(
            org_id, "store.updated", s.id, principal.user_id, {"fields": sorted(f), "via": "csv"}
        )
        for s, f in updated
    ]
    # One bulk insert into the events outbox (events.record flushes per row: too slow for 20k).
    for start in range(0, len(event_rows), 2000):
        await session.execute(pg_insert(Event).values(event_rows[start : start + 2000]))
    errors.sort(key=lambda e: (e.row, e.field))
    return ImportResult(
        created=len(created_ids), updated=len(updated), unchanged=unchanged, errors=errors
    )


def _event_row(
    org_id: uuid.UUID,
    type: str,
    subject_id: uuid.UUID,
    actor_id: uuid.UUID,
    payload: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "org_id": org_id,
        "type": type,
        "subject_type": "store",
        "subject_id": subject_id,
        "actor_id": actor_id,
        "payload": payload,
    }
