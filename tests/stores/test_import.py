from typing import Any

import httpx

from backend.stores import csv_import
from tests.factories.stores import Stores
from tests.factories.world import Org, World

HEADER = "code,name,address,lat,lng,geofence_radius_m,customer_type,team\n"


async def _import(
    client: httpx.AsyncClient, org: Org, content: bytes, filename: str = "stores.csv"
) -> httpx.Response:
    return await client.post(
        "/api/v1/stores/import",
        files={"file": (filename, content, "text/csv")},
        headers=org.admin.headers,
    )


async def _all(client: httpx.AsyncClient, org: Org) -> dict[str, dict[str, Any]]:
    response = await client.get("/api/v1/stores", params={"limit": 200}, headers=org.admin.headers)
    return {s["code"]: s for s in response.json()["items"]}


def _errors(body: dict[str, Any]) -> list[tuple[int, str]]:
    return [(e["row"], e["field"]) for e in body["errors"]]


async def test_import_good_and_bad_rows_idempotently(
    client: httpx.AsyncClient, world: World, stores: Stores
) -> None:
    org = await world.org()
    team = await stores.team(org, name="浦东一组")
    csv = (
        HEADER
        + "A1,老百姓大药房,上海市浦东新区,31.22,121.54,,pharmacy,浦东一组\n"  # row 2
        + f'A2,华山医院门诊,"静安区, 乌鲁木齐中路",31.21,121.44,300,CLINIC,{team["id"]}\n'
        + "A3,Bad lat,x,95,121.4,,pharmacy,\n"  # row 4
        + "A4,Unknown type,x,31.2,121.4,,bakery,\n"  # row 5
        + "A5,,x,31.2,121.4,,pharmacy,\n"  # row 6: missing name
        + "A1,Duplicate code,x,31.2,121.4,,pharmacy,\n"  # row 7
        + "A6,Bad team,x,31.2,121.4,,pharmacy,no such team\n"  # row 8
        + ",,,,,,,\n"  # row 9: blank, skipped
        + "A7,Radius too big,x,31.2,121.4,5000,supermarket,\n"  # row 10
        + "A8,Good too,,31.3,121.5,,supermarket,\n"  # row 11
    )
    first = await _import(client, org, csv.encode())
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (3, 0, 0)
    expected_errors = [
        (4, "lat"),
        (5, "customer_type"),
        (6, "name"),
        (7, "code"),
        (8, "team"),
        (10, "geofence_radius_m"),
    ]
    assert _errors(body) == expected_errors
    assert "row 2" in body["errors"][3]["message"]

    saved = await _all(client, org)
    assert set(saved) == {"A1", "A2", "A8"}
    assert saved["A1"]["team_id"] == team["id"]
    assert saved["A1"]["geofence_radius_m"] == 150
    assert saved["A2"]["address"] == "静安区, 乌鲁木齐中路"
    assert (saved["A2"]["customer_type"], saved["A2"]["geofence_radius_m"]) == ("clinic", 300)
    assert saved["A2"]["team_id"] == team["id"]  # by id

    again = await _import(client, org, csv.encode())
    body = again.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (0, 0, 3)
    assert _errors(body) == expected_errors
    assert len(await _all(client, org)) == 3

    changed = HEADER + "A1,老百姓大药房（新店名）,上海市浦东新区,31.23,121.54,,pharmacy,\n"
    third = (await _import(client, org, changed.encode())).json()
    assert (third["created"], third["updated"], third["unchanged"], third["errors"]) == (
        0,
        1,
        0,
        [],
    )
    store = (await _all(client, org))["A1"]
    assert (store["name"], store["lat"]) == ("老百姓大药房（新店名）", 31.23)
    assert store["team_id"] == team["id"]  # a blank team cell leaves the team alone
    assert store["qr_url"] == saved["A1"]["qr_url"]


async def test_import_encodings(client: httpx.AsyncClient, world: World) -> None:
    org = await world.org()
    rows = "code,name,lat,lng,customer_type\r\nG1,上海第一医药商店,31.23,121.47,pharmacy\r\n"
    gb = await _import(client, org, rows.encode("gb18030"))
    assert gb.status_code == 200, gb.text
    assert gb.json()["created"] == 1
    bom = await _import(client, org, ("\ufeff" + rows.replace("G1", "G2")).encode("utf-8"))
    assert bom.json()["created"] == 1
    saved = await _all(client, org)
    assert saved["G1"]["name"] == "上海第一医药商店"
    assert saved["G2"]["name"] == "上海第一医药商店"
    assert saved["G1"]["address"] == ""


async def test_import_rejections(client: httpx.AsyncClient, world: World) -> None:
    org = await world.org()
    for content, code in (
        (b"", "invalid_csv"),
        (b"code,name\nA,b\n", "missing_columns"),
        (b"code,name,lat,lng,customer_type\nA\x00,b,1,1,pharmacy\n", "invalid_csv"),
        (b"\xff\xfe\x00\x00garbage\x81", "invalid_encoding"),
    ):
        response = await _import(client, org, content)
        assert response.status_code == 422, (content, response.text)
        assert response.json()["errors"][0]["code"] == code
        assert response.json()["errors"][0]["pointer"] == "/file"

    too_many = "code,name,lat,lng,customer_type\n" + "".join(
        f"T{i},n,1,1,pharmacy\n" for i in range(csv_import.MAX_ROWS + 1)
    )
    response = await _import(client, org, too_many.encode())
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "too_many_rows"
    assert "20,000" in response.json()["detail"]

    as_rep = await client.post(
        "/api/v1/stores/import",
        files={"file": ("s.csv", b"code\n", "text/csv")},
        headers=org.rep.headers,
    )
    assert as_rep.status_code == 403
    missing_file = await client.post("/api/v1/stores/import", headers=org.admin.headers)
    assert missing_file.status_code == 422


def test_row_numbers_count_multiline_cells_once() -> None:
    content = 'code,name,lat,lng,customer_type\nA,"two\nlines",1,1,pharmacy\n\nB,n,1,1,x\n'
    parsed = csv_import.parse(content.encode())
    assert [r.number for r in parsed.rows] == [2, 4]
