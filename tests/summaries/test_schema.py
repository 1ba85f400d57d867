"""The summary card's read model: it reads the stored JSON back unchanged, and the OpenAPI
document describes the card through it."""

import json
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from backend.summaries.card import SummaryInput, build_summary
from backend.summaries.schemas import SummaryRead
from tests.factories.summaries import sample_input

CASES = {
    "complete": sample_input(),
    "no next action, no flags, no photos": sample_input(
        next_action=None, flags=(), photos={}, profile_tags=(), pending=(), answers=()
    ),
    "no position figures, unknown zone": sample_input(
        distance_m=None, accuracy_m=None, timezone="Nowhere/Special"
    ),
}


@pytest.mark.parametrize("data", CASES.values(), ids=CASES.keys())
def test_the_stored_card_reads_back_unchanged(data: SummaryInput) -> None:
    stored = json.loads(json.dumps(build_summary(data)))  # as it comes back from JSONB
    read = TypeAdapter(SummaryRead)
    assert read.dump_python(read.validate_python(stored), mode="json") == stored


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema or "anyOf" in schema:
        if "anyOf" in schema:
            (schema,) = [s for s in schema["anyOf"] if s.get("type") != "null"]
            continue
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = document["components"]["schemas"][name]
    return schema


async def test_openapi_documents_the_summary_with_its_parts(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/api/v1/visits/{visit_id}/summary"]["get"]
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/SummaryRead"}
    summary = _resolve(document, body)
    card = build_summary(sample_input())
    assert set(summary["properties"]) == set(card)
    # Cards stored before audits existed have no ``rectifications``: it is the one optional key.
    assert set(summary["required"]) == set(card) - {"rectifications"}
    # Each part is a schema of its own, down to the countdown of the next action.
    for part in ("store", "rep", "local", "trust", "next_action"):
        properties = _resolve(document, summary["properties"][part])["properties"]
        assert set(properties) == set(card[part]), part
    trust = _resolve(document, summary["properties"]["trust"])
    flag = _resolve(document, trust["properties"]["flags"]["items"])
    assert set(flag["properties"]) == {"code", "weight", "detail"}
    next_action = _resolve(document, summary["properties"]["next_action"])
    countdown = _resolve(document, next_action["properties"]["countdown"])
    assert set(countdown["properties"]) == set(card["next_action"]["countdown"])
    answer = _resolve(document, summary["properties"]["answers"]["items"])
    assert set(answer["properties"]) == set(card["answers"][0])
    # The visit itself carries the same card.
    visit = document["components"]["schemas"]["VisitRead"]
    assert _resolve(document, visit["properties"]["summary"]) == summary
