"""``GET /api/v1/events``: order, resumption, the ``types`` filter, refusals, and what the rows
carry (the transaction id every writer fills in, never the door code)."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db import session_scope
from backend.events import feed, repository
from backend.events import service as events_service
from backend.events.catalog import StoreUpdated
from backend.kit.pagination import encode_cursor as encode_key
from backend.models import Event
from tests.factories.feed import all_event_ids, feed_page, follow
from tests.factories.visits import Field
from tests.factories.world import World


async def test_follows_every_event_once_in_order_and_resumes(
    world: World, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    org = await world.org()
    field = Field(client, org)
    for _ in range(3):
        await field.store()

    items, cursor = await follow(client, org.admin.headers, limit=2)

    assert [uuid.UUID(i["id"]) for i in items] == await all_event_ids(sessionmaker, org.id)
    assert {"org.created", "user.created"} <= {i["type"] for i in items}
    assert [i["type"] for i in items].count("store.created") == 3
    store_event = next(i for i in items if i["type"] == "store.created")
    assert store_event["subject"]["type"] == "store"
    assert store_event["actor_id"] == str(org.admin.id)
    assert store_event["data"]["code"].startswith("S-")
    assert store_event["occurred_at"].endswith("Z")

    # Caught up: an empty page, and a cursor that never moves backwards.
    empty = await feed_page(client, org.admin.headers, cursor=cursor)
    assert empty["items"] == [] and empty["has_more"] is False
    assert feed.decode_cursor(empty["next_cursor"]) >= feed.decode_cursor(cursor)

    new_store = await field.store()
    more, _ = await follow(client, org.admin.headers, cursor=empty["next_cursor"])
    assert [(i["type"], i["subject"]["id"]) for i in more] == [("store.created", new_store["id"])]


async def test_a_full_page_says_has_more_and_points_at_its_last_event(
    world: World, client: httpx.AsyncClient
) -> None:
    org = await world.org()
    first = await feed_page(client, org.admin.headers, limit=1)
    second = await feed_page(client, org.admin.headers, limit=1, cursor=first["next_cursor"])

    assert first["has_more"] is True and len(first["items"]) == 1
    assert second["items"][0]["id"] != first["items"][0]["id"]


async def test_types_filter_moves_the_cursor_past_what_it_leaves_out(
    world: World, client: httpx.AsyncClient
) -> None:
    org = await world.org()
    field = Field(client, org)
    stores = [await field.store() for _ in range(2)]

    created, cursor = await follow(client, org.admin.headers, types="store.created", limit=1)
    assert [i["subject"]["id"] for i in created] == [s["id"] for s in stores]
    # The user.created and org.created events before them are not waiting behind the cursor.
    rest, _ = await follow(client, org.admin.headers, cursor=cursor)
    assert rest == []

    response = await client.patch(
        f"/api/v1/stores/{stores[0]['id']}", json={"name": "新名字"}, headers=org.admin.headers
    )
    assert response.status_code == 200, response.text
    third = await field.store()
    both, _ = await follow(
        client, org.admin.headers, cursor=cursor, types=" store.created , store.updated,"
    )
    assert [(i["type"], i["subject"]["id"]) for i in both] == [
        ("store.updated", stores[0]["id"]),
        ("store.created", third["id"]),
    ]
    assert both[0]["data"]["fields"] == ["name"]


def _cursor_ahead() -> str:
    return feed.encode_cursor(feed.Position(2**62, 0))


BAD_QUERIES: list[tuple[dict[str, Any], str]] = [
    ({"cursor": "not a cursor!"}, "/query/cursor"),
    ({"cursor": encode_key(["2026-01-01T00:00:00+00:00", str(uuid.uuid4())])}, "/query/cursor"),
    ({"cursor": encode_key([1, 2, 3])}, "/query/cursor"),
    ({"cursor": encode_key([-1, 0])}, "/query/cursor"),
    ({"cursor": encode_key([2**63, 0])}, "/query/cursor"),
    ({"cursor": encode_key([1, 2**70])}, "/query/cursor"),
    ({"cursor": encode_key([1.5, 0])}, "/query/cursor"),
    ({"cursor": encode_key([True, 0])}, "/query/cursor"),
    ({"cursor": "x" * 600}, "/query/cursor"),
    ({"cursor": "AA\x00"}, "/query/cursor"),
    ({"limit": 0}, "/query/limit"),
    ({"limit": 1001}, "/query/limit"),
    ({"limit": "many"}, "/query/limit"),
    ({"limit": 2**63}, "/query/limit"),
    ({"types": "visit.checked_in,visit.teleported"}, "/query/types"),
    ({"types": "\x00"}, "/query/types"),
    ({"types": "a," * 1500}, "/query/types"),
]


@pytest.mark.parametrize(("params", "pointer"), BAD_QUERIES)
async def test_bad_queries_are_422_with_a_pointer(
    world: World, client: httpx.AsyncClient, params: dict[str, Any], pointer: str
) -> None:
    org = await world.org()
    response = await client.get("/api/v1/events", params=params, headers=org.admin.headers)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "validation_error"
    assert [e["pointer"] for e in body["errors"]] == [pointer]


async def test_a_cursor_ahead_of_the_server_is_refused(
    world: World, client: httpx.AsyncClient
) -> None:
    """Only a restore from an older backup makes one; reading on would skip events silently."""
    org = await world.org()
    response = await client.get(
        "/api/v1/events", params={"cursor": _cursor_ahead()}, headers=org.admin.headers
    )
    assert response.status_code == 422
    assert "restored" in response.json()["detail"]


async def test_only_admins_read_the_feed_and_only_their_org(
    world: World, client: httpx.AsyncClient
) -> None:
    org, other = await world.org(), await world.org()
    for actor in (org.rep, org.supervisor):
        response = await client.get("/api/v1/events", headers=actor.headers)
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"
    assert (await client.get("/api/v1/events")).status_code == 401

    mine, _ = await follow(client, org.admin.headers)
    theirs, _ = await follow(client, other.admin.headers)
    assert mine and theirs
    assert not {i["id"] for i in mine} & {i["id"] for i in theirs}
    assert {i["data"].get("name") for i in theirs if i["type"] == "org.created"} != {
        i["data"].get("name") for i in mine if i["type"] == "org.created"
    }


async def _api_key(client: httpx.AsyncClient, admin_headers: dict[str, str], scope: str) -> str:
    response = await client.post(
        "/api/v1/api-keys", json={"name": f"bi {scope}", "scopes": [scope]}, headers=admin_headers
    )
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key


async def test_an_api_key_needs_events_read(world: World, client: httpx.AsyncClient) -> None:
    org = await world.org()
    reader = await _api_key(client, org.admin.headers, "events:read")
    other = await _api_key(client, org.admin.headers, "stores:read")

    items, _ = await follow(client, {"Authorization": f"Bearer {reader}"})
    refused = await client.get("/api/v1/events", headers={"Authorization": f"Bearer {other}"})

    assert {"org.created", "user.created"} <= {i["type"] for i in items}
    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"


async def test_the_door_code_never_appears_in_the_feed(
    world: World, client: httpx.AsyncClient
) -> None:
    org = await world.org()
    field = Field(client, org)
    store = await field.store()
    response = await field.check_in(field.check_in_body(store))
    assert response.status_code == 201, response.text
    rotated = await client.post(
        f"/api/v1/stores/{store['id']}/qr/rotate", headers=org.admin.headers
    )
    assert rotated.status_code == 200, rotated.text

    response = await client.get("/api/v1/events", params={"limit": 1000}, headers=org.admin.headers)

    types = {i["type"] for i in response.json()["items"]}
    assert {"visit.checked_in", "store.qr_rotated"} <= types
    for qr_url in (store["qr_url"], rotated.json()["qr_url"]):
        token = qr_url.rsplit("/", 1)[-1]
        assert len(token) > 16 and token not in response.text


async def test_every_writer_stamps_the_writing_transaction(
    world: World, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The column default fills ``txid`` for the check-in's one-statement raw insert and for
    ``record_many``'s bulk insert, not only for the ORM's ``record``."""
    org = await world.org()
    field = Field(client, org)
    response = await field.check_in(field.check_in_body(await field.store()))
    assert response.status_code == 201, response.text
    visit_id = uuid.UUID(response.json()["id"])

    async with session_scope(sessionmaker) as session:
        # The visit row's xmin is the 32-bit xid of the statement's transaction; txid is the
        # same id, epoch-extended to 64 bits.
        same = await session.scalar(
            text(
                "SELECT e.txid % 4294967296 = v.xmin::text::bigint FROM events e "
                "JOIN visits v ON v.id = e.subject_id WHERE e.subject_id = :id"
            ),
            {"id": visit_id},
        )
        assert same is True

    async with session_scope(sessionmaker) as session:
        subjects = [uuid.uuid4() for _ in range(3)]
        written = await events_service.record_many(
            session,
            [(StoreUpdated(fields=["name"]), s) for s in subjects],
            org_id=org.id,
            actor_id=None,
        )
        mine = await session.scalar(text("SELECT pg_current_xact_id()::text::bigint"))
        rows = (
            await session.execute(
                select(Event.txid, Event.seq)
                .where(Event.subject_id.in_(subjects))
                .order_by(Event.seq)
            )
        ).all()
    assert written == 3
    assert {r.txid for r in rows} == {mine}
    assert len({r.seq for r in rows}) == 3


async def test_the_feed_reads_through_its_index(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    org, other = await world.org(), await world.org()
    async with session_scope(sessionmaker) as session:
        for org_id in (org.id, other.id):
            await session.execute(
                text(
                    "INSERT INTO events (id, org_id, type, subject_type, subject_id, payload) "
                    "SELECT gen_random_uuid(), :org, 'store.updated', 'store', gen_random_uuid(), "
                    '\'{"fields": ["name"]}\' FROM generate_series(1, 20000)'
                ),
                {"org": org_id},
            )
    async with session_scope(sessionmaker) as session:
        await session.execute(text("ANALYZE events"))
    async with session_scope(sessionmaker) as session:
        for types in (None, frozenset({"store.updated", "visit.checked_in"})):
            statement = repository.feed_statement(org.id, (1, 5), 1001, types)
            compiled = statement.compile(session.bind, compile_kwargs={"literal_binds": True})
            lines = list(await session.scalars(text(f"EXPLAIN {compiled}")))
            plan = "\n".join(lines)
            # The page is the first rows of the index from the position on: no sort under the
            # limit (the outer ORDER BY sorts at most ``limit`` rows), no scan of the org.
            limit_at = next(n for n, line in enumerate(lines) if "->  Limit" in line)
            assert "Index Scan using ix_events_org_id_txid_seq" in lines[limit_at + 1], plan
            assert "ROW(txid, seq) > ROW(1, 5)" in plan, plan
            assert "txid < ((pg_snapshot_xmin(pg_current_snapshot()))" in plan, plan
