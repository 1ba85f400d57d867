"""GET /api/v1/config: the rules the PWA applies on the phone, from the code that enforces them."""

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from backend.actions.labels import ACTION_TYPE_LABELS
from backend.config import Environment, Settings
from backend.kit.time import utc_now
from backend.models import NextActionType, PhotoKind
from backend.policy.service import client_policy
from backend.summaries.card import SummaryNextAction, build_summary
from tests.factories.summaries import DUE, sample_input
from tests.factories.visits import Field
from tests.factories.world import World

SUBMIT_REQUIRES = [
    "photo:storefront",
    "photo:shelf",
    "photo:conversation",
    "answers",
    "next_action",
]


def _timeless(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "server_time"}


async def test_every_signed_in_role_reads_the_policy(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org()
    bodies = []
    for actor in (org.rep, org.supervisor, org.admin):
        response = await client.get("/api/v1/config", headers=actor.headers)
        assert response.status_code == 200, response.text
        bodies.append(response.json())
    body = bodies[0]
    assert body["next_action_horizon_days"] == 7
    assert body["photo_kinds"] == ["storefront", "shelf", "conversation"]
    assert body["photo_max_bytes"] == 10 * 1024 * 1024
    assert body["photo_long_edge_px"] == 1600
    assert body["open_visit_max_hours"] == 4
    assert body["timezone"] == "Asia/Shanghai"
    assert body["locale_default"] == "zh-CN"
    assert body["next_action_types"] == [
        {"value": "send_sample", "label": {"zh": "送样品", "en": "Send a sample"}},
        {"value": "quote", "label": {"zh": "报价", "en": "Send a quote"}},
        {"value": "demo", "label": {"zh": "产品演示", "en": "Product demo"}},
        {"value": "follow_up_call", "label": {"zh": "电话回访", "en": "Follow-up call"}},
        {"value": "other", "label": {"zh": "其他", "en": "Other"}},
    ]
    assert body["submit_requires"] == SUBMIT_REQUIRES
    served = datetime.fromisoformat(body["server_time"].replace("Z", "+00:00"))
    assert abs((served - utc_now()).total_seconds()) < 60
    assert all(_timeless(b) == _timeless(body) for b in bodies)

    anonymous = await client.get("/api/v1/config")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")


async def test_submit_requires_is_what_an_untouched_visit_is_refused_for(
    client: httpx.AsyncClient, world: World
) -> None:
    """One source: the list the PWA gets is the server's own `missing` for a visit with nothing."""
    org = await world.org()
    field = Field(client, org)
    store = await field.store()
    now = utc_now()
    visit = await field.check_in(
        field.check_in_body(store, accuracy_m=10, captured_at=now, device_time=now)
    )
    assert visit.status_code == 201, visit.text
    refused = await client.post(
        f"/api/v1/visits/{visit.json()['id']}/submit", headers=org.rep.headers
    )
    assert refused.status_code == 422, refused.text
    policy = await client.get("/api/v1/config", headers=org.rep.headers)
    assert refused.json()["missing"] == policy.json()["submit_requires"]


def test_the_horizon_follows_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOORSTEP_NEXT_ACTION_HORIZON_DAYS", "3")
    settings = Settings(environment=Environment.test, _env_file=None)
    now = datetime(2024, 5, 1, tzinfo=UTC)
    policy = client_policy(settings, now)
    assert policy.next_action_horizon_days == 3
    assert policy.server_time == now


def test_one_set_of_labels_for_every_reader() -> None:
    """The card (and so the share page and the image), the notifications and the PWA (through
    /config) read the actions domain's labels."""
    assert set(ACTION_TYPE_LABELS) == set(NextActionType)
    zh = [label["zh"] for label in ACTION_TYPE_LABELS.values()]
    assert len(set(zh)) == len(zh)
    published = client_policy(Settings(environment=Environment.test, _env_file=None), utc_now())
    for option in published.next_action_types:
        assert option.label.model_dump() == ACTION_TYPE_LABELS[option.value]
        card = build_summary(sample_input(next_action=SummaryNextAction(option.value, DUE, "")))
        assert card["next_action"]["type_label"] == ACTION_TYPE_LABELS[option.value]
    assert list(PhotoKind) == published.photo_kinds
