"""Webhooks: endpoints (admin only), the dispatcher that turns the events feed into deliveries,
and the record of each try. The sender's HTTP side is ``worker``; the retry rules ``schedule``;
the SSRF rule ``ssrf``; signatures ``signing``.

Deliveries are made by following each org's change feed (``backend.events.feed``) from a
``feed_positions`` row, locked while read, in the transaction that inserts them (unique per
endpoint and event) and moves the position on: an event is never skipped and never delivered
twice, however many replicas dispatch.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import FieldError, NotFound
from backend.events import feed
from backend.events import service as events
from backend.events.catalog import Ping
from backend.kit.pagination import PageParams
from backend.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from backend.models.user import Role
from backend.notifications import service as notifications
from backend.users import service as user_service
from backend.webhooks import repository, schedule, signing, ssrf
from backend.webhooks.event_types import SUBSCRIBABLE, wants
from backend.webhooks.exceptions import EndpointDisabled, WebhookUrlNotAllowed
from backend.webhooks.repository import Claim
from backend.webhooks.schemas import WebhookEndpointCreate, WebhookEndpointUpdate

# How long the old secret signs beside the new one after a rotation.
ROTATION_OVERLAP = timedelta(hours=24)
RESPONSE_BODY_MAX = 2048
ERROR_MAX = 500


# --- endpoints ---------------------------------------------------------------------------------


async def _checked_url(url: str, allowed_hosts: tuple[str, ...]) -> str:
    try:
        await ssrf.check_url(url, allowed_hosts)
    except ssrf.UrlNotAllowed as exc:
        raise WebhookUrlNotAllowed(
            str(exc), errors=[FieldError("/url", str(exc), "webhook_url_not_allowed")]
        ) from exc
    return url


async def create_endpoint(
    session: AsyncSession,
    principal: Principal,
    data: WebhookEndpointCreate,
    allowed_hosts: tuple[str, ...],
    now: datetime,
) -> WebhookEndpoint:
    """A new endpoint; its ``secret`` is readable on the returned row (shown once)."""
    url = await _checked_url(data.url, allowed_hosts)
    endpoint = WebhookEndpoint(
        org_id=principal.org_id,
        url=url,
        description=data.description,
        event_types=data.event_types,
        enabled=True,
        secret=signing.new_secret(),
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    await session.flush()
    await repository.start_following(session, principal.org_id)
    return endpoint


async def list_endpoints(
    session: AsyncSession, principal: Principal, page: PageParams
) -> tuple[list[WebhookEndpoint], str | None]:
    return await repository.endpoints_page(session, principal.org_id, page)


async def get_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID
) -> WebhookEndpoint:
    endpoint = await repository.endpoint(session, principal.org_id, endpoint_id)
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    return endpoint


async def update_endpoint(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: uuid.UUID,
    data: WebhookEndpointUpdate,
    allowed_hosts: tuple[str, ...],
    now: datetime,
) -> WebhookEndpoint:
    endpoint = await get_endpoint(session, principal, endpoint_id)
    if data.url is not None and data.url != endpoint.url:
        endpoint.url = await _checked_url(data.url, allowed_hosts)
    if data.event_types is not None:
        endpoint.event_types = data.event_types
    if data.description is not None:
        endpoint.description = data.description
    if data.enabled is True and not endpoint.enabled:
        # A fresh start: the failures that disabled it are behind it.
        endpoint.enabled, endpoint.disabled_reason, endpoint.failing_since = True, None, None
    elif data.enabled is False and endpoint.enabled:
        endpoint.enabled, endpoint.disabled_reason = False, "disabled by an admin"
        await repository.fail_pending(session, principal.org_id, endpoint.id)
    endpoint.updated_at = now
    await session.flush()
    return endpoint


async def delete_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID
) -> None:
    endpoint = await get_endpoint(session, principal, endpoint_id)
    await session.delete(endpoint)
    await session.flush()
    if await repository.endpoint_count(session, principal.org_id) == 0:
        # Nobody listens: stop reading the org's feed (a new endpoint starts from its own time).
        await repository.stop_following(session, principal.org_id)


async def rotate_secret(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, now: datetime
) -> WebhookEndpoint:
    """A new secret; the one it replaces keeps signing beside it for 24 h (a secret rotated
    before then is dropped: only the newest two ever sign)."""
    endpoint = await get_endpoint(session, principal, endpoint_id)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    endpoint.secret = signing.new_secret()
    endpoint.updated_at = now
    await session.flush()
    return endpoint


# --- the deliveries log ------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryView:
    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]  # newest first

    @property
    def last(self) -> WebhookAttempt | None:
        return self.attempts[0] if self.attempts else None


async def _views(
    session: AsyncSession, org_id: uuid.UUID, deliveries: Sequence[WebhookDelivery]
) -> list[DeliveryView]:
    attempts = await repository.attempts_of(session, org_id, [d.id for d in deliveries])
    by_delivery: dict[uuid.UUID, list[WebhookAttempt]] = {}
    for attempt in attempts:
        by_delivery.setdefault(attempt.delivery_id, []).append(attempt)
    return [DeliveryView(d, by_delivery.get(d.id, [])) for d in deliveries]


async def list_deliveries(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, page: PageParams
) -> tuple[list[DeliveryView], str | None]:
    """The endpoint's deliveries, newest first, each with its tries."""
    await get_endpoint(session, principal, endpoint_id)
    rows, cursor = await repository.deliveries_page(session, principal.org_id, endpoint_id, page)
    return await _views(session, principal.org_id, rows), cursor


async def _enabled_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID
) -> WebhookEndpoint:
    endpoint = await get_endpoint(session, principal, endpoint_id)
    if not endpoint.enabled:
        raise EndpointDisabled("The endpoint is disabled; enable it first.")
    return endpoint


async def send_test(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, now: datetime
) -> DeliveryView:
    """Record a ``ping`` event for this endpoint only and queue its delivery, due now."""
    endpoint = await _enabled_endpoint(session, principal, endpoint_id)
    event = await events.record(
        session,
        Ping(endpoint_id=endpoint.id),
        org_id=principal.org_id,
        subject_id=endpoint.id,
        actor_id=principal.user_id,
        occurred_at=now,
    )
    delivery = WebhookDelivery(
        org_id=principal.org_id,
        endpoint_id=endpoint.id,
        event_id=event.id,
        event_type=event.type,
        status=DeliveryStatus.pending,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(delivery)
    await session.flush()
    return DeliveryView(delivery, [])


async def redeliver(
    session: AsyncSession, principal: Principal, delivery_id: uuid.UUID, now: datetime
) -> DeliveryView:
    """A new try now, with the same ``webhook-id`` (whatever the delivery's state)."""
    delivery = await repository.delivery(session, principal.org_id, delivery_id)
    if delivery is None:
        raise NotFound("No such webhook delivery.")
    await _enabled_endpoint(session, principal, delivery.endpoint_id)
    delivery.status, delivery.next_attempt_at, delivery.updated_at = (
        DeliveryStatus.pending,
        now,
        now,
    )
    await session.flush()
    return (await _views(session, principal.org_id, [delivery]))[0]


async def redeliver_failed(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: uuid.UUID,
    since: datetime,
    now: datetime,
) -> int:
    """Queue again every delivery of the endpoint made since ``since`` that has failed."""
    await _enabled_endpoint(session, principal, endpoint_id)
    return await repository.requeue_failed(session, principal.org_id, endpoint_id, since, now)


# --- the dispatcher ----------------------------------------------------------------------------


async def followed_orgs(session: AsyncSession) -> list[uuid.UUID]:
    return await repository.followed_orgs(session)


async def dispatch_org(
    session: AsyncSession, org_id: uuid.UUID, now: datetime, limit: int = 500
) -> tuple[int, bool] | None:
    """Turn the org's next events into deliveries and move its position past them, in the
    caller's transaction. Returns (deliveries made, more events readable now), or None when
    another replica is dispatching this org."""
    position = await repository.lock_position(session, org_id)
    if position is None:
        return None
    page = await feed.read_after(
        session, org_id, feed.Position(*position), limit, types=SUBSCRIBABLE
    )
    subscribers = await repository.enabled_subscribers(session, org_id) if page.events else []
    rows = [
        {
            "id": uuid.uuid4(),
            "org_id": org_id,
            "endpoint_id": subscriber.id,
            "event_id": event.id,
            "event_type": event.type,
            "status": DeliveryStatus.pending,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for event in page.events
        for subscriber in subscribers
        if wants(subscriber.event_types, event.type)
    ]
    await repository.insert_deliveries(session, rows)
    if (page.next.txid, page.next.seq) != position:
        await repository.save_position(session, org_id, page.next.txid, page.next.seq)
    return len(rows), page.has_more


# --- the sender's claims and results -----------------------------------------------------------


async def claim_due(
    session: AsyncSession, now: datetime, limit: int, lease: timedelta
) -> list[Claim]:
    """Lease up to ``limit`` due deliveries, at most one per endpoint and none of an endpoint
    that already has one in flight anywhere. Commit before sending: the lease is the claim."""
    endpoints = await repository.lock_ready_endpoints(session, now, limit)
    if not endpoints:
        return []
    ids = await repository.claim_oldest_due(session, endpoints, now, now + lease)
    return await repository.claims(session, ids, now)


async def claim_next(
    session: AsyncSession, claim: Claim, now: datetime, lease: timedelta
) -> Claim | None:
    """After ``claim``'s try is recorded (in this transaction), lease the next due delivery of
    the same endpoint, so a busy endpoint streams without waiting for the loop's next round.
    Under the endpoint's lock like ``claim_due``: still at most one in flight per endpoint."""
    if not await repository.lock_endpoint_for_claim(session, claim.org_id, claim.endpoint_id):
        return None
    ids = await repository.claim_oldest_due(
        session, [(claim.org_id, claim.endpoint_id)], now, now + lease
    )
    found = await repository.claims(session, ids, now)
    return found[0] if found else None


@dataclass(frozen=True, slots=True)
class SendResult:
    """What one try got: an HTTP answer, or an error instead (no answer)."""

    status: int | None
    body: str | None
    retry_after: str | None
    error: str | None
    duration_ms: int


def _clean(text: str | None, limit: int) -> str | None:
    # PostgreSQL text cannot hold NUL.
    return text.replace("\x00", "")[:limit] if text is not None else None


async def record_result(
    session: AsyncSession, claim: Claim, result: SendResult, now: datetime
) -> schedule.Verdict | None:
    """Record a try and schedule what follows, in the caller's transaction; None when the
    claim had run out and another sender took the delivery over (its try is recorded there)."""
    verdict = schedule.judge(
        status=result.status, retry_after=result.retry_after, attempt=claim.attempt, now=now
    )
    status = {
        schedule.Outcome.succeeded: DeliveryStatus.succeeded,
        schedule.Outcome.retry: DeliveryStatus.pending,
    }.get(verdict.outcome, DeliveryStatus.failed)
    still_ours = await repository.finish_claim(
        session,
        claim,
        status=status,
        next_attempt_at=verdict.next_attempt_at,
        response_status=result.status,
    )
    if not still_ours:
        return None
    succeeded = verdict.outcome is schedule.Outcome.succeeded
    await repository.add_attempt(
        session,
        {
            "id": uuid.uuid4(),
            "org_id": claim.org_id,
            "delivery_id": claim.delivery_id,
            "endpoint_id": claim.endpoint_id,
            "attempt": claim.attempt,
            "at": now,
            "succeeded": succeeded,
            "response_status": result.status,
            "response_body": _clean(result.body, RESPONSE_BODY_MAX),
            "error": _clean(result.error, ERROR_MAX),
            "duration_ms": result.duration_ms,
            "next_attempt_at": verdict.next_attempt_at,
        },
    )
    failing_since = await repository.mark_endpoint_result(
        session, claim.org_id, claim.endpoint_id, succeeded=succeeded, now=now
    )
    if verdict.disable_endpoint:
        await _disable(session, claim, "the receiver answered 410 Gone", now)
    elif not succeeded and schedule.failing_too_long(failing_since, now):
        await _disable(session, claim, "no successful delivery for 5 days", now)
    return verdict


async def _disable(session: AsyncSession, claim: Claim, reason: str, now: datetime) -> None:
    if not await repository.disable_endpoint(session, claim.org_id, claim.endpoint_id, reason):
        return  # disabled already: its admins were told then
    await repository.fail_pending(session, claim.org_id, claim.endpoint_id)
    for admin_id in sorted(
        await user_service.active_ids_with_role(session, claim.org_id, Role.admin)
    ):
        await notifications.notify(
            session,
            org_id=claim.org_id,
            user_id=admin_id,
            type="webhook_endpoint_disabled",
            title={"zh": "Webhook 端点已停用", "en": "Webhook endpoint disabled"},
            body={
                "zh": f"已停止向 {claim.url} 发送 webhook：{_REASONS_ZH.get(reason, reason)}。"
                "修复接收端后，请在管理后台重新启用该端点，并重发失败的投递。",
                "en": f"Webhooks to {claim.url} are no longer sent: {reason}. Fix the receiver, "
                "then enable the endpoint again in the admin console and redeliver what failed.",
            },
            subject_type="webhook_endpoint",
            subject_id=claim.endpoint_id,
            now=now,
        )


_REASONS_ZH = {
    "the receiver answered 410 Gone": "接收端返回 410 Gone",
    "no successful delivery for 5 days": "连续 5 天投递失败",
}
