"""Following the change feed, over the API or through ``read_after``, as a client would."""

import uuid
from collections.abc import Mapping
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db import session_scope
from backend.events import feed
from backend.models import Event


async def feed_page(
    client: httpx.AsyncClient, headers: Mapping[str, str], **params: Any
) -> dict[str, Any]:
    """One ``GET /api/v1/events`` page, asserted to be a 200."""
    response = await client.get("/api/v1/events", params=params, headers=dict(headers))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def follow(
    client: httpx.AsyncClient,
    headers: Mapping[str, str],
    cursor: str | None = None,
    **params: Any,
) -> tuple[list[dict[str, Any]], str]:
    """Every item readable now after ``cursor``, page by page, and the cursor to resume from."""
    items: list[dict[str, Any]] = []
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        page = await feed_page(client, headers, **query)
        items.extend(page["items"])
        cursor = page["next_cursor"]
        assert isinstance(cursor, str) and cursor
        if not page["has_more"]:
            return items, cursor


async def read_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    org_id: uuid.UUID,
    position: feed.Position | None,
    limit: int,
    types: frozenset[str] | None = None,
) -> feed.FeedPage:
    """One ``read_after`` in its own transaction, as one poll of a follower."""
    async with session_scope(sessionmaker) as session:
        return await feed.read_after(session, org_id, position, limit, types)


async def all_event_ids(
    sessionmaker: async_sessionmaker[AsyncSession], org_id: uuid.UUID
) -> list[uuid.UUID]:
    """Every committed event of the org, in feed order (what a follower must end up with)."""
    async with session_scope(sessionmaker) as session:
        rows = await session.scalars(
            select(Event.id).where(Event.org_id == org_id).order_by(Event.txid, Event.seq)
        )
        return list(rows)
