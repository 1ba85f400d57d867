"""The check-in: the visit starts at the store's door with its position and time locked.

This is the field app's hot path, so it is written as two SQL statements on a plain asyncpg
connection instead of a dozen ORM round trips (docs/architecture.md, "The check-in hot path"):
one reads everything the rules need, the other inserts the visit and its event together; both
live in the visits repository and answer with typed facts. The door's rules (code, geofence,
clock, presence flags) are the door check's, ``backend.presence.rules``. The insert is a single
statement, so it is atomic without a transaction of its own. A replay, or a
concurrent check-in that loses the race to the unique indexes, is read back through the ORM
session, which the first-time check-in never opens.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from backend.auth.exceptions import AccessChanged
from backend.auth.principal import Principal, is_current
from backend.config import Settings
from backend.db import SqlConnection
from backend.errors import Forbidden
from backend.events.catalog import VisitCheckedIn
from backend.forms import service as form_service
from backend.forms.definitions import FormVersion
from backend.models.user import Role
from backend.models.visit import Visit, VisitStatus
from backend.presence import rules as door
from backend.stores.qr import QrToken
from backend.visits import repository, rules
from backend.visits.exceptions import VisitAlreadyOpen, VisitIdConflict
from backend.visits.repository import CheckInContext, CheckInKey, Recorded
from backend.visits.schemas import CheckInRequest
from backend.visits.service import VisitView

# What the rep did at the door (DESIGN §4, §6): backend.presence.rules.arrival_fingerprint.
_FINGERPRINT_DOMAIN = b"doorstep-check-in-v2\x00"


def fingerprint(data: CheckInRequest, token: QrToken | None) -> bytes:
    """SHA-256 of what the rep did; ``token`` is ``door.scanned_token(data.qr)``."""
    return door.arrival_fingerprint(_FINGERPRINT_DOMAIN, data.id, data, token)


@dataclass(frozen=True)
class Replay:
    """The check-in was already recorded: answer with the stored visit."""

    visit_id: uuid.UUID


async def check_in(
    connection: SqlConnection,
    settings: Settings,
    principal: Principal,
    data: CheckInRequest,
    server_received_at: datetime,
) -> VisitView | Replay:
    """Start a visit at the store whose door code was scanned, as received at
    ``server_received_at`` (the boundary's clock): the new visit, or ``Replay``.

    Two statements (``repository.CONTEXT_SQL``, ``repository.INSERT_SQL``); each commits on its
    own unless a transaction is open on ``connection``. The door's rules are the door check's
    (backend.presence.rules), as an audit tour's start applies them.
    """
    if principal.role != Role.rep:
        raise Forbidden("Only reps check in to visits.")
    arrival = door.arrive(data, server_received_at)
    key = CheckInKey(data.id, principal.org_id, principal.user_id, fingerprint(data, arrival.token))
    context = await _context(connection, settings, principal, key, arrival)
    replay = await _replay_or_refuse(connection, key, data, arrival.token, context.recorded)
    if replay is not None:
        return replay

    at_door = door.door_check(
        settings.secret,
        arrival,
        context.store,
        context.org_keys,
        context.previous,
        context.same_store_same_day,
    )
    form = await _form(connection, principal.org_id, context.form_id)
    visit = _new_visit(key, data, server_received_at, at_door, form)
    if not await _insert(connection, visit, at_door.flags):
        # Lost a race: the same check-in replayed concurrently, or another visit opened.
        raced = await repository.recorded(connection, key)
        replay = await _replay_or_refuse(connection, key, data, arrival.token, raced)
        if replay is not None:
            return replay
        raise VisitAlreadyOpen(data.id)  # the other open visit was closed meanwhile
    # A new visit has no photos, reviews or next action yet: nothing more to load.
    return VisitView(visit, at_door.store, context.rep, form=form)


async def _context(
    connection: SqlConnection,
    settings: Settings,
    principal: Principal,
    key: CheckInKey,
    arrival: door.Arrival,
) -> CheckInContext:
    """Everything the check-in's rules need, in one read."""
    checked_in_at = arrival.time.checked_in_at
    context = await repository.check_in_context(
        connection,
        key,
        arrival.token.store_id if arrival.token else None,
        checked_in_at,
        _local_day(settings, checked_in_at),
    )
    # The per-request access check (backend.auth.dependencies.get_principal), folded into
    # this read: the route takes the token's word only up to here.
    if context is None or not is_current(principal, context.rep.access):
        raise AccessChanged()
    return context


def _new_visit(
    key: CheckInKey,
    data: CheckInRequest,
    server_received_at: datetime,
    at_door: door.AtDoor[door.DoorStore],
    form: FormVersion | None,
) -> Visit:
    position, store, flags = data.position, at_door.store, at_door.flags
    return Visit(
        id=key.visit_id,
        org_id=key.org_id,
        store_id=store.id,
        rep_id=key.rep_id,
        status=VisitStatus.open,
        checked_in_at=at_door.time.checked_in_at,
        check_in_lat=position.lat,
        check_in_lng=position.lng,
        check_in_accuracy_m=position.accuracy_m,
        check_in_distance_m=round(at_door.fence.distance_m, 1),
        captured_at=position.captured_at,
        device_time=data.device_time,
        server_received_at=server_received_at,
        clock_offset_s=at_door.time.clock_offset.total_seconds(),
        queued_offline=data.queued_offline,
        check_in_fingerprint=key.fingerprint,
        customer_type=store.customer_type,
        form_version=form.version if form else None,
        submit_count=0,
        trust_score=rules.trust_score(flags),
        flags=[flag.as_dict() for flag in flags],
    )


async def _replay_or_refuse(
    connection: SqlConnection,
    key: CheckInKey,
    data: CheckInRequest,
    token: QrToken | None,
    recorded: Recorded,
) -> Replay | None:
    """A replayed check-in; 409 for a reused id or another open visit; else None."""
    if recorded.same is not None:
        if not recorded.same and not await _same_as_stored(connection, key, data, token):
            raise VisitIdConflict()
        return Replay(data.id)
    if recorded.open_visit is not None:
        raise VisitAlreadyOpen(recorded.open_visit.id, recorded.open_visit.store)
    return None


async def _same_as_stored(
    connection: SqlConnection, key: CheckInKey, data: CheckInRequest, token: QrToken | None
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
    return await repository.same_as_stored(
        connection,
        key,
        token.store_id,
        position.lat,
        position.lng,
        position.accuracy_m,
        position.captured_at,
    )


async def _form(
    connection: SqlConnection, org_id: uuid.UUID, form_id: uuid.UUID | None
) -> FormVersion | None:
    """The customer type's current form, which the visit pins (None for a type without one)."""
    if form_id is None:
        return None
    return await form_service.form_version_by_id(connection, org_id, form_id)


async def _insert(connection: SqlConnection, visit: Visit, flags: list[rules.Flag]) -> bool:
    """Insert the visit with its ``visit.checked_in`` event; False if a unique index refused it."""
    event = VisitCheckedIn(
        store_id=visit.store_id, trust_score=visit.trust_score, flags=[f.code for f in flags]
    )
    return await repository.insert_check_in(connection, visit, event, uuid.uuid4())


def _local_day(settings: Settings, at: datetime) -> tuple[datetime, datetime]:
    local = at.astimezone(ZoneInfo(settings.timezone))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)
