"""A change to a user cuts the power of the tokens they hold on their next request, on every
replica: two real server processes share one database; the change is made through one and the
old token is refused by the other at once."""

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories.visits import Field
from tests.factories.world import PASSWORD, Org, World
from tests.server import running_server


@pytest.fixture
def replicas(database_url: str, tmp_path: Path) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    with ExitStack() as stack:
        clients = []
        for name in ("a", "b"):
            base_url = stack.enter_context(running_server(database_url, tmp_path / name))
            clients.append(stack.enter_context(httpx.Client(base_url=base_url, timeout=30)))
        yield clients[0], clients[1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign_in(client: httpx.Client, username: str, password: str = PASSWORD) -> dict[str, Any]:
    response = client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def patch_user(client: httpx.Client, org: Org, user_id: object, **changes: object) -> None:
    response = client.patch(f"/api/v1/users/{user_id}", json=changes, headers=org.admin.headers)
    assert response.status_code == 200, response.text


def new_user_body(username: str, role: str) -> dict[str, str]:
    return {"username": username, "display_name": username, "role": role, "password": PASSWORD}


async def test_a_demoted_admin_loses_admin_power_on_the_next_request_on_another_replica(
    world: World, replicas: tuple[httpx.Client, httpx.Client]
) -> None:
    a, b = replicas
    org = await world.org()
    deputy = a.post(
        "/api/v1/users", json=new_user_body("deputy", "admin"), headers=org.admin.headers
    )
    assert deputy.status_code == 201, deputy.text
    tokens = sign_in(b, "deputy")
    old = bearer(tokens["access_token"])
    assert (
        b.post("/api/v1/users", json=new_user_body("ok-1", "rep"), headers=old).status_code == 201
    )

    patch_user(a, org, deputy.json()["id"], role="rep")

    refused = b.post("/api/v1/users", json=new_user_body("backdoor", "admin"), headers=old)
    assert refused.status_code == 401, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "unauthorized"
    assert a.get("/api/v1/me", headers=old).status_code == 401
    # The refresh token still works and speaks for the user as they are now: a rep.
    renewed = b.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert renewed.status_code == 200, renewed.text
    now_rep = bearer(renewed.json()["access_token"])
    assert b.get("/api/v1/me", headers=now_rep).json()["role"] == "rep"
    forbidden = b.post("/api/v1/users", json=new_user_body("backdoor", "admin"), headers=now_rep)
    assert forbidden.status_code == 403
    listed = a.get("/api/v1/users", params={"limit": 200}, headers=org.admin.headers).json()
    assert "backdoor" not in {user["username"] for user in listed["items"]}


async def test_a_deactivated_rep_cannot_check_in_and_their_open_visit_is_abandoned(
    world: World, replicas: tuple[httpx.Client, httpx.Client]
) -> None:
    a, b = replicas
    field = Field(world.client, await world.org())
    org = field.org
    store = await field.store()
    opened = b.post("/api/v1/visits", json=field.check_in_body(store), headers=org.rep.headers)
    assert opened.status_code == 201, opened.text
    second_store = await field.store()

    patch_user(a, org, org.rep.id, is_active=False)

    check_in = b.post(
        "/api/v1/visits", json=field.check_in_body(second_store), headers=org.rep.headers
    )
    assert check_in.status_code == 401, check_in.text
    assert check_in.json()["code"] == "unauthorized"
    assert b.get("/api/v1/me", headers=org.rep.headers).status_code == 401
    visit = a.get(f"/api/v1/visits/{opened.json()['id']}", headers=org.admin.headers).json()
    assert visit["status"] == "abandoned"
    refused = b.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": org.rep.username, "password": PASSWORD},
    )
    assert refused.status_code == 401
    listed = a.get(
        "/api/v1/visits", params={"rep_id": str(org.rep.id)}, headers=org.admin.headers
    ).json()
    assert [v["id"] for v in listed["items"]] == [opened.json()["id"]]


async def test_a_password_reset_refuses_every_older_token_and_the_new_password_works(
    world: World, replicas: tuple[httpx.Client, httpx.Client]
) -> None:
    a, b = replicas
    org = await world.org()
    other_session = sign_in(a, org.other_rep.username)
    assert b.get("/api/v1/me", headers=org.other_rep.headers).status_code == 200

    patch_user(a, org, org.other_rep.id, password="a-brand-new-password")

    for token in (org.other_rep.token, other_session["access_token"]):
        assert b.get("/api/v1/me", headers=bearer(token)).status_code == 401
        assert a.get("/api/v1/next-actions", headers=bearer(token)).status_code == 401
    fresh = sign_in(b, org.other_rep.username, "a-brand-new-password")
    me = a.get("/api/v1/me", headers=bearer(fresh["access_token"]))
    assert me.status_code == 200
    assert me.json()["username"] == org.other_rep.username
    # A change that cuts nothing (the display name) leaves tokens working.
    patch_user(a, org, org.other_rep.id, display_name="小王")
    assert b.get("/api/v1/me", headers=bearer(fresh["access_token"])).status_code == 200
