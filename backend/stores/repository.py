"""SQL of the stores domain, every statement scoped by the organization.

Store lists do not page by (timestamp, id): by code they keep a (code, id) cursor, nearest first
a (distance, id) one, so they keep their own keysets rather than ``kit.pagination.Keyset``.
"""

import math
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kit.geo import EARTH_RADIUS_M
from backend.kit.pagination import PageParams, decode_cursor, encode_cursor, invalid_cursor
from backend.models import Organization, Store


async def by_id(session: AsyncSession, org_id: uuid.UUID, store_id: uuid.UUID) -> Store | None:
    return await session.scalar(select(Store).where(Store.org_id == org_id, Store.id == store_id))


async def by_ids(
    session: AsyncSession, org_id: uuid.UUID, store_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Store]:
    """The org's stores among ``store_ids`` (unknown or foreign ids are simply absent)."""
    if not store_ids:
        return {}
    found = await session.scalars(
        select(Store).where(Store.org_id == org_id, Store.id.in_(list(store_ids)))
    )
    return {store.id: store for store in found}


def ids_in_teams(org_id: uuid.UUID, team_ids: Select[uuid.UUID]) -> Select[uuid.UUID]:
    """The org's stores of the teams ``team_ids`` selects, as a subquery."""
    return select(Store.id).where(Store.org_id == org_id, Store.team_id.in_(team_ids))


async def organization(session: AsyncSession, org_id: uuid.UUID) -> Organization | None:
    """The store's organization, for its door-code keys."""
    return await session.get(Organization, org_id)


async def with_org(
    session: AsyncSession, org_id: uuid.UUID, store_id: uuid.UUID
) -> tuple[Store | None, Organization | None]:
    """The store and its organization (for its signing keys) in one round trip; (None, None)
    when the org has no such store."""
    row = (
        await session.execute(
            select(Store, Organization)
            .join(Organization, Organization.id == Store.org_id)
            .where(Store.org_id == org_id, Store.id == store_id)
        )
    ).first()
    return (row[0], row[1]) if row is not None else (None, None)


async def code_taken(session: AsyncSession, org_id: uuid.UUID, code: str) -> bool:
    taken = await session.scalar(select(Store.id).where(Store.org_id == org_id, Store.code == code))
    return taken is not None


async def by_codes(
    session: AsyncSession, org_id: uuid.UUID, codes: Sequence[str]
) -> dict[str, Store]:
    """The org's stores with these codes, keyed by code (in chunks: a file may hold 20,000)."""
    found: dict[str, Store] = {}
    for start in range(0, len(codes), 5000):
        chunk = codes[start : start + 5000]
        for store in await session.scalars(
            select(Store).where(Store.org_id == org_id, Store.code.in_(chunk))
        ):
            found[store.code] = store
    return found


async def insert_new(
    session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> list[tuple[uuid.UUID, str]]:
    """Insert stores in batches; the (id, code) of each one written. A row whose code another
    transaction took meanwhile is skipped (it is absent from the answer)."""
    created: list[tuple[uuid.UUID, str]] = []
    for start in range(0, len(rows), 1000):
        stmt = (
            insert(Store)
            .values(list(rows[start : start + 1000]))
            .on_conflict_do_nothing(index_elements=[Store.org_id, Store.code])
            .returning(Store.id, Store.code)
        )
        created.extend((i, c) for i, c in (await session.execute(stmt)).all())
    return created


# --- listing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreFilters:
    q: str | None = None
    customer_type: str | None = None
    team_id: uuid.UUID | None = None
    near: tuple[float, float] | None = None


async def page_by_code(
    session: AsyncSession, org_id: uuid.UUID, filters: StoreFilters, page: PageParams
) -> tuple[list[Store], str | None]:
    """A page of the org's stores passing ``filters``, by code (cursor: (code, id))."""
    stores = await _list_by_code(session, _filtered(org_id, filters), page)
    if len(stores) <= page.limit:
        return list(stores), None
    last = stores[page.limit - 1]
    return list(stores[: page.limit]), encode_cursor([last.code, str(last.id)])


async def page_nearest(
    session: AsyncSession,
    org_id: uuid.UUID,
    filters: StoreFilters,
    near: tuple[float, float],
    page: PageParams,
) -> tuple[list[tuple[Store, float]], str | None]:
    """A page of (store, metres from ``near``), nearest first (cursor: (distance, id))."""
    rows = await _list_near(session, _filtered(org_id, filters), near, page)
    if len(rows) <= page.limit:
        return rows, None
    last_store, last_distance = rows[page.limit - 1]
    return rows[: page.limit], encode_cursor([last_distance, str(last_store.id)])


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
