"""The check-in: the visit starts at the store's door with its position and time locked.

This is the field app's hot path, so it is written as two SQL statements on a plain asyncpg
connection instead of a dozen ORM round trips (docs/architecture.md, "The check-in hot path"):
one reads everything the rules need, the other inserts the visit and its event together. The
insert is a single statement, so it is atomic without a transaction of its own. A replay, or a
concurrent check-in that loses the race to the unique indexes, is read back through the ORM
session, which the first-time check-in never opens.
"""

import hashlib
import json
import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from backend.auth.exceptions import AccessChanged
from backend.auth.principal import Principal, UserAccess, is_current
from backend.config import Settings
from backend.db import SqlConnection
from backend.errors import Forbidden
from backend.forms import service as form_service
from backend.forms.definitions import FormVersion
from backend.kit.time import utc_now
from backend.models import Organization, Store, User
from backend.models.user import Role
from backend.models.visit import Visit, VisitStatus
from backend.stores import service as store_service
from backend.stores.qr import QrToken
from backend.visits import rules
from backend.visits.exceptions import (
    OpenVisitStore,
    OutsideGeofence,
    VisitAlreadyOpen,
    VisitIdConflict,
)
from backend.visits.schemas import CheckInRequest
from backend.visits.service import VisitView

CHECKED_IN_EVENT = "visit.checked_in"

# $1 visit id, $2 org, $3 rep, $4 the check-in's fingerprint. `replay` is NULL when the id is
# new, true for the same check-in again, false for another check-in or another rep's visit.
# `open_visit` is the rep's open visit as text [visit id, store id, store name] (the partial
# unique index finds it; its store by primary key), or NULL.
_REPLAY = """
    (SELECT v.org_id = $2 AND v.rep_id = $3 AND v.check_in_fingerprint = $4
       FROM visits v WHERE v.id = $1) AS replay,
    (SELECT ARRAY[v.id::text, o.id::text, o.name] FROM visits v
       JOIN stores o ON o.org_id = v.org_id AND o.id = v.store_id
      WHERE v.org_id = $2 AND v.rep_id = $3 AND v.status = 'open') AS open_visit
"""

REPLAY_SQL = f"SELECT {_REPLAY}"

# ... and $5 the code's store, $6 the corrected check-in time, $7..$8 that local day. One row
# for the rep; the store, its org and its current form are NULL when the code names no store
# of the rep's org.
CONTEXT_SQL = f"""
SELECT
    {_REPLAY},
    u.username, u.display_name, u.role, u.is_active, u.access_epoch,
    s.id AS store_id, s.code, s.name, s.address, s.lat, s.lng, s.geofence_radius_m,
    s.customer_type, s.qr_version,
    o.signing_secret, o.signing_key_version,
    f.id AS form_id,
    p.check_in_lat AS previous_lat, p.check_in_lng AS previous_lng,
    p.checked_in_at AS previous_at,
    EXISTS (
        SELECT 1 FROM visits d
         WHERE d.org_id = $2 AND d.rep_id = $3 AND d.store_id = $5
           AND d.checked_in_at >= $7 AND d.checked_in_at < $8
    ) AS same_store_same_day
FROM users u
LEFT JOIN stores s ON s.org_id = u.org_id AND s.id = $5
LEFT JOIN organizations o ON o.id = s.org_id
LEFT JOIN LATERAL (
    SELECT f.id FROM visit_forms f
     WHERE f.org_id = s.org_id AND f.customer_type = s.customer_type
     ORDER BY f.version DESC LIMIT 1
) f ON true
LEFT JOIN LATERAL (
    SELECT p.check_in_lat, p.check_in_lng, p.checked_in_at FROM visits p
     WHERE p.org_id = $2 AND p.rep_id = $3 AND p.checked_in_at <= $6
     ORDER BY p.checked_in_at DESC LIMIT 1
) p ON true
WHERE u.org_id = $2 AND u.id = $3
"""  # noqa: S608 (built from constant fragments only)

# The visit and its event in one statement: both are written or neither. ON CONFLICT covers the
# primary key (a replay racing this one) and the one-open-visit-per-rep index. JSON goes in as
# text, so the statement works whatever jsonb codec the connection has.
INSERT_SQL = """
WITH visit AS (
    INSERT INTO visits (
        id, org_id, store_id, rep_id, status, checked_in_at,
        check_in_lat, check_in_lng, check_in_accuracy_m, check_in_distance_m,
        captured_at, device_time, server_received_at, clock_offset_s, queued_offline,
        check_in_fingerprint, customer_type, form_version, submit_count, trust_score, flags
    )
    VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
            0, $18, $19::text::jsonb)
    ON CONFLICT DO NOTHING
    RETURNING id
), event AS (
    INSERT INTO events (id, org_id, type, subject_type, subject_id, actor_id, payload)
    SELECT $20, $2, $21, 'visit', visit.id, $4, $22::text::jsonb FROM visit
)
SELECT count(*) FROM visit
"""


# What the rep did at the door (DESIGN §4, §6), and so what tells a replay from another
# check-in with the same id: the id, the door code scanned, the position fix and when it was
# captured. Not ``device_time``, the phone's clock when this attempt was sent (a retry after
# hours offline sends a fresh one), and not ``queued_offline`` (a check-in whose first answer
# was lost is re-sent from the outbox marked queued). docs/trust.md, "Replays".
_FINGERPRINT_DOMAIN = b"doorstep-check-in-v2\x00"
_POSITION = struct.Struct(">dddq")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def fingerprint(data: CheckInRequest, token: QrToken | None) -> bytes:
    """SHA-256 of what the rep did; ``token`` is ``store_service.scanned_token(data.qr)``, so
    the bare token and the whole scanned URL are the same code."""
    position = data.position
    code = (
        b"t" + token.signed_part + token.mac
        if token is not None
        else b"r" + data.qr.encode("utf-8", "surrogatepass")  # no token in it: never a visit
    )
    captured_us = (position.captured_at - _EPOCH) // _MICROSECOND
    return hashlib.sha256(
        b"".join(
            (
                _FINGERPRINT_DOMAIN,
                data.id.bytes,
                len(code).to_bytes(4, "big"),
                code,
                # + 0.0 makes -0.0 and 0.0 one value, as the stored column has them.
                _POSITION.pack(
                    position.lat + 0.0, position.lng + 0.0, position.accuracy_m + 0.0, captured_us
                ),
            )
        )
    ).digest()


@dataclass(frozen=True)
class Replay:
    """The check-in was already recorded: answer with the stored visit."""

    visit_id: uuid.UUID


async def check_in(
    connection: SqlConnection, settings: Settings, principal: Principal, data: CheckInRequest
) -> VisitView | Replay:
    """Start a visit at the store whose door code was scanned: the new visit, or ``Replay``.

    Each statement on ``connection`` commits on its own unless a transaction is open on it.
    """
    if principal.role != Role.rep:
        raise Forbidden("Only reps check in to visits.")
    token = store_service.scanned_token(data.qr)
    digest = fingerprint(data, token)
    server_received_at = utc_now()
    timing = rules.check_in_time(data.position.captured_at, data.device_time, server_received_at)
    row = await _context(connection, settings, principal, data.id, digest, token, timing)
    replay = await _replay_or_refuse(connection, principal, data, token, row)
    if replay is not None:
        return replay

    store = store_service.verified_store(settings, token, *_store_and_org(principal, row))
    fence = _fence_or_refuse(store, data)
    flags = _flags(data, fence, timing, row)
    form = await _form(connection, principal.org_id, row["form_id"])
    visit = _new_visit(principal, store, data, digest, server_received_at, timing, fence, form)
    visit.trust_score, visit.flags = rules.trust_score(flags), [f.as_dict() for f in flags]
    if not await _insert(connection, visit, [flag.code for flag in flags]):
        # Lost a race: the same check-in replayed concurrently, or another visit opened.
        raced = await connection.fetchrow(
            REPLAY_SQL, data.id, principal.org_id, principal.user_id, digest
        )
        replay = await _replay_or_refuse(connection, principal, data, token, raced)
        if replay is not None:
            return replay
        raise VisitAlreadyOpen(data.id)  # the other open visit was closed meanwhile
    rep = User(
        id=principal.user_id,
        org_id=principal.org_id,
        username=row["username"],
        display_name=row["display_name"],
    )
    # A new visit has no photos, reviews or next action yet: nothing more to load.
    return VisitView(visit, store, rep, form=form)


async def _context(
    connection: SqlConnection,
    settings: Settings,
    principal: Principal,
    visit_id: uuid.UUID,
    digest: bytes,
    token: QrToken | None,
    timing: rules.CheckInTime,
) -> asyncpg.Record:
    """One row of everything the check-in's rules need (``CONTEXT_SQL``)."""
    day_start, day_end = _local_day(settings, timing.checked_in_at)
    row = await connection.fetchrow(
        CONTEXT_SQL,
        visit_id,
        principal.org_id,
        principal.user_id,
        digest,
        token.store_id if token else None,
        timing.checked_in_at,
        day_start,
        day_end,
    )
    # The per-request access check (backend.auth.dependencies.get_principal), folded into
    # this read: the route takes the token's word only up to here.
    if row is None or not is_current(
        principal, UserAccess(Role(row["role"]), row["is_active"], row["access_epoch"])
    ):
        raise AccessChanged()
    return row


def _fence_or_refuse(store: Store, data: CheckInRequest) -> rules.Geofence:
    """Where the rep stands against the store's fence; outside is refused unless queued offline
    (a phone that queued it cannot be asked to walk back, so the visit is flagged instead)."""
    position = data.position
    fence = rules.geofence(
        position.lat,
        position.lng,
        position.accuracy_m,
        store.lat,
        store.lng,
        store.geofence_radius_m,
    )
    if not fence.inside and not data.queued_offline:
        raise OutsideGeofence(fence)
    return fence


def _flags(
    data: CheckInRequest, fence: rules.Geofence, timing: rules.CheckInTime, row: asyncpg.Record
) -> list[rules.Flag]:
    previous = (
        rules.PreviousCheckIn(row["previous_lat"], row["previous_lng"], row["previous_at"])
        if row["previous_at"] is not None
        else None
    )
    return rules.check_in_flags(
        rules.CheckInFacts(
            lat=data.position.lat,
            lng=data.position.lng,
            fence=fence,
            time=timing,
            captured_at=data.position.captured_at,
            device_time=data.device_time,
            queued_offline=data.queued_offline,
            previous=previous,
            same_store_same_day=row["same_store_same_day"],
        )
    )


def _new_visit(
    principal: Principal,
    store: Store,
    data: CheckInRequest,
    digest: bytes,
    server_received_at: datetime,
    timing: rules.CheckInTime,
    fence: rules.Geofence,
    form: FormVersion | None,
) -> Visit:
    position = data.position
    return Visit(
        id=data.id,
        org_id=principal.org_id,
        store_id=store.id,
        rep_id=principal.user_id,
        status=VisitStatus.open,
        checked_in_at=timing.checked_in_at,
        check_in_lat=position.lat,
        check_in_lng=position.lng,
        check_in_accuracy_m=position.accuracy_m,
        check_in_distance_m=round(fence.distance_m, 1),
        captured_at=position.captured_at,
        device_time=data.device_time,
        server_received_at=server_received_at,
        clock_offset_s=timing.clock_offset.total_seconds(),
        queued_offline=data.queued_offline,
        check_in_fingerprint=digest,
        customer_type=store.customer_type,
        form_version=form.version if form else None,
        submit_count=0,
    )


async def _replay_or_refuse(
    connection: SqlConnection,
    principal: Principal,
    data: CheckInRequest,
    token: QrToken | None,
    row: asyncpg.Record | None,
) -> Replay | None:
    """A replayed check-in; 409 for a reused id or another open visit; else None."""
    if row is None:
        return None
    if row["replay"] is not None:
        if not row["replay"] and not await _same_as_stored(connection, principal, data, token):
            raise VisitIdConflict()
        return Replay(data.id)
    open_visit = row["open_visit"]
    if open_visit is not None:
        visit_id, store_id, store_name = open_visit
        raise VisitAlreadyOpen(uuid.UUID(visit_id), OpenVisitStore(uuid.UUID(store_id), store_name))
    return None


# The locked columns that hold what the rep did (``fingerprint`` covers the same facts).
SAME_AS_STORED_SQL = """
SELECT v.store_id = $4 AND v.check_in_lat = $5 AND v.check_in_lng = $6
       AND v.check_in_accuracy_m = $7 AND v.captured_at = $8
  FROM visits v WHERE v.id = $1 AND v.org_id = $2 AND v.rep_id = $3
"""


async def _same_as_stored(
    connection: SqlConnection, principal: Principal, data: CheckInRequest, token: QrToken | None
) -> bool:
    """Whether the rep's own visit with this id locked the same store, position and capture
    time, when the fingerprints differ (the rare path, one more read).

    This recognises the check-ins recorded before the fingerprint left out the send-time
    clock (theirs covered the whole body, ``device_time`` included), and a retry that carries
    another code of the same store: the same tap at the same door either way. It only ever
    answers with the rep's own stored visit, never makes or changes one.
    """
    if token is None:
        return False
    position = data.position
    return bool(
        await connection.fetchval(
            SAME_AS_STORED_SQL,
            data.id,
            principal.org_id,
            principal.user_id,
            token.store_id,
            position.lat,
            position.lng,
            position.accuracy_m,
            position.captured_at,
        )
    )


def _store_and_org(
    principal: Principal, row: asyncpg.Record
) -> tuple[Store | None, Organization | None]:
    if row["store_id"] is None:
        return None, None
    store = Store(
        id=row["store_id"],
        org_id=principal.org_id,
        code=row["code"],
        name=row["name"],
        address=row["address"],
        lat=row["lat"],
        lng=row["lng"],
        geofence_radius_m=row["geofence_radius_m"],
        customer_type=row["customer_type"],
        qr_version=row["qr_version"],
    )
    org = Organization(
        id=principal.org_id,
        signing_secret=row["signing_secret"],
        signing_key_version=row["signing_key_version"],
    )
    return store, org


async def _form(
    connection: SqlConnection, org_id: uuid.UUID, form_id: uuid.UUID | None
) -> FormVersion | None:
    """The customer type's current form, which the visit pins (None for a type without one)."""
    if form_id is None:
        return None
    return await form_service.form_version_by_id(connection, org_id, form_id)


async def _insert(connection: SqlConnection, visit: Visit, flag_codes: list[str]) -> bool:
    """Insert the visit with its ``visit.checked_in`` event; False if a unique index refused it."""
    payload: dict[str, Any] = {
        "store_id": str(visit.store_id),
        "trust_score": visit.trust_score,
        "flags": flag_codes,
    }
    inserted = await connection.fetchval(
        INSERT_SQL,
        visit.id,
        visit.org_id,
        visit.store_id,
        visit.rep_id,
        visit.checked_in_at,
        visit.check_in_lat,
        visit.check_in_lng,
        visit.check_in_accuracy_m,
        visit.check_in_distance_m,
        visit.captured_at,
        visit.device_time,
        visit.server_received_at,
        visit.clock_offset_s,
        visit.queued_offline,
        visit.check_in_fingerprint,
        visit.customer_type,
        visit.form_version,
        visit.trust_score,
        json.dumps(visit.flags),
        uuid.uuid4(),
        CHECKED_IN_EVENT,
        json.dumps(payload),
    )
    return bool(inserted)


def _local_day(settings: Settings, at: datetime) -> tuple[datetime, datetime]:
    local = at.astimezone(ZoneInfo(settings.timezone))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)
