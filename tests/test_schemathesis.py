"""Property-based fuzzing of the whole OpenAPI document against a real server process.

Valid and invalid inputs (NUL bytes included) for every operation, signed in as an admin with
real object ids in the paths: no answer may be a server error, and every error is problem+json.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from backend.api_keys import service as api_key_service
from backend.api_keys.schemas import ApiKeyCreate
from backend.api_keys.scopes import Scope
from backend.auth.principal import Principal
from backend.calendar_feed import service as calendar_service
from backend.kit.time import utc_now
from backend.models import AuditStatus
from backend.models.user import Role
from backend.rectifications import service as rectification_service
from backend.stores import service as store_service
from backend.teams import service as team_service
from backend.teams.schemas import TeamCreate
from backend.webhooks import service as webhook_service
from backend.webhooks.schemas import WebhookEndpointCreate
from tests.db import PostgresForTests
from tests.factories.audits import insert_audit, item_of, raised_item, standard_checklist
from tests.factories.stores import store_input
from tests.factories.world import seed_org, seeding
from tests.server import running_server

EXAMPLES_PER_MODE = 40
PASSWORD = "fuzzing-password-1"


@pytest.fixture
async def seeded_url(template: PostgresForTests) -> AsyncIterator[tuple[str, dict[str, str]]]:
    name = await template.clone()
    url = template.url(name)
    async with seeding(url) as (session, settings_):
        org, admin, (sup, rep) = await seed_org(
            session,
            "Fuzz",
            "fuzz-admin",
            PASSWORD,
            [("fuzz-sup", Role.supervisor, "s"), ("fuzz-rep", Role.rep, "r")],
        )
        team = await team_service.create_team(
            session,
            Principal(admin.id, org.id, Role.admin),
            TeamCreate(name="Fuzz team", supervisor_id=sup.id, member_ids=[rep.id]),
        )
        store = await store_service.create_store(
            session,
            settings_,
            org.id,
            store_input(
                code="FUZZ-1", name="老百姓大药房", address="杭州市拱墅区", lat=30.3, lng=120.15
            ),
            admin.id,
        )
        # An open audit of the admin (whose token fuzzes) and a rectification raised by another.
        audit = await insert_audit(
            session, org_id=org.id, store_id=store.id, auditor_id=admin.id, status=AuditStatus.open
        )
        checklist = await standard_checklist(session, org.id)
        item_key = item_of(checklist)["key"]
        submitted = await insert_audit(
            session, org_id=org.id, store_id=store.id, auditor_id=sup.id, failed=[item_key]
        )
        (rectification,) = await rectification_service.raise_for_audit(
            session,
            submitted,
            [raised_item(checklist, item_key, rep.id, utc_now() + timedelta(days=2))],
            utc_now(),
        )
        admin_principal = Principal(admin.id, org.id, Role.admin)
        key, _ = await api_key_service.create_key(
            session,
            admin_principal,
            ApiKeyCreate(name="Fuzz ERP", scopes=[Scope.stores_read]),
            settings_.secret,
            utc_now(),
        )
        endpoint = await webhook_service.create_endpoint(
            session,
            admin_principal,
            WebhookEndpointCreate(url="http://127.0.0.1:9/hook", event_types=["*"]),
            ("127.0.0.1",),
            utc_now(),
        )
        calendar = await calendar_service.feed_url(session, settings_, admin_principal, utc_now())
    ids = {
        "key_id": str(key.id),
        "endpoint_id": str(endpoint.id),
        "delivery_id": str(uuid.uuid4()),
        "token": calendar.rsplit("/", 1)[1].removesuffix(".ics"),
        "user_id": str(rep.id),
        "team_id": str(team.id),
        "store_id": str(store.id),
        "audit_id": str(audit.id),
        "item_key": item_key,
        "key": "standard",
        "rectification_id": str(rectification.id),
    }
    yield url, ids
    await template.drop(name)


def _fuzz(base_url: str, token: str, ids: dict[str, str]) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    problems: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid schema fails loudly
        path_ids = {k: v for k, v in ids.items() if "{" + k + "}" in operation.path}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_ids or None)

            @settings(
                max_examples=EXAMPLES_PER_MODE,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def run(case: Any) -> None:
                response = case.call(base_url=base_url, headers=headers, timeout=30)
                label = f"{case.method} {case.formatted_path} -> {response.status_code}"
                if response.status_code >= 500:
                    problems.append(f"{label}: {response.text[:300]}")
                elif response.status_code >= 400:
                    content_type = response.headers.get("content-type") or [""]
                    if isinstance(content_type, list):
                        content_type = content_type[0]
                    if content_type != "application/problem+json":
                        problems.append(f"{label}: not problem+json ({content_type})")

            try:
                run()
            except Unsatisfiable:
                # An operation without inputs has no invalid variant to generate.
                if mode is GenerationMode.POSITIVE:
                    raise
    return problems


async def test_fuzz_every_operation_without_server_errors(
    seeded_url: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, ids = seeded_url
    with running_server(url, tmp_path) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as client:
            response = await client.post(
                "/api/v1/auth/token",
                data={"grant_type": "password", "username": "fuzz-admin", "password": PASSWORD},
            )
        assert response.status_code == 200
        token = response.json()["access_token"]
        problems = await asyncio.to_thread(_fuzz, base_url, token, ids)
    assert not problems, "\n".join(sorted(set(problems))[:40])
    assert uuid.UUID(ids["user_id"])
