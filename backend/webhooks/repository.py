"""The webhooks domain's SQL: endpoints, the dispatcher's feed position, the sender's claims.

Claims follow DESIGN §2: every replica runs the same loop; rows are claimed with ``FOR ... SKIP
LOCKED`` so each piece of work is taken by one of them, and a claim is a lease
(``claimed_until``) that runs out if its sender dies.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Text,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kit.pagination import Keyset, PageParams, keyset_page
from backend.models import (
    DeliveryStatus,
    Event,
    FeedPosition,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

# The dispatcher's row in ``feed_positions`` (one per org).
FEED_NAME = "webhooks"

_ENDPOINTS = Keyset(WebhookEndpoint.created_at, WebhookEndpoint.id, descending=True)
_DELIVERIES = Keyset(WebhookDelivery.created_at, WebhookDelivery.id, descending=True)


# --- endpoints ---------------------------------------------------------------------------------


async def endpoint(
    session: AsyncSession, org_id: uuid.UUID, endpoint_id: uuid.UUID
) -> WebhookEndpoint | None:
    return await session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.org_id == org_id, WebhookEndpoint.id == endpoint_id
        )
    )


async def endpoints_page(
    session: AsyncSession, org_id: uuid.UUID, page: PageParams
) -> tuple[list[WebhookEndpoint], str | None]:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.org_id == org_id)
    return await keyset_page(session, stmt, _ENDPOINTS, page)


async def endpoint_count(session: AsyncSession, org_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.org_id == org_id)
    )
    return int(count or 0)


async def start_following(session: AsyncSession, org_id: uuid.UUID) -> None:
    """Give the org a dispatcher position if it has none, at this transaction's id: everything
    committed before this endpoint existed is behind it, everything after is ahead."""
    current_txid = cast(cast(func.pg_current_xact_id(), Text), BigInteger)
    await session.execute(
        pg_insert(FeedPosition)
        .from_select(
            ["org_id", "name", "txid", "seq"],
            select(literal(org_id), literal(FEED_NAME), current_txid, literal(0, BigInteger)),
        )
        .on_conflict_do_nothing()
    )


async def stop_following(session: AsyncSession, org_id: uuid.UUID) -> None:
    await session.execute(
        delete(FeedPosition).where(FeedPosition.org_id == org_id, FeedPosition.name == FEED_NAME)
    )


# --- the dispatcher ----------------------------------------------------------------------------


async def followed_orgs(session: AsyncSession) -> list[uuid.UUID]:
    rows = await session.scalars(select(FeedPosition.org_id).where(FeedPosition.name == FEED_NAME))
    return list(rows)


async def lock_position(session: AsyncSession, org_id: uuid.UUID) -> tuple[int, int] | None:
    """The org's dispatcher position, locked for this transaction; None when another replica
    holds it (it is dispatching this org right now) or the org is not followed."""
    row = (
        await session.execute(
            select(FeedPosition.txid, FeedPosition.seq)
            .where(FeedPosition.org_id == org_id, FeedPosition.name == FEED_NAME)
            .with_for_update(skip_locked=True)
        )
    ).first()
    return (row.txid, row.seq) if row is not None else None


async def save_position(session: AsyncSession, org_id: uuid.UUID, txid: int, seq: int) -> None:
    await session.execute(
        update(FeedPosition)
        .where(FeedPosition.org_id == org_id, FeedPosition.name == FEED_NAME)
        .values(txid=txid, seq=seq)
    )


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: uuid.UUID
    event_types: list[str]


async def enabled_subscribers(session: AsyncSession, org_id: uuid.UUID) -> list[Subscriber]:
    rows = await session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
            WebhookEndpoint.org_id == org_id, WebhookEndpoint.enabled.is_(True)
        )
    )
    return [Subscriber(row.id, list(row.event_types)) for row in rows]


async def insert_deliveries(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """New pending deliveries; one that exists already (same endpoint and event) is kept."""
    if rows:
        await session.execute(
            pg_insert(WebhookDelivery)
            .values(list(rows))
            .on_conflict_do_nothing(
                index_elements=["org_id", "endpoint_id", "event_id"],
            )
        )


# --- the sender --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claim:
    """One delivery a sender holds until ``lease``: everything it needs to send it."""

    delivery_id: uuid.UUID
    org_id: uuid.UUID
    endpoint_id: uuid.UUID
    url: str
    secrets: tuple[str, ...]  # newest first
    event_id: uuid.UUID
    event_type: str
    occurred_at: datetime
    payload: dict[str, Any]
    attempt: int  # the number of this try, from 1
    failing_since: datetime | None
    lease: datetime


async def lock_ready_endpoints(
    session: AsyncSession, now: datetime, limit: int
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Up to ``limit`` enabled endpoints with a due delivery, locked (skipping the ones another
    sender is locking right now): (org_id, endpoint_id). ``NO KEY UPDATE`` keeps claimers out
    of each other's way without blocking the dispatcher's inserts (their foreign key check takes
    ``KEY SHARE``)."""
    due = select(WebhookDelivery.id).where(
        WebhookDelivery.org_id == WebhookEndpoint.org_id,
        WebhookDelivery.endpoint_id == WebhookEndpoint.id,
        WebhookDelivery.status == DeliveryStatus.pending,
        WebhookDelivery.next_attempt_at <= now,
    )
    rows = await session.execute(
        select(WebhookEndpoint.org_id, WebhookEndpoint.id)
        .where(WebhookEndpoint.enabled.is_(True), due.exists())
        .limit(limit)
        .with_for_update(skip_locked=True, key_share=True)
    )
    return [(row.org_id, row.id) for row in rows]


async def claim_oldest_due(
    session: AsyncSession,
    endpoints: Sequence[tuple[uuid.UUID, uuid.UUID]],
    now: datetime,
    lease: datetime,
) -> list[uuid.UUID]:
    """For each locked endpoint with nothing in flight, lease its oldest due delivery.

    Must run as its own statement after ``lock_ready_endpoints``: its snapshot is taken once the
    endpoints' locks are held, so it sees every lease a previous holder committed — at most one
    delivery per endpoint is ever in flight, on all replicas together."""
    keys = [tuple_(org_id, endpoint_id) for org_id, endpoint_id in endpoints]
    pair = tuple_(WebhookDelivery.org_id, WebhookDelivery.endpoint_id)
    in_flight = (
        select(WebhookDelivery.endpoint_id)
        .where(
            pair.in_(keys),
            WebhookDelivery.status == DeliveryStatus.pending,
            WebhookDelivery.claimed_until > now,
        )
        .scalar_subquery()
    )
    pick = (
        select(WebhookDelivery.id)
        .where(
            pair.in_(keys),
            WebhookDelivery.status == DeliveryStatus.pending,
            WebhookDelivery.next_attempt_at <= now,
            WebhookDelivery.endpoint_id.not_in(in_flight),
        )
        .ext(distinct_on(WebhookDelivery.endpoint_id))
        .order_by(
            WebhookDelivery.endpoint_id,
            WebhookDelivery.next_attempt_at,
            WebhookDelivery.created_at,
        )
        .subquery()
    )
    rows = await session.scalars(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(select(pick.c.id)))
        .values(claimed_until=lease)
        .returning(WebhookDelivery.id)
    )
    return list(rows)


async def lock_endpoint_for_claim(
    session: AsyncSession, org_id: uuid.UUID, endpoint_id: uuid.UUID
) -> bool:
    """Lock one enabled endpoint as ``lock_ready_endpoints`` does, waiting for it (a claimer
    holds it for milliseconds); False when it is disabled or gone."""
    found = await session.scalar(
        select(WebhookEndpoint.id)
        .where(
            WebhookEndpoint.org_id == org_id,
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.enabled.is_(True),
        )
        .with_for_update(key_share=True)
    )
    return found is not None


async def claims(
    session: AsyncSession, delivery_ids: Sequence[uuid.UUID], now: datetime
) -> list[Claim]:
    if not delivery_ids:
        return []
    rows = await session.execute(
        select(
            WebhookDelivery.id,
            WebhookDelivery.org_id,
            WebhookDelivery.endpoint_id,
            WebhookDelivery.attempts,
            WebhookDelivery.claimed_until,
            WebhookEndpoint.url,
            WebhookEndpoint.secret,
            WebhookEndpoint.previous_secret,
            WebhookEndpoint.previous_secret_expires_at,
            WebhookEndpoint.failing_since,
            Event.id.label("event_id"),
            Event.type,
            Event.occurred_at,
            Event.payload,
        )
        .join(
            WebhookEndpoint,
            (WebhookEndpoint.org_id == WebhookDelivery.org_id)
            & (WebhookEndpoint.id == WebhookDelivery.endpoint_id),
        )
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.id.in_(list(delivery_ids)))
    )
    found = []
    for row in rows:
        secrets = [row.secret]
        if (
            row.previous_secret
            and row.previous_secret_expires_at
            and (row.previous_secret_expires_at > now)
        ):
            secrets.append(row.previous_secret)
        found.append(
            Claim(
                delivery_id=row.id,
                org_id=row.org_id,
                endpoint_id=row.endpoint_id,
                url=row.url,
                secrets=tuple(secrets),
                event_id=row.event_id,
                event_type=row.type,
                occurred_at=row.occurred_at,
                payload=dict(row.payload),
                attempt=row.attempts + 1,
                failing_since=row.failing_since,
                lease=row.claimed_until,
            )
        )
    return found


async def finish_claim(
    session: AsyncSession,
    claim: Claim,
    *,
    status: DeliveryStatus,
    next_attempt_at: datetime | None,
    response_status: int | None,
) -> bool:
    """Record a try's outcome on the delivery if the claim is still ours (its lease unchanged);
    False when it ran out and another sender took the delivery over."""
    done = await session.scalar(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == claim.delivery_id, WebhookDelivery.claimed_until == claim.lease
        )
        .values(
            status=status,
            attempts=WebhookDelivery.attempts + 1,
            next_attempt_at=next_attempt_at,
            claimed_until=None,
            last_response_status=response_status,
        )
        .returning(WebhookDelivery.id)
    )
    return done is not None


async def add_attempt(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(WebhookAttempt).values(**values))


async def mark_endpoint_result(
    session: AsyncSession,
    org_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    *,
    succeeded: bool,
    now: datetime,
) -> datetime | None:
    """A success ends the endpoint's run of failures; a failure starts one if none is running.
    Returns when the current run of failures began (None after a success)."""
    values: dict[str, Any] = (
        {"failing_since": None}
        if succeeded
        else {"failing_since": func.coalesce(WebhookEndpoint.failing_since, now)}
    )
    return await session.scalar(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.org_id == org_id, WebhookEndpoint.id == endpoint_id)
        .values(**values)
        .returning(WebhookEndpoint.failing_since)
    )


async def disable_endpoint(
    session: AsyncSession, org_id: uuid.UUID, endpoint_id: uuid.UUID, reason: str
) -> bool:
    """Disable an enabled endpoint; False if it was disabled already (someone else told)."""
    done = await session.scalar(
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.org_id == org_id,
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.enabled.is_(True),
        )
        .values(enabled=False, disabled_reason=reason)
        .returning(WebhookEndpoint.id)
    )
    return done is not None


async def fail_pending(session: AsyncSession, org_id: uuid.UUID, endpoint_id: uuid.UUID) -> None:
    """A disabled endpoint's waiting deliveries give up (``redeliver-failed`` brings them back);
    one in flight keeps its claim and is recorded when its try ends."""
    await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.org_id == org_id,
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.status == DeliveryStatus.pending,
            WebhookDelivery.claimed_until.is_(None),
        )
        .values(status=DeliveryStatus.failed, next_attempt_at=None)
    )


# --- the deliveries log ------------------------------------------------------------------------


async def deliveries_page(
    session: AsyncSession, org_id: uuid.UUID, endpoint_id: uuid.UUID, page: PageParams
) -> tuple[list[WebhookDelivery], str | None]:
    stmt = select(WebhookDelivery).where(
        WebhookDelivery.org_id == org_id, WebhookDelivery.endpoint_id == endpoint_id
    )
    return await keyset_page(session, stmt, _DELIVERIES, page)


async def attempts_of(
    session: AsyncSession, org_id: uuid.UUID, delivery_ids: Sequence[uuid.UUID]
) -> list[WebhookAttempt]:
    if not delivery_ids:
        return []
    rows = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.org_id == org_id, WebhookAttempt.delivery_id.in_(list(delivery_ids)))
        .order_by(WebhookAttempt.delivery_id, WebhookAttempt.attempt.desc())
    )
    return list(rows)


async def delivery(
    session: AsyncSession, org_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery | None:
    return await session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.org_id == org_id, WebhookDelivery.id == delivery_id
        )
    )


async def requeue_failed(
    session: AsyncSession,
    org_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    since: datetime,
    now: datetime,
) -> int:
    """Every failed delivery of the endpoint made since ``since``, due again now."""
    rows = await session.scalars(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.org_id == org_id,
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.status == DeliveryStatus.failed,
            WebhookDelivery.created_at >= since,
        )
        .values(status=DeliveryStatus.pending, next_attempt_at=now)
        .returning(WebhookDelivery.id)
    )
    return len(list(rows))
