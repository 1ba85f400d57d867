import random
import uuid

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.db import session_scope
from backend.kit.geo import haversine_m
from backend.kit.pagination import PageParams
from backend.stores import service as store_service
from backend.stores.schemas import StoreCreate
from tests.factories.world import Org, World

SHANGHAI = (31.2304, 121.4737)


async def _seed(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    org: Org,
    points: list[tuple[float, float]],
    customer_type: str = "pharmacy",
) -> None:
    async with session_scope(sessionmaker) as session:
        for lat, lng in points:
            await store_service.create_store(
                session,
                settings,
                org.id,
                StoreCreate(
                    code=f"N-{uuid.uuid4().hex[:10]}",
                    name="店",
                    lat=lat,
                    lng=lng,
                    customer_type=customer_type,
                ),
                None,
            )


async def _walk(
    client: httpx.AsyncClient, org: Org, limit: int, **params: str
) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor: str | None = None
    while True:
        query = {"limit": str(limit), **params, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/api/v1/stores", params=query, headers=org.rep.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= limit
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


@pytest.mark.parametrize("limit", [1, 7, 50])
async def test_near_orders_by_distance_across_pages(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    limit: int,
) -> None:
    org = await world.org()
    rng = random.Random(limit)
    points = [
        (SHANGHAI[0] + rng.uniform(-0.3, 0.3), SHANGHAI[1] + rng.uniform(-0.3, 0.3))
        for _ in range(60)
    ]
    # Far away ones (other cities, other hemisphere) and exact ties at the same spot.
    points += [(39.9042, 116.4074), (-33.8688, 151.2093), (51.5, -0.12)]
    points += [(31.25, 121.5)] * 3
    await _seed(sessionmaker, settings, org, points)

    here = (31.24, 121.49)
    items = await _walk(client, org, limit, near=f"{here[0]},{here[1]}")
    assert len(items) == len(points)
    assert len({i["id"] for i in items}) == len(points)  # no duplicates, no gaps
    distances = [float(i["distance_m"]) for i in items]  # type: ignore[arg-type]
    assert distances == sorted(distances)
    for item in items:
        expected = haversine_m(here[0], here[1], item["lat"], item["lng"])  # type: ignore[arg-type]
        assert abs(float(item["distance_m"]) - expected) < 0.5  # type: ignore[arg-type]
    assert items[-1]["lat"] == 51.5  # London is farther from Shanghai than Sydney


async def test_near_with_filters_and_without_near_has_no_distance(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    org, other = await world.org(), await world.org()
    await _seed(sessionmaker, settings, org, [(31.0, 121.0), (31.1, 121.1)], "pharmacy")
    await _seed(sessionmaker, settings, org, [(31.05, 121.05)], "clinic")
    await _seed(sessionmaker, settings, other, [(31.0, 121.0)])
    items = await _walk(client, org, 50, near="31.0,121.0", customer_type="pharmacy")
    assert [(i["lat"], i["lng"]) for i in items] == [(31.0, 121.0), (31.1, 121.1)]
    assert items[0]["distance_m"] == 0
    plain = await _walk(client, org, 50)
    assert len(plain) == 3
    assert all(i["distance_m"] is None for i in plain)


async def test_near_at_the_poles_and_antimeridian(
    client: httpx.AsyncClient,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    org = await world.org()
    await _seed(sessionmaker, settings, org, [(89.99, 10.0), (0.0, 179.99), (0.0, -179.99)])
    items = await _walk(client, org, 2, near="0,180")
    assert {(i["lat"], i["lng"]) for i in items[:2]} == {(0.0, 179.99), (0.0, -179.99)}
    items = await _walk(client, org, 1, near="90,-170")
    assert items[0]["lat"] == 89.99


async def test_service_list_directly(
    world: World, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    org = await world.org()
    await _seed(sessionmaker, settings, org, [(10.0, 10.0), (10.0, 10.5), (10.0, 11.0)])
    async with session_scope(sessionmaker) as session:
        items, cursor = await store_service.list_stores(
            session,
            settings,
            org.id,
            store_service.StoreFilters(near=(10.0, 11.0)),
            PageParams(limit=2, cursor=None),
        )
    assert [i.lng for i in items] == [11.0, 10.5]
    assert cursor is not None
