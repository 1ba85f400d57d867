import asyncio
import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db import session_scope
from backend.kit.time import utc_now
from backend.models import Event, Visit
from tests.factories.stores import STORE_LAT
from tests.factories.visits import Field, iso, north
from tests.factories.world import World


def flag_codes(visit: dict[str, Any]) -> set[str]:
    return {flag["code"] for flag in visit["trust"]["flags"]}


async def visit_count(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with session_scope(sessionmaker) as session:
        return int(await session.scalar(select(func.count()).select_from(Visit)) or 0)


async def test_honest_check_in(field: Field) -> None:
    store = await field.store()
    response = await field.check_in(field.check_in_body(store, lat=north(20)))
    assert response.status_code == 201, response.text
    visit = response.json()
    assert visit["status"] == "open"
    assert visit["store"]["id"] == store["id"]
    assert visit["rep"]["id"] == str(field.org.rep.id)
    assert visit["trust"] == {"score": 100, "flags": []}
    assert visit["check_in"]["distance_m"] == pytest.approx(20, abs=1)
    assert visit["server_time"].endswith("Z")
    fetched = await field.client.get(f"/api/v1/visits/{visit['id']}", headers=field.org.rep.headers)
    assert fetched.json()["checked_in_at"] == visit["checked_in_at"]


async def test_forged_rotated_and_foreign_codes_make_no_visit(
    field: Field, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    store = await field.store()
    other = await world.org()
    foreign_store = await Field(field.client, other).store()
    body = field.check_in_body(store)
    token = store["qr_url"].rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    rotated = await field.client.post(
        f"/api/v1/stores/{store['id']}/qr/rotate", headers=field.org.admin.headers
    )
    assert rotated.status_code == 200
    for qr in (forged, token[:10], store["qr_url"], foreign_store["qr_url"], "hello"):
        response = await field.check_in({**body, "id": str(uuid.uuid4()), "qr": qr})
        assert response.status_code == 422, (qr, response.text)
        assert response.json()["code"] == "invalid_qr"
    assert await visit_count(sessionmaker) == 0
    fresh = await field.check_in({**body, "qr": rotated.json()["qr_url"]})
    assert fresh.status_code == 201


async def test_geofence_edges_online_and_offline(field: Field) -> None:
    store = await field.store(geofence_radius_m=150)
    at_edge = field.check_in_body(store, lat=north(250), accuracy_m=100)
    accepted = await field.check_in(at_edge)
    assert accepted.status_code == 201, accepted.text
    await field.abandon(accepted.json()["id"], "test")
    beyond = field.check_in_body(store, lat=north(251), accuracy_m=100)
    refused = await field.check_in(beyond)
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["code"] == "outside_geofence"
    assert problem["radius_m"] == 150
    assert problem["accuracy_m"] == 100
    assert problem["distance_m"] == pytest.approx(251, abs=0.2)

    offline = await field.check_in({**beyond, "queued_offline": True})
    assert offline.status_code == 201
    assert flag_codes(offline.json()) == {"outside_geofence", "queued_offline", "repeat_same_day"}


async def test_low_accuracy_is_flagged(field: Field) -> None:
    store = await field.store()
    response = await field.check_in(field.check_in_body(store, accuracy_m=150))
    assert response.status_code == 201
    assert "low_accuracy" in flag_codes(response.json())


@pytest.mark.parametrize("skew", [timedelta(hours=2), timedelta(days=-1)])
async def test_wrong_phone_clock_on_an_offline_check_in_is_corrected(
    field: Field, skew: timedelta
) -> None:
    store = await field.store()
    truth = utc_now() - timedelta(minutes=40)
    body = field.check_in_body(
        store,
        captured_at=truth + skew,
        device_time=utc_now() + skew,
        queued_offline=True,
    )
    response = await field.check_in(body)
    assert response.status_code == 201, response.text
    visit = response.json()
    from datetime import datetime

    checked_in_at = datetime.fromisoformat(visit["checked_in_at"])
    assert abs((checked_in_at - truth).total_seconds()) < 5
    assert "clock_skew" in flag_codes(visit)
    assert visit["check_in"]["clock_offset_s"] == pytest.approx(-skew.total_seconds(), abs=5)


async def test_fifty_km_in_ten_minutes_is_impossible_travel(field: Field) -> None:
    far = await field.store(lat=north(-50_000))
    near = await field.store()
    first = field.check_in_body(
        far, captured_at=utc_now() - timedelta(minutes=10), queued_offline=True
    )
    response = await field.check_in(first)
    assert response.status_code == 201
    assert "impossible_travel" not in flag_codes(response.json())
    await field.abandon(response.json()["id"], "next store")
    second = await field.check_in(field.check_in_body(near))
    assert second.status_code == 201
    assert "impossible_travel" in flag_codes(second.json())


async def test_one_open_visit_per_rep(field: Field) -> None:
    store = await field.store()
    first = await field.check_in(field.check_in_body(store))
    elsewhere = await field.store(name="老百姓大药房（学院路店）")
    second = await field.check_in(field.check_in_body(elsewhere))
    assert second.status_code == 409
    assert second.json()["code"] == "visit_already_open"
    assert second.json()["visit_id"] == first.json()["id"]
    # The refusal says where the open visit is, so the app can offer to continue it there.
    assert second.json()["store"] == {"id": store["id"], "name": "益丰大药房（文三路店）"}
    assert "益丰大药房（文三路店）" in second.json()["detail"]
    # Another rep is not blocked.
    other = await field.check_in(field.check_in_body(store), field.org.other_rep)
    assert other.status_code == 201


async def test_replay_returns_the_same_visit_and_a_changed_body_conflicts(field: Field) -> None:
    store = await field.store()
    body = field.check_in_body(store)
    first = await field.check_in(body)
    again = await field.check_in(body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["checked_in_at"] == first.json()["checked_in_at"]
    changed = {**body, "position": {**body["position"], "lat": north(5)}}
    conflict = await field.check_in(changed)
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "conflict"
    # Another rep replaying my id cannot take it over.
    stolen = await field.check_in(body, field.org.other_rep)
    assert stolen.status_code == 409


async def test_a_retry_with_a_fresh_send_time_is_the_same_check_in(
    field: Field, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """device_time is the phone's clock at each send: a retry hours later carries a new one, and
    one first answered online may come back from the outbox marked queued_offline."""
    store = await field.store()
    body = field.check_in_body(store)
    first = await field.check_in(body)
    assert first.status_code == 201, first.text
    later = iso(utc_now() + timedelta(hours=3))
    for retry in (
        {**body, "device_time": later},
        {**body, "device_time": later, "queued_offline": True},
        {**body, "qr": store["qr_url"].rsplit("/", 1)[1]},  # the bare token: the same code
    ):
        again = await field.check_in(retry)
        assert again.status_code == 200, again.text
        assert again.json()["id"] == first.json()["id"]
        assert again.json()["checked_in_at"] == first.json()["checked_in_at"]
        assert again.json()["check_in"] == first.json()["check_in"]
        assert again.json()["trust"] == first.json()["trust"]
    assert await visit_count(sessionmaker) == 1
    async with session_scope(sessionmaker) as session:
        events = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "visit.checked_in")
        )
    assert events == 1


@pytest.mark.parametrize(
    "change",
    [
        {"lat": north(5)},
        {"lng": 120.1266},
        {"accuracy_m": 16.0},
        {"captured_at": iso(utc_now() - timedelta(minutes=1))},
    ],
)
async def test_a_retry_that_moved_the_fix_is_another_check_in(
    field: Field, change: dict[str, Any]
) -> None:
    store = await field.store()
    body = field.check_in_body(store)
    assert (await field.check_in(body)).status_code == 201
    moved = {**body, "position": {**body["position"], **change}}
    conflict = await field.check_in(moved)
    assert conflict.status_code == 409, conflict.text
    assert conflict.json()["code"] == "conflict"


async def test_a_check_in_recorded_before_the_send_time_left_the_fingerprint_replays(
    field: Field, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Rows written when the fingerprint covered the whole body are matched by their locked
    store, position and capture time, so a queued retry from then is not stuck as a conflict."""
    store = await field.store()
    body = field.check_in_body(store)
    first = await field.check_in(body)
    legacy = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).digest()
    async with session_scope(sessionmaker) as session:
        # The column is locked by a trigger; replica mode lets the test write an old row.
        await session.execute(text("SET LOCAL session_replication_role = replica"))
        await session.execute(
            text("UPDATE visits SET check_in_fingerprint = :f WHERE id = :id"),
            {"f": legacy, "id": uuid.UUID(first.json()["id"])},
        )
    retry = {**body, "device_time": iso(utc_now() + timedelta(hours=5)), "queued_offline": True}
    again = await field.check_in(retry)
    assert again.status_code == 200, again.text
    assert again.json()["checked_in_at"] == first.json()["checked_in_at"]
    moved = {**retry, "position": {**body["position"], "lat": north(5)}}
    assert (await field.check_in(moved)).status_code == 409
    # Another rep sending the same body never gets my visit.
    assert (await field.check_in(body, field.org.other_rep)).status_code == 409


async def test_replay_storm_makes_one_visit(
    field: Field, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    store = await field.store()
    body = field.check_in_body(store)
    gate = asyncio.Semaphore(20)

    async def send() -> int:
        async with gate:
            return (await field.check_in(body)).status_code

    statuses = await asyncio.gather(*(send() for _ in range(200)))
    assert sorted(set(statuses)) == [200, 201]
    assert statuses.count(201) == 1
    assert await visit_count(sessionmaker) == 1


async def test_concurrent_check_ins_by_one_rep_open_one_visit(
    field: Field, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Twenty different check-ins at once: the unique index settles the race, not the read."""
    stores = [await field.store() for _ in range(4)]
    bodies = [field.check_in_body(stores[i % 4]) for i in range(20)]
    responses = await asyncio.gather(*(field.check_in(body) for body in bodies))
    created = [r for r in responses if r.status_code == 201]
    assert len(created) == 1
    winner = created[0].json()["id"]
    refused = [r for r in responses if r.status_code != 201]
    assert {r.status_code for r in refused} == {409}
    assert {r.json()["code"] for r in refused} == {"visit_already_open"}
    assert {r.json()["visit_id"] for r in refused} == {winner}
    assert await visit_count(sessionmaker) == 1
    async with session_scope(sessionmaker) as session:
        events = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "visit.checked_in")
        )
    assert events == 1


async def test_the_check_in_answer_is_the_stored_visit(field: Field) -> None:
    """The check-in answers from what it wrote; reading the visit back must agree."""
    store = await field.store()
    body = field.check_in_body(store, lat=north(30), accuracy_m=150, queued_offline=True)
    created = await field.check_in(body)
    assert created.status_code == 201
    stored = await field.client.get(
        f"/api/v1/visits/{created.json()['id']}", headers=field.org.rep.headers
    )
    assert stored.status_code == 200
    mine, theirs = created.json(), stored.json()
    assert mine.pop("server_time") and theirs.pop("server_time")
    assert mine == theirs
    assert mine["form"]["fields"], "the pinned form is part of the answer"
    assert {"low_accuracy", "queued_offline"} <= flag_codes(mine)


async def test_the_database_refuses_changes_to_the_check_in(
    field: Field, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    store = await field.store()
    visit_id = (await field.check_in(field.check_in_body(store))).json()["id"]
    for column, value in (
        ("checked_in_at", "now() - interval '1 day'"),
        ("check_in_lat", "0"),
        ("store_id", "gen_random_uuid()"),
        ("customer_type", "'clinic'"),
        ("form_version", "99"),
    ):
        with pytest.raises(DBAPIError, match="locked"):
            async with session_scope(sessionmaker) as session:
                await session.execute(
                    text(f"UPDATE visits SET {column} = {value} WHERE id = :id"),  # noqa: S608
                    {"id": visit_id},
                )
    async with session_scope(sessionmaker) as session:
        await session.execute(
            text("UPDATE visits SET trust_score = 90 WHERE id = :id"), {"id": visit_id}
        )


async def test_abandon_by_the_rep_with_a_reason(field: Field) -> None:
    store = await field.store()
    visit_id = (await field.check_in(field.check_in_body(store))).json()["id"]
    other = await field.abandon(visit_id, "x", field.org.other_rep)
    assert other.status_code == 404
    missing_reason = await field.abandon(visit_id, " ")
    assert missing_reason.status_code == 422
    done = await field.abandon(visit_id, "店门关闭")
    assert done.status_code == 200
    assert done.json()["status"] == "abandoned"
    assert done.json()["abandon_reason"] == "店门关闭"
    again = await field.abandon(visit_id, "other")
    assert again.status_code == 409
    assert again.json()["code"] == "visit_not_open"
    # After abandoning, a new visit can start.
    assert (await field.check_in(field.check_in_body(store))).status_code == 201


async def test_check_in_writes_an_event(
    field: Field, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    store = await field.store()
    visit_id = (await field.check_in(field.check_in_body(store))).json()["id"]
    async with session_scope(sessionmaker) as session:
        types = (
            await session.scalars(select(Event.type).where(Event.subject_id == uuid.UUID(visit_id)))
        ).all()
    assert types == ["visit.checked_in"]
    async with session_scope(sessionmaker) as session:
        event = await session.scalar(select(Event).where(Event.subject_id == uuid.UUID(visit_id)))
    assert event is not None
    assert event.subject_type == "visit"
    assert event.actor_id == field.org.rep.id
    assert event.payload == {"store_id": store["id"], "trust_score": 100, "flags": []}


async def test_only_reps_check_in(field: Field) -> None:
    store = await field.store()
    response = await field.check_in(field.check_in_body(store), field.org.supervisor)
    assert response.status_code == 403
    assert STORE_LAT
