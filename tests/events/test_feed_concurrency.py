"""The feed's promise under concurrency: a follower never misses an event and never sees one
twice, though transactions commit out of order (docs/integration.md, "The change feed")."""

import asyncio
import random
import uuid
from dataclasses import dataclass, field

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db import session_scope
from backend.events import feed
from backend.events import service as events_service
from backend.events.catalog import StoreUpdated
from backend.models import Event
from tests.factories.feed import all_event_ids, follow, read_once
from tests.factories.visits import Field
from tests.factories.world import PASSWORD, World


async def _record(session: AsyncSession, org_id: uuid.UUID, label: str = "name") -> Event:
    return await events_service.record(
        session, StoreUpdated(fields=[label]), org_id=org_id, subject_id=uuid.uuid4(), actor_id=None
    )


async def _txid(session: AsyncSession) -> int:
    value = await session.scalar(text("SELECT pg_current_xact_id()::text::bigint"))
    assert isinstance(value, int)
    return value


async def _org_id(world: World) -> uuid.UUID:
    return (await world.org()).id


async def _caught_up(
    sessionmaker: async_sessionmaker[AsyncSession], org_id: uuid.UUID
) -> feed.Position:
    position: feed.Position | None = None
    while True:
        page = await read_once(sessionmaker, org_id, position, 1000)
        position = page.next
        if not page.has_more:
            return position


async def test_a_running_transaction_holds_back_the_ones_after_it(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    org_id = await _org_id(world)
    start = await _caught_up(sessionmaker, org_id)
    async with sessionmaker() as a, sessionmaker() as b:
        event_a = await _record(a, org_id, "a")  # A takes its transaction id first...
        txid_a = await _txid(a)
        event_b = await _record(b, org_id, "b")
        await b.commit()  # ...and B, later, commits first.

        held = await read_once(sessionmaker, org_id, start, 100)
        assert held.events == [] and held.has_more is False
        # The cursor stops short of A: B's event is still ahead of it.
        assert held.next.txid <= txid_a

        await a.commit()
    after = await read_once(sessionmaker, org_id, held.next, 100)
    assert [e.id for e in after.events] == [event_a.id, event_b.id]
    again = await read_once(sessionmaker, org_id, after.next, 100)
    assert again.events == []


async def test_a_rolled_back_transaction_releases_the_feed_and_shows_nothing(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    org_id = await _org_id(world)
    start = await _caught_up(sessionmaker, org_id)
    async with sessionmaker() as a, sessionmaker() as b:
        await _record(a, org_id, "lost")
        kept = await _record(b, org_id, "kept")
        await b.commit()
        await a.rollback()
    page = await read_once(sessionmaker, org_id, start, 100)
    assert [e.id for e in page.events] == [kept.id]


async def test_events_written_in_savepoints_carry_the_top_level_transaction(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A savepoint gets its own subtransaction id, but ``pg_current_xact_id()`` (the column
    default) answers the top-level id, even when the first write happens inside the savepoint:
    the transaction's events stay together, and a rolled-back savepoint's are gone."""
    org_id = await _org_id(world)
    start = await _caught_up(sessionmaker, org_id)
    async with session_scope(sessionmaker) as session:
        async with session.begin_nested():
            first = await _record(session, org_id, "first, inside a savepoint")
        subxid = await session.scalar(
            text("SELECT xmin::text::bigint FROM events WHERE id = :id"), {"id": first.id}
        )
        savepoint = await session.begin_nested()
        await _record(session, org_id, "rolled back")
        await savepoint.rollback()
        last = await _record(session, org_id, "last")
        top = await _txid(session)

    page = await read_once(sessionmaker, org_id, start, 100)
    assert [(e.id, e.txid) for e in page.events] == [(first.id, top), (last.id, top)]
    assert subxid != top % 2**32  # the row itself was written by the subtransaction


@dataclass
class _Ledger:
    """What the writers committed, in commit order, to show that commits were out of order."""

    commits: list[int] = field(default_factory=list)
    rolled_back: int = 0

    def commits_out_of_order(self) -> int:
        return sum(1 for a, b in zip(self.commits, self.commits[1:], strict=False) if b < a)


async def _writer(
    sessionmaker: async_sessionmaker[AsyncSession],
    org_id: uuid.UUID,
    rng: random.Random,
    transactions: int,
    ledger: _Ledger,
) -> None:
    for _ in range(transactions):
        async with sessionmaker() as session:
            await _record(session, org_id)
            if rng.random() < 0.3:
                async with session.begin_nested():
                    await _record(session, org_id, "savepoint")
            if rng.random() < 0.3:
                await events_service.record_many(
                    session,
                    [
                        (StoreUpdated(fields=["bulk"]), uuid.uuid4())
                        for _ in range(rng.randint(1, 4))
                    ],
                    org_id=org_id,
                    actor_id=None,
                )
            txid = await _txid(session)
            await asyncio.sleep(rng.uniform(0, 0.03))  # commit at a random later moment
            if rng.random() < 0.15:
                await session.rollback()
                ledger.rolled_back += 1
            else:
                await session.commit()
                ledger.commits.append(txid)


async def _poll_until(
    sessionmaker: async_sessionmaker[AsyncSession],
    org_id: uuid.UUID,
    rng: random.Random,
    done: asyncio.Event,
) -> list[feed.FeedEvent]:
    """Poll with small random pages while the writers run, then drain once they are done."""
    seen: list[feed.FeedEvent] = []
    position: feed.Position | None = None
    while True:
        finished = done.is_set()
        page = await read_once(sessionmaker, org_id, position, rng.randint(1, 7))
        seen.extend(page.events)
        assert position is None or page.next >= position
        position = page.next
        if finished and not page.has_more:
            return seen
        await asyncio.sleep(0 if page.has_more else 0.002)


async def test_concurrent_writers_committing_out_of_order_are_followed_exactly_once(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    org_id = await _org_id(world)
    rng = random.Random(13)
    ledger = _Ledger()
    done = asyncio.Event()

    async def write_all() -> None:
        try:
            await asyncio.gather(
                *(
                    _writer(sessionmaker, org_id, random.Random(rng.random()), 12, ledger)
                    for _ in range(12)
                )
            )
        finally:
            done.set()

    seen, _ = await asyncio.gather(_poll_until(sessionmaker, org_id, rng, done), write_all())

    committed = await all_event_ids(sessionmaker, org_id)
    seen_ids = [e.id for e in seen]
    assert len(seen_ids) == len(set(seen_ids)), "an event was seen twice"
    assert seen_ids == committed  # every committed event, once, in feed order
    assert ledger.commits_out_of_order() > 5 and ledger.rolled_back > 0
    assert len(committed) > 150


async def test_parallel_http_check_ins_are_followed_exactly_once(
    world: World, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Real check-ins (the one-statement raw insert), abandons and store edits through the app,
    in parallel, while a follower polls ``GET /api/v1/events``."""
    org = await world.org()
    desk = Field(client, org)
    stores = [await desk.store() for _ in range(3)]
    reps = [org.rep, org.other_rep]
    for n in range(4):
        username = f"{uuid.uuid4().hex[:8]}-rep{n}"
        response = await client.post(
            "/api/v1/users",
            json={
                "username": username,
                "display_name": f"rep {n}",
                "role": "rep",
                "password": PASSWORD,
            },
            headers=org.admin.headers,
        )
        assert response.status_code == 201, response.text
        reps.append(
            await world.actor(uuid.UUID(response.json()["id"]), org.id, username, org.rep.role)
        )

    async def rep_rounds(n: int) -> None:
        rep = reps[n]
        for round_ in range(4):
            store = stores[(n + round_) % len(stores)]
            response = await desk.check_in(desk.check_in_body(store), rep)
            assert response.status_code == 201, response.text
            response = await desk.abandon(response.json()["id"], "门店关门", rep)
            assert response.status_code == 200, response.text

    async def admin_edits() -> None:
        for n in range(6):
            response = await client.patch(
                f"/api/v1/stores/{stores[n % 3]['id']}",
                json={"name": f"店 {n}"},
                headers=org.admin.headers,
            )
            assert response.status_code == 200, response.text

    done = asyncio.Event()
    seen: list[dict[str, object]] = []

    async def follower() -> None:
        cursor: str | None = None
        while True:
            finished = done.is_set()
            items, cursor = await follow(client, org.admin.headers, cursor, limit=5)
            seen.extend(items)
            if finished:
                return
            await asyncio.sleep(0.005)

    async def writers() -> None:
        try:
            await asyncio.gather(*(rep_rounds(n) for n in range(len(reps))), admin_edits())
        finally:
            done.set()

    await asyncio.gather(follower(), writers())

    seen_ids = [uuid.UUID(str(i["id"])) for i in seen]
    assert len(seen_ids) == len(set(seen_ids)), "an event was seen twice"
    assert seen_ids == await all_event_ids(sessionmaker, org.id)
    types = [i["type"] for i in seen]
    assert types.count("visit.checked_in") == len(reps) * 4
    assert types.count("visit.abandoned") == len(reps) * 4
