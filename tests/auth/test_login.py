import httpx

from tests.factories.world import PASSWORD, World


async def test_password_grant_and_me(client: httpx.AsyncClient, world: World) -> None:
    org = await world.org()
    response = await client.get("/api/v1/me", headers=org.rep.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == org.rep.username
    assert body["role"] == "rep"
    assert body["org_id"] == str(org.id)


async def test_unknown_user_and_wrong_password_answer_alike(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org()
    wrong = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": org.rep.username, "password": "nope-nope"},
    )
    unknown = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "nobody-here", "password": PASSWORD},
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.headers["content-type"] == "application/problem+json"
