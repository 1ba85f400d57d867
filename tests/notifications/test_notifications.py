import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db import session_scope
from backend.kit.time import utc_now
from backend.models import Notification
from backend.notifications import service
from tests.factories.world import Actor, World

BASE = "/api/v1/notifications"


async def _notify(
    sessionmaker: async_sessionmaker[AsyncSession], actor: Actor, n: int = 1
) -> list[Notification]:
    out = []
    async with session_scope(sessionmaker) as session:
        for i in range(n):
            out.append(
                await service.notify(
                    session,
                    org_id=actor.org_id,
                    user_id=actor.id,
                    type="visit.rejected",
                    title={"zh": f"拜访被退回 {i}", "en": f"Visit rejected {i}"},
                    body={"zh": "照片不清晰", "en": "The photos are blurred"},
                    subject_type="visit",
                    subject_id=uuid.uuid4(),
                    now=utc_now(),
                )
            )
    return out


async def test_own_inbox_newest_first_with_unread_count_and_pages(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    org = await world.org()
    sent = await _notify(sessionmaker, org.rep, 3)
    await _notify(sessionmaker, org.other_rep)
    first = await client.get(BASE, params={"limit": 2}, headers=org.rep.headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert [n["id"] for n in body["items"]] == [str(sent[2].id), str(sent[1].id)]
    assert body["unread_count"] == 3 and body["server_time"].endswith("Z")
    item = body["items"][0]
    assert item["title"] == {"zh": "拜访被退回 2", "en": "Visit rejected 2"}
    assert item["subject_type"] == "visit" and item["read_at"] is None
    rest = await client.get(
        BASE, params={"limit": 2, "cursor": body["next_cursor"]}, headers=org.rep.headers
    )
    assert [n["id"] for n in rest.json()["items"]] == [str(sent[0].id)]
    assert rest.json()["next_cursor"] is None


async def test_mark_read_and_unread_filter(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    org = await world.org()
    first, second = await _notify(sessionmaker, org.rep, 2)
    response = await client.post(f"{BASE}/{first.id}/read", headers=org.rep.headers)
    assert response.status_code == 200, response.text
    read_at = response.json()["read_at"]
    assert read_at is not None
    again = await client.post(f"{BASE}/{first.id}/read", headers=org.rep.headers)
    assert again.json()["read_at"] == read_at  # the first read time is kept
    unread = (await client.get(BASE, params={"unread": "true"}, headers=org.rep.headers)).json()
    assert [n["id"] for n in unread["items"]] == [str(second.id)]
    assert unread["unread_count"] == 1
    everything = (await client.get(BASE, headers=org.rep.headers)).json()
    assert len(everything["items"]) == 2


async def test_someone_elses_notification_is_404(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    org = await world.org()
    stranger = await world.org()
    (mine,) = await _notify(sessionmaker, org.rep)
    for actor in (org.other_rep, org.admin, org.supervisor, stranger.admin):
        response = await client.post(f"{BASE}/{mine.id}/read", headers=actor.headers)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        listed = (await client.get(BASE, headers=actor.headers)).json()
        assert listed["items"] == [] and listed["unread_count"] == 0
    assert (
        await client.post(f"{BASE}/{uuid.uuid4()}/read", headers=org.rep.headers)
    ).status_code == 404


async def test_bad_input_is_4xx(client: httpx.AsyncClient, world: World) -> None:
    org = await world.org()
    assert (await client.get(BASE)).status_code == 401
    for params in ({"unread": "maybe"}, {"cursor": "%%%"}, {"limit": "201"}, {"cursor": "WzFd"}):
        response = await client.get(BASE, params=params, headers=org.rep.headers)
        assert response.status_code == 422, (params, response.text)
    assert (await client.post(f"{BASE}/x/read", headers=org.rep.headers)).status_code == 422


async def test_one_language_is_filled_from_the_other(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    org = await world.org()
    async with session_scope(sessionmaker) as session:
        note = await service.notify(
            session,
            org_id=org.id,
            user_id=org.rep.id,
            type="test",
            title={"en": "Only English"},
            body={"zh": "只有中文"},
            subject_type="visit",
            subject_id=uuid.uuid4(),
            now=utc_now(),
        )
    assert note.title == {"zh": "Only English", "en": "Only English"}
    assert note.body == {"zh": "只有中文", "en": "只有中文"}
