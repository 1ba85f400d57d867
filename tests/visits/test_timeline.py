from datetime import timedelta

from backend.kit.time import utc_now
from tests.factories.visits import Field


async def test_store_timeline_shows_recent_visible_visits(field: Field) -> None:
    store = await field.store()
    other_store = await field.store()
    old = field.check_in_body(
        store, captured_at=utc_now() - timedelta(days=10), queued_offline=True
    )
    old_id = (await field.check_in(old)).json()["id"]
    await field.abandon(old_id, "old")
    mine = (await field.check_in(field.check_in_body(store))).json()["id"]
    theirs = (await field.check_in(field.check_in_body(store), field.org.other_rep)).json()["id"]
    await field.check_in(field.check_in_body(other_store), field.org.admin)  # refused: admin

    url = f"/api/v1/stores/{store['id']}/timeline"
    as_admin = (await field.client.get(url, headers=field.org.admin.headers)).json()
    assert as_admin["store"]["id"] == store["id"]
    assert [v["id"] for v in as_admin["visits"]] == [theirs, mine]
    assert as_admin["server_time"].endswith("Z")

    as_rep = (await field.client.get(url, headers=field.org.rep.headers)).json()
    assert [v["id"] for v in as_rep["visits"]] == [mine]

    month = (await field.client.get(f"{url}?days=30", headers=field.org.admin.headers)).json()
    assert old_id in [v["id"] for v in month["visits"]]
    bad = await field.client.get(f"{url}?days=0", headers=field.org.admin.headers)
    assert bad.status_code == 422
