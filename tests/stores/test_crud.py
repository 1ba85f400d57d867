import base64
import uuid

import httpx

from tests.factories.stores import Stores
from tests.factories.world import World


async def test_create_get_patch(client: httpx.AsyncClient, world: World, stores: Stores) -> None:
    org = await world.org()
    store = await stores.create(org, code="SH-001")
    assert store["code"] == "SH-001"
    assert store["org_id"] == str(org.id)
    assert store["geofence_radius_m"] == 150  # the configured default
    assert store["team_id"] is None
    assert store["qr_url"].startswith("https://doorstep.test/q/")
    assert store["created_at"].endswith("Z")

    got = await client.get(f"/api/v1/stores/{store['id']}", headers=org.admin.headers)
    assert got.status_code == 200
    assert got.json() == store
    for actor in (org.rep, org.supervisor):  # the door code is for admins only
        seen = await client.get(f"/api/v1/stores/{store['id']}", headers=actor.headers)
        assert seen.status_code == 200
        assert seen.json() == {**store, "qr_url": None}

    team = await stores.team(org)
    patched = await client.patch(
        f"/api/v1/stores/{store['id']}",
        json={"name": "新名字", "geofence_radius_m": 300, "team_id": team["id"]},
        headers=org.admin.headers,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["name"], body["geofence_radius_m"], body["team_id"]) == ("新名字", 300, team["id"])
    assert body["code"] == "SH-001"
    assert body["qr_url"] == store["qr_url"]  # editing does not change the code

    cleared = await client.patch(
        f"/api/v1/stores/{store['id']}", json={"team_id": None}, headers=org.admin.headers
    )
    assert cleared.json()["team_id"] is None


async def test_other_org_is_404_and_roles(
    client: httpx.AsyncClient, world: World, stores: Stores
) -> None:
    org_a, org_b = await world.org(), await world.org()
    store = await stores.create(org_a)
    url = f"/api/v1/stores/{store['id']}"
    for method, path in (
        ("GET", url),
        ("PATCH", url),
        ("POST", f"{url}/qr/rotate"),
        ("GET", f"{url}/qr.png"),
        ("GET", f"{url}/qr.svg"),
        ("GET", f"{url}/poster.pdf"),
    ):
        kwargs: dict[str, object] = {"json": {"name": "x"}} if method == "PATCH" else {}
        response = await client.request(method, path, headers=org_b.admin.headers, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["code"] == "not_found"
    listed = await client.get("/api/v1/stores", headers=org_b.admin.headers)
    assert listed.json()["items"] == []

    as_rep = await client.patch(url, json={"name": "x"}, headers=org_a.rep.headers)
    assert as_rep.status_code == 403
    rep_create = await client.post(
        "/api/v1/stores",
        json={"code": "X", "name": "x", "lat": 1, "lng": 1, "customer_type": "pharmacy"},
        headers=org_a.rep.headers,
    )
    assert rep_create.status_code == 403
    assert (await client.get(f"{url}/qr.png", headers=org_a.rep.headers)).status_code == 403
    assert (await client.get(f"{url}/qr.png", headers=org_a.supervisor.headers)).status_code == 403
    assert (await client.get(f"{url}/qr.png", headers=org_a.admin.headers)).status_code == 200
    assert (await client.get(url)).status_code == 401


async def test_duplicate_code_is_409(
    client: httpx.AsyncClient, world: World, stores: Stores
) -> None:
    org, other = await world.org(), await world.org()
    first = await stores.create(org, code="DUP-1")
    await stores.create(other, code="DUP-1")  # codes are per organization
    again = await client.post(
        "/api/v1/stores",
        json={"code": "DUP-1", "name": "x", "lat": 1, "lng": 1, "customer_type": "pharmacy"},
        headers=org.admin.headers,
    )
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"
    second = await stores.create(org, code="DUP-2")
    patched = await client.patch(
        f"/api/v1/stores/{second['id']}", json={"code": "DUP-1"}, headers=org.admin.headers
    )
    assert patched.status_code == 409
    assert first["id"] != second["id"]


async def test_bad_references_are_422_with_pointer(
    client: httpx.AsyncClient, world: World, stores: Stores
) -> None:
    org, other = await world.org(), await world.org()
    base = {"code": "C1", "name": "x", "lat": 1, "lng": 1, "customer_type": "pharmacy"}
    bad_type = await client.post(
        "/api/v1/stores", json={**base, "customer_type": "bakery"}, headers=org.admin.headers
    )
    assert bad_type.status_code == 422
    assert bad_type.json()["errors"][0]["pointer"] == "/customer_type"

    foreign_team = await stores.team(other)
    for team_id in (foreign_team["id"], str(uuid.uuid4())):
        bad_team = await client.post(
            "/api/v1/stores", json={**base, "team_id": team_id}, headers=org.admin.headers
        )
        assert bad_team.status_code == 422
        assert bad_team.json()["errors"][0]["pointer"] == "/team_id"

    store = await stores.create(org)
    patched = await client.patch(
        f"/api/v1/stores/{store['id']}",
        json={"customer_type": "bakery"},
        headers=org.admin.headers,
    )
    assert patched.status_code == 422
    assert patched.json()["errors"][0]["pointer"] == "/customer_type"


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


async def test_input_validation_never_5xx(client: httpx.AsyncClient, world: World) -> None:
    org = await world.org()
    base = {"code": "C1", "name": "x", "lat": 1, "lng": 1, "customer_type": "pharmacy"}
    cases = [
        {**base, "name": "a\x00b"},
        {**base, "code": "\x00"},
        {**base, "lat": 91},
        {**base, "lng": -181},
        {**base, "geofence_radius_m": 2**63},
        {**base, "geofence_radius_m": 19},
        {**base, "code": "x" * 65},
        {**base, "customer_type": "\x00"},
    ]
    for body in cases:
        response = await client.post("/api/v1/stores", json=body, headers=org.admin.headers)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    for params in (
        {"q": "a\x00"},
        {"near": "abc"},
        {"near": "1,2,3"},
        {"near": "91,0"},
        {"near": "nan,1"},
        {"near": "1e400,1"},
        {"cursor": "!!!"},
        {"cursor": "WyJhIiwibm90LWEtdXVpZCJd"},  # ["a","not-a-uuid"]
        {"near": "1,1", "cursor": "WyJhIiwiYiJd"},  # ["a","b"]
        {"cursor": _cursor('["\\ud800","00000000-0000-0000-0000-000000000000"]')},
        {"near": "1,1", "cursor": _cursor('[NaN,"00000000-0000-0000-0000-000000000000"]')},
        {"near": "1,1", "cursor": _cursor('[-1,"00000000-0000-0000-0000-000000000000"]')},
        {"near": "1,1", "cursor": _cursor("[1" + "0" * 309 + ',"x"]')},
        {"limit": "0"},
        {"limit": str(2**63)},
        {"team_id": "nope"},
    ):
        response = await client.get("/api/v1/stores", params=params, headers=org.rep.headers)
        assert response.status_code == 422, (params, response.text)
    near_error = await client.get("/api/v1/stores", params={"near": "x,y"}, headers=org.rep.headers)
    assert near_error.json()["errors"][0]["pointer"] == "/query/near"


async def test_filters(client: httpx.AsyncClient, world: World, stores: Stores) -> None:
    org = await world.org()
    team = await stores.team(org)
    a = await stores.create(org, code="PH-1", name="Alpha 药房", customer_type="pharmacy")
    b = await stores.create(
        org,
        code="CL-1",
        name="Beta Clinic",
        address="徐汇区 50% 路",
        customer_type="clinic",
        team_id=team["id"],
    )
    c = await stores.create(
        org, code="SM-1", name="Gamma", address="静安区", customer_type="supermarket"
    )

    async def ids(**params: str) -> list[str]:
        response = await client.get("/api/v1/stores", params=params, headers=org.rep.headers)
        assert response.status_code == 200, response.text
        return [s["id"] for s in response.json()["items"]]

    assert await ids() == [b["id"], a["id"], c["id"]]  # ordered by code
    assert await ids(q="alpha") == [a["id"]]
    assert await ids(q="ph-") == [a["id"]]
    assert await ids(q="静安") == [c["id"]]
    assert await ids(q="50%") == [b["id"]]  # LIKE wildcards are literal
    assert await ids(q="%") == [b["id"]]
    assert await ids(q="_") == []
    assert await ids(customer_type="clinic") == [b["id"]]
    assert await ids(customer_type="CLINIC") == [b["id"]]
    assert await ids(team_id=team["id"]) == [b["id"]]
    assert await ids(customer_type="clinic", q="gamma") == []


async def test_pagination_by_code(client: httpx.AsyncClient, world: World, stores: Stores) -> None:
    org = await world.org()
    made = [await stores.create(org, code=f"P-{i:02d}") for i in range(7)]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/stores", params=params, headers=org.rep.headers)).json()
        seen += [s["code"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [s["code"] for s in made]
