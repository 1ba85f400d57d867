"""Delivery to a real HTTP receiver on loopback, by the sender loop the app's lifespan starts:
Standard Webhooks verified with its own library, the retry schedule, 410, 429, isolation of a
slow endpoint, the SSRF rule at connect time, redelivery, two replicas."""

import asyncio
import json
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from backend.config import Settings
from backend.db import create_engine, create_sessionmaker, session_scope
from backend.kit.time import utc_now
from backend.models import Event, Notification, WebhookDelivery, WebhookEndpoint
from backend.webhooks import service
from backend.webhooks.worker import LEASE, WebhookWorker
from tests.factories.stores import create_store
from tests.factories.webhook_receiver import Received, Receiver, Reply
from tests.factories.webhooks import create_endpoint, deliveries, eventually
from tests.factories.world import Org, World


async def _store_created(client: httpx.AsyncClient, org: Org) -> float:
    """Create a store (a ``store.created`` event); the time its transaction had committed."""
    await create_store(client, org.admin.headers)
    return time.monotonic()


async def _event_of(sessionmaker: async_sessionmaker[AsyncSession], event_id: str) -> Event:
    async with session_scope(sessionmaker) as session:
        event = await session.get(Event, uuid.UUID(event_id))
    assert event is not None
    return event


def _verified(request: Received, secret: str) -> Any:
    """The body, verified with the ``standardwebhooks`` library (which raises if it fails)."""
    return Webhook(secret).verify(request.body, request.headers)


async def test_signed_standard_webhook_within_2_s_of_the_commit(
    client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    org = await world.org()
    await create_store(client, org.admin.headers)  # before the endpoint: never sent
    endpoint = await create_endpoint(client, org, receiver.url("/in"), ["store.created"])
    committed = await _store_created(client, org)
    (request,) = await receiver.wait_for("/in", 1)
    assert request.at - committed < 2.0

    body = _verified(request, endpoint["secret"])
    assert set(body) == {"type", "timestamp", "data"} and body["type"] == "store.created"
    assert request.headers["content-type"] == "application/json"
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 5
    event = await _event_of(sessionmaker, request.webhook_id)
    assert event.type == "store.created" and body["data"] == event.payload
    assert body["timestamp"] == event.occurred_at.isoformat().replace("+00:00", "Z")

    (delivery,) = await eventually(lambda: _settled(client, org, endpoint["id"], want=1))
    assert (delivery["status"], delivery["attempt"], delivery["response_status"]) == (
        "succeeded",
        1,
        200,
    )
    assert delivery["event_id"] == request.webhook_id and delivery["next_attempt_at"] is None
    await asyncio.sleep(0.6)
    assert len(receiver.requests) == 1  # the store made before the endpoint was not sent


async def _settled(
    client: httpx.AsyncClient, org: Org, endpoint_id: str, want: int
) -> list[dict[str, Any]] | None:
    items = await deliveries(client, org, endpoint_id)
    done = [d for d in items if d["attempt"] >= 1]
    return items if len(items) == want and len(done) == want else None


async def test_a_sleeping_endpoint_never_delays_another_and_a_failure_retries_after_5_s(
    client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    org = await world.org()
    receiver.plan("/slow", then=Reply(delay_s=20))
    receiver.plan("/flaky", Reply(500, b"x" * 10_000))
    slow = await create_endpoint(client, org, receiver.url("/slow"), ["store.created"])
    flaky = await create_endpoint(client, org, receiver.url("/flaky"), ["store.created"])

    await _store_created(client, org)
    first, *_ = await receiver.wait_for("/flaky", 1)
    await receiver.wait_for("/slow", 1)  # now sleeping for 20 s
    committed = await _store_created(client, org)
    # The second event reaches /flaky at once, though /slow holds its own first one.
    second = next(r for r in await receiver.wait_for("/flaky", 2) if r is not first)
    assert second.at - committed < 1.0
    assert second.webhook_id != first.webhook_id

    retry = next(r for r in await receiver.wait_for("/flaky", 3, 10) if r not in (first, second))
    assert retry.webhook_id == first.webhook_id  # the same webhook-id on a retry
    assert 3.5 <= retry.at - first.at <= 6.5, retry.at - first.at
    _verified(retry, flaky["secret"])

    async def retried_ok() -> dict[str, Any] | None:
        items = await deliveries(client, org, flaky["id"])
        found = next(d for d in items if d["event_id"] == first.webhook_id)
        return found if found["status"] == "succeeded" else None

    retried = await eventually(retried_ok)
    assert retried["attempt"] == 2
    failed_try = retried["attempts"][-1]
    assert failed_try["response_status"] == 500 and not failed_try["succeeded"]
    assert failed_try["response_body"] == "x" * 2048  # at most 2 KB kept

    # /slow's first try ends at the 15 s timeout, recorded as a failure due again in 5 s.
    async def timed_out() -> dict[str, Any] | None:
        items = await deliveries(client, org, slow["id"])
        tried = [d for d in items if d["attempts"]]
        return tried[0]["attempts"][0] if tried else None

    attempt = await eventually(timed_out, timeout_s=20)
    assert attempt["response_status"] is None and "no answer" in attempt["error"]
    assert 14_500 <= attempt["duration_ms"] <= 16_500
    # One in flight per endpoint: /slow's second event waited for the first try to end.
    first_slow, *later = receiver.at("/slow")
    assert all(r.at - first_slow.at >= 14.5 for r in later)


async def test_410_disables_the_endpoint_and_tells_the_admins(
    client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    org = await world.org()
    receiver.plan("/gone", then=Reply(410))
    endpoint = await create_endpoint(client, org, receiver.url("/gone"))
    await _store_created(client, org)
    await receiver.wait_for("/gone", 1)

    async def disabled() -> dict[str, Any] | None:
        got = await client.get(
            f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=org.admin.headers
        )
        body: dict[str, Any] = got.json()
        return body if not body["enabled"] else None

    body = await eventually(disabled)
    assert "410" in body["disabled_reason"]
    (delivery,) = await deliveries(client, org, endpoint["id"])
    assert delivery["status"] == "failed" and delivery["next_attempt_at"] is None
    async with session_scope(sessionmaker) as session:
        notes = (
            await session.scalars(
                select(Notification).where(Notification.subject_id == uuid.UUID(endpoint["id"]))
            )
        ).all()
    assert [n.user_id for n in notes] == [org.admin.id]
    assert notes[0].title["zh"] and notes[0].title["en"] == "Webhook endpoint disabled"
    await _store_created(client, org)
    await asyncio.sleep(1.0)
    assert len(receiver.at("/gone")) == 1  # nothing more is sent


async def test_429_waits_as_long_as_retry_after_says(
    client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    org = await world.org()
    receiver.plan("/busy", Reply(429, headers={"retry-after": "2"}))
    await create_endpoint(client, org, receiver.url("/busy"))
    await _store_created(client, org)
    first, again = await receiver.wait_for("/busy", 2)
    assert first.webhook_id == again.webhook_id
    # 2 s as asked, not the schedule's 5 s (plus at most one loop interval).
    assert 1.9 <= again.at - first.at <= 3.2, again.at - first.at


async def test_redirects_are_not_followed_and_a_name_turned_private_is_refused_at_connect(
    client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    org = await world.org()
    receiver.plan("/moved", then=Reply(302, headers={"location": receiver.url("/elsewhere")}))
    moved = await create_endpoint(client, org, receiver.url("/moved"))
    # Saved while its name was public; now it resolves to loopback, and "localhost" is not an
    # allowed host (only 127.0.0.1 is): the sender must refuse the address it would connect to.
    turned = await create_endpoint(client, org, "https://93.184.215.14/x")
    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == uuid.UUID(turned["id"]))
            .values(url=f"https://localhost:{receiver.port}/turned")
        )
    await _store_created(client, org)
    await receiver.wait_for("/moved", 1)

    async def refused() -> dict[str, Any] | None:
        items = await deliveries(client, org, turned["id"])
        return items[0]["attempts"][0] if items and items[0]["attempts"] else None

    attempt = await eventually(refused)
    assert attempt["response_status"] is None and "not allowed" in attempt["error"]
    (redirected,) = await eventually(lambda: _settled(client, org, moved["id"], want=1))
    assert redirected["status"] == "pending" and redirected["response_status"] == 302
    assert receiver.at("/elsewhere") == [] and receiver.at("/turned") == []
    assert len(receiver.requests) == 1


async def test_rotation_sends_two_signatures_for_24_h(
    client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    org = await world.org()
    endpoint = await create_endpoint(client, org, receiver.url("/rot"))
    rotated = await client.post(
        f"/api/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", headers=org.admin.headers
    )
    new_secret = rotated.json()["secret"]
    ping = await client.post(
        f"/api/v1/webhook-endpoints/{endpoint['id']}/test", headers=org.admin.headers
    )
    assert ping.status_code == 202 and ping.json()["event_type"] == "ping"
    (request,) = await receiver.wait_for("/rot", 1)
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    for secret in (endpoint["secret"], new_secret):
        body = _verified(request, secret)
    assert body["type"] == "ping" and body["data"] == {"endpoint_id": endpoint["id"]}
    assert request.webhook_id == ping.json()["event_id"]


async def test_redeliver_one_and_everything_failed_since(
    client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    org = await world.org()
    receiver.plan("/r", Reply(500), Reply(500))
    endpoint = await create_endpoint(client, org, receiver.url("/r"), ["store.created"])
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}"
    await _store_created(client, org)
    await receiver.wait_for("/r", 1)
    await _store_created(client, org)  # made by a later dispatch: a later created_at
    await receiver.wait_for("/r", 2)
    await eventually(lambda: _settled(client, org, endpoint["id"], want=2))
    # Disabling gives up what waits; enabling again does not bring it back by itself.
    for enabled in (False, True):
        patched = await client.patch(path, json={"enabled": enabled}, headers=org.admin.headers)
        assert patched.status_code == 200
    newer, older = await deliveries(client, org, endpoint["id"])
    assert newer["status"] == older["status"] == "failed"

    since = newer["created_at"]
    queued = await client.post(
        f"{path}/redeliver-failed", json={"since": since}, headers=org.admin.headers
    )
    assert queued.status_code == 202 and queued.json() == {"queued": 1}
    (again,) = [r for r in await receiver.wait_for("/r", 3) if r.webhook_id == newer["event_id"]][
        1:
    ]
    assert again.webhook_id == newer["event_id"]

    one = await client.post(
        f"/api/v1/webhook-deliveries/{older['id']}/redeliver", headers=org.admin.headers
    )
    assert one.status_code == 202 and one.json()["status"] == "pending"
    requests = await receiver.wait_for("/r", 4)
    assert requests[-1].webhook_id == older["event_id"]
    items = await eventually(lambda: _all_succeeded(client, org, endpoint["id"]))
    assert [d["attempt"] for d in items] == [2, 2]

    page = await client.get(f"{path}/deliveries", params={"limit": 1}, headers=org.admin.headers)
    rest = await client.get(
        f"{path}/deliveries",
        params={"limit": 1, "cursor": page.json()["next_cursor"]},
        headers=org.admin.headers,
    )
    assert [page.json()["items"][0]["id"], rest.json()["items"][0]["id"]] == [
        newer["id"],
        older["id"],
    ]
    assert rest.json()["next_cursor"] is None


async def _all_succeeded(
    client: httpx.AsyncClient, org: Org, endpoint_id: str
) -> list[dict[str, Any]] | None:
    items = await deliveries(client, org, endpoint_id)
    return items if all(d["status"] == "succeeded" for d in items) else None


async def test_two_replicas_deliver_each_event_once_per_endpoint(
    client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    assert settings.database_url
    org = await world.org()
    for path in ("/a", "/b"):
        await create_endpoint(client, org, receiver.url(path), ["store.created"])
    engine = create_engine(settings.database_url, settings)
    # Another replica: its own engine, its own loop, running beside the app's (faster, so the
    # two contend for every claim).
    replica = WebhookWorker(create_sessionmaker(engine), settings, interval_s=0.05)
    await replica.start()
    try:
        count = 15
        await asyncio.gather(*(create_store(client, org.admin.headers) for _ in range(count)))
        for path in ("/a", "/b"):
            await receiver.wait_for(path, count, 15)
        await asyncio.sleep(1.0)  # room for a duplicate to show up
    finally:
        await replica.stop()
        await engine.dispose()
    for path in ("/a", "/b"):
        ids = [r.webhook_id for r in receiver.at(path)]
        assert len(ids) == count and len(set(ids)) == count, path
    async with session_scope(sessionmaker) as session:
        rows = (
            await session.execute(
                select(WebhookDelivery.status, WebhookDelivery.attempts, func.count())
                .where(WebhookDelivery.org_id == org.id)
                .group_by(WebhookDelivery.status, WebhookDelivery.attempts)
            )
        ).all()
    assert [tuple(r) for r in rows] == [("succeeded", 1, 2 * count)]


async def test_claims_are_one_per_endpoint_across_concurrent_claimers(
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Straight at the claim: many due deliveries of one endpoint, claimers racing on their own
    connections; exactly one delivery is leased."""
    assert settings.database_url
    org = await world.org()
    endpoint = await create_endpoint(client, org, "https://93.184.215.14/x")
    async with session_scope(sessionmaker) as session:
        # Not due yet for the app's own loop; due for the claimers below.
        later = utc_now() + timedelta(hours=1)
        for _ in range(10):
            event = Event(
                org_id=org.id,
                type="store.updated",
                subject_type="store",
                subject_id=uuid.uuid4(),
                payload={},
            )
            session.add(event)
            await session.flush()
            session.add(
                WebhookDelivery(
                    org_id=org.id,
                    endpoint_id=uuid.UUID(endpoint["id"]),
                    event_id=event.id,
                    event_type=event.type,
                    next_attempt_at=later,
                    attempts=0,
                )
            )
    engine = create_engine(settings.database_url, settings)
    makers = [create_sessionmaker(engine) for _ in range(4)]
    at = later + timedelta(seconds=1)

    async def claim(maker: async_sessionmaker[AsyncSession]) -> list[uuid.UUID]:
        async with session_scope(maker) as session:
            return [c.delivery_id for c in await service.claim_due(session, at, 16, LEASE)]

    try:
        rounds = [await asyncio.gather(*(claim(m) for m in makers)) for _ in range(3)]
    finally:
        await engine.dispose()
    claimed = [d for round_ in rounds for got in round_ for d in got]
    assert len(claimed) == 1


def test_the_body_is_compact_json_of_the_envelope() -> None:
    from backend.webhooks.repository import Claim
    from backend.webhooks.worker import body_of

    claim = Claim(
        delivery_id=uuid.uuid4(), org_id=uuid.uuid4(), endpoint_id=uuid.uuid4(), url="",
        secrets=("whsec_AAAA",), event_id=uuid.uuid4(), event_type="store.updated",
        occurred_at=datetime.fromisoformat("2026-12-02T08:00:00.123456+00:00"),
        payload={"name": "店"}, attempt=1, failing_since=None, lease=utc_now(),
    )  # fmt: skip
    assert body_of(claim) == json.dumps(
        {"type": "store.updated", "timestamp": "2026-12-02T08:00:00.123456Z",
         "data": {"name": "店"}}, separators=(",", ":"), ensure_ascii=False,
    ).encode()  # fmt: skip


async def test_five_days_of_failures_disable_the_endpoint(
    client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    org = await world.org()
    receiver.plan("/down", then=Reply(503))
    endpoint = await create_endpoint(client, org, receiver.url("/down"))
    async with session_scope(sessionmaker) as session:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == uuid.UUID(endpoint["id"]))
            .values(failing_since=utc_now() - timedelta(days=5, seconds=1))
        )
    await _store_created(client, org)
    await receiver.wait_for("/down", 1)

    async def disabled() -> dict[str, Any] | None:
        got = await client.get(
            f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=org.admin.headers
        )
        body: dict[str, Any] = got.json()
        return body if not body["enabled"] else None

    assert "5 days" in (await eventually(disabled))["disabled_reason"]
    async with session_scope(sessionmaker) as session:
        notes = (
            await session.scalars(
                select(Notification).where(Notification.subject_id == uuid.UUID(endpoint["id"]))
            )
        ).all()
    assert len(notes) == 1 and "5" in notes[0].body["zh"] and "5 days" in notes[0].body["en"]
