"""A visit during which a rectification was fixed says so on its summary card (JSON, PNG, the
shared page all render the stored card)."""

import httpx

from tests.factories.audit_tours import item_photo, tour
from tests.factories.visits import Field, complete, photo_set, submit
from tests.factories.world import World


async def test_the_card_lists_the_rectification_fixed_during_the_visit(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org()
    tours = await tour(client, org)
    audit = await tours.started()
    item = next(i for i in audit["template"]["items"] if i["photo"] == "on_fail")
    await tours.complete(audit, fail={item["key"]})
    submitted = await tours.submit(
        audit["id"], {"rectifications": [{"item_key": item["key"], "assignee_id": str(org.rep.id)}]}
    )
    (rect,) = submitted.json()["rectifications"]

    field = Field(client, org)
    checked_in = await field.check_in(field.check_in_body(tours.store))
    assert checked_in.status_code == 201, checked_in.text
    visit = checked_in.json()
    photo = await client.put(
        f"/api/v1/rectifications/{rect['id']}/after-photo",
        files={"file": ("after.jpg", item_photo(321), "image/jpeg")},
        headers=org.rep.headers,
    )
    assert photo.status_code == 201, photo.text
    await complete(field, visit, photo_set(400, (640, 480)))
    response = await submit(field, visit["id"])
    assert response.status_code == 200, response.text
    card = response.json()["summary"]
    assert card["rectifications"] == [
        {"id": rect["id"], "item_key": item["key"], "title": item["label"], "status": "open"}
    ]
    page = await client.get(f"/api/v1/visits/{visit['id']}/summary", headers=org.rep.headers)
    assert page.json()["rectifications"][0]["title"]["zh"] == item["label"]["zh"]
