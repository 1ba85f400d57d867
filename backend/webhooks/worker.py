"""The webhook sender: one loop task per app process, started in the lifespan when the scheduler
is enabled (``backend.main``), safe on N replicas.

Every ``interval`` (0.5 s; sooner when a try ends) it dispatches each followed org's new events
into deliveries, then leases due deliveries, at most one in flight per endpoint across all
replicas (``service.claim_due``), and sends them concurrently, at most ``concurrency`` at once:
a slow or dead endpoint holds one slot for at most the 15 s timeout and never delays another
endpoint's deliveries. APScheduler's interval jobs run per minute; "sent within 2 s of the
commit" needs this sub-second cadence, hence a loop of its own.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.db import session_scope
from backend.kit.time import isoformat_z, utc_now
from backend.webhooks import service, signing, ssrf
from backend.webhooks.repository import Claim
from backend.webhooks.service import RESPONSE_BODY_MAX, SendResult

logger = logging.getLogger(__name__)

INTERVAL_S = 0.5
CONCURRENCY = 16
TIMEOUT_S = 15.0
# Longer than any try (the timeout, plus recording it): a sender that died lets go by then.
LEASE = timedelta(seconds=60)
# Events read per org per statement, and statements per org per tick.
DISPATCH_BATCH = 500
DISPATCH_ROUNDS = 10
USER_AGENT = "Doorstep-Webhooks/1.0"
# Deliveries one slot sends to its endpoint in a row before letting others have it.
CHAIN = 50


def body_of(claim: Claim) -> bytes:
    """The Standard Webhooks body: the same bytes on every try of the delivery."""
    envelope = {
        "type": claim.event_type,
        "timestamp": isoformat_z(claim.occurred_at),
        "data": claim.payload,
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def headers_of(claim: Claim, body: bytes, timestamp: int) -> dict[str, str]:
    msg_id = str(claim.event_id)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_header(claim.secrets, msg_id, timestamp, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


async def _read_capped(response: httpx.Response) -> str:
    kept = bytearray()
    async for chunk in response.aiter_bytes():
        kept.extend(chunk[: RESPONSE_BODY_MAX - len(kept)])
        if len(kept) >= RESPONSE_BODY_MAX:
            break
    return kept.decode("utf-8", errors="replace")


async def _post(
    client: httpx.AsyncClient,
    target: ssrf.Target,
    addresses: list[ssrf.IPAddress],
    headers: dict[str, str],
    body: bytes,
) -> tuple[int, str, str | None]:
    """POST to the first checked address that accepts a connection, naming the host in the Host
    header and (https) in SNI and certificate checks; never following a redirect."""
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    failure: httpx.TransportError | None = None
    for address in addresses:
        request = client.build_request(
            "POST",
            target.url_for(address),
            headers={**headers, "host": target.host_header},
            content=body,
            extensions=extensions,
        )
        try:
            response = await client.send(request, stream=True, follow_redirects=False)
        except httpx.ConnectError as exc:
            failure = exc
            continue
        try:
            text = await _read_capped(response)
        finally:
            await response.aclose()
        return response.status_code, text, response.headers.get("retry-after")
    assert failure is not None
    raise failure


async def send(
    client: httpx.AsyncClient,
    claim: Claim,
    allowed_hosts: tuple[str, ...],
    timeout_s: float = TIMEOUT_S,
) -> SendResult:
    """One try: the SSRF rule on the address actually connected to, then the signed POST."""
    body = body_of(claim)
    headers = headers_of(claim, body, int(time.time()))
    started = time.monotonic()

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        async with asyncio.timeout(timeout_s):
            target = ssrf.parse(claim.url, allowed_hosts)
            addresses = await ssrf.resolve_checked(target)
            status, text, retry_after = await _post(client, target, addresses, headers, body)
    except ssrf.UrlNotAllowed as exc:
        return SendResult(None, None, None, f"refused: {exc}", elapsed_ms())
    except TimeoutError:
        return SendResult(None, None, None, f"no answer within {timeout_s:g} s", elapsed_ms())
    except httpx.HTTPError as exc:
        return SendResult(None, None, None, f"{type(exc).__name__}: {exc}", elapsed_ms())
    return SendResult(status, text, retry_after, None, elapsed_ms())


class WebhookWorker:
    """The dispatcher and sender loop of one process; ``start`` then ``stop``."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        interval_s: float = INTERVAL_S,
        concurrency: int = CONCURRENCY,
        timeout_s: float = TIMEOUT_S,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.allowed_hosts = settings.webhook_allowed_hosts
        self.interval_s = interval_s
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.clock = clock
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._dispatched_at = float("-inf")

    async def start(self) -> None:
        # No keep-alive: connections are made to checked addresses, and a pooled one (verified
        # for one host name) must never carry another host's webhook to the same address.
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout_s),
            limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=0),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: it would connect in our stead
        )
        self._loop = asyncio.create_task(self._run(), name="webhooks")

    async def stop(self) -> None:
        """Stop at once: a try cut short is tried again when its lease runs out."""
        tasks = [t for t in (self._loop, *self._in_flight) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # a database outage, a bug: log it and keep the loop alive
                logger.exception("webhook tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)
            self._wake.clear()

    async def tick(self) -> None:
        # A finished try wakes the loop for its endpoint's next delivery; the feed is read on the
        # interval only, not once per try.
        if time.monotonic() - self._dispatched_at >= self.interval_s:
            self._dispatched_at = time.monotonic()
            await self.dispatch()
        await self.send_due()

    async def dispatch(self) -> int:
        made = 0
        async with session_scope(self.sessionmaker) as session:
            org_ids = await service.followed_orgs(session)
        for org_id in org_ids:
            for _ in range(DISPATCH_ROUNDS):
                async with session_scope(self.sessionmaker) as session:
                    outcome = await service.dispatch_org(
                        session, org_id, self.clock(), DISPATCH_BATCH
                    )
                if outcome is None:
                    break
                made += outcome[0]
                if not outcome[1]:
                    break
        return made

    async def send_due(self) -> None:
        free = self.concurrency - len(self._in_flight)
        if free <= 0:
            return
        async with session_scope(self.sessionmaker) as session:
            claims = await service.claim_due(session, self.clock(), free, LEASE)
        for claim in claims:
            task = asyncio.create_task(self._deliver(claim), name=f"webhook:{claim.delivery_id}")
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _deliver(self, claim: Claim) -> None:
        """Send ``claim``, then the endpoint's next due deliveries (up to ``CHAIN``) in the same
        slot; then give the slot back, so endpoints with a backlog take turns."""
        assert self._client is not None
        next_claim: Claim | None = claim
        try:
            for n in range(CHAIN):
                assert next_claim is not None
                current = next_claim
                result = await send(self._client, current, self.allowed_hosts, self.timeout_s)
                async with session_scope(self.sessionmaker) as session:
                    now = self.clock()
                    verdict = await service.record_result(session, current, result, now)
                    next_claim = None
                    if verdict is not None and n + 1 < CHAIN:
                        next_claim = await service.claim_next(session, current, now, LEASE)
                if next_claim is None:
                    break
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("webhook delivery failed", extra={"delivery": str(claim.delivery_id)})
        finally:
            self.wake()  # a slot is free: claim more now, not next tick
