import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import exc as sa_exc

from backend.config import Settings
from backend.db import create_engine, create_sessionmaker, create_sql_pool
from backend.errors import DATABASE_RETRY_AFTER_S, DatabaseUnavailable, is_database_unavailable
from backend.kit.time import utc_now
from tests.factories.stores import create_store
from tests.factories.visits import check_in_body
from tests.factories.world import World


async def test_health_ready_and_metrics(client: httpx.AsyncClient, world: World) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    org = await world.org()
    await client.get("/api/v1/me", headers=org.rep.headers)
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    text = metrics.text
    assert 'doorstep_http_requests_total{method="GET",route="/api/v1/me",status="200"}' in text
    assert "doorstep_http_request_duration_seconds_bucket" in text


async def test_openapi_has_clean_operation_ids_and_tags(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    seen = set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            op_id = operation["operationId"]
            assert op_id.replace("_", "").isalnum() and op_id.islower(), (path, method, op_id)
            assert op_id not in seen
            seen.add(op_id)
            assert operation.get("tags"), (path, method)


async def test_pwa_shell_is_served_at_root_and_for_scanned_codes(client: httpx.AsyncClient) -> None:
    root = await client.get("/")
    assert root.status_code == 200
    assert "Doorstep" in root.text
    scanned = await client.get("/q/some-token")
    assert scanned.status_code == 200
    assert scanned.text == root.text


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "database_unavailable"
    assert int(response.headers["retry-after"]) == DATABASE_RETRY_AFTER_S
    assert response.headers["x-request-id"]


async def test_an_unreachable_database_answers_503_on_every_path(
    app: FastAPI, client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    """The ORM's connections refused, then the SQL pool's too: every route that needs the
    database answers 503 with Retry-After, and nothing escapes to the server (the test client
    would raise it)."""
    org = await world.org()
    store = await create_store(client, org.admin.headers, name="门店", address="杭州")
    now = utc_now()
    check_in = check_in_body(store["qr_url"], accuracy_m=10, captured_at=now, device_time=now)
    state = app.state
    engine, sessionmaker, sql_pool = state.engine, state.sessionmaker, state.sql_pool
    refused = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/doorstep", settings)
    closed_pool = await create_sql_pool(engine, settings)
    await closed_pool.close()
    try:
        state.engine, state.sessionmaker = refused, create_sessionmaker(refused)
        _assert_unavailable(await client.get("/readyz"))
        # The principal comes from the SQL pool, the list from a session.
        _assert_unavailable(await client.get("/api/v1/visits", headers=org.rep.headers))
        # The Idempotency-Key claim, in the middleware's own session.
        keyed = {**org.rep.headers, "Idempotency-Key": "outage-1"}
        _assert_unavailable(await client.post("/api/v1/visits", json=check_in, headers=keyed))

        state.sql_pool = closed_pool
        _assert_unavailable(await client.get("/readyz"))
        _assert_unavailable(await client.get("/api/v1/me", headers=org.rep.headers))
        _assert_unavailable(
            await client.post("/api/v1/visits", json=check_in, headers=org.rep.headers)
        )
    finally:
        state.engine, state.sessionmaker, state.sql_pool = engine, sessionmaker, sql_pool
        await refused.dispose()

    assert (await client.get("/readyz")).status_code == 200
    landed = await client.post("/api/v1/visits", json=check_in, headers=org.rep.headers)
    assert landed.status_code == 201, landed.text


async def test_what_counts_as_the_database_being_unavailable() -> None:
    assert is_database_unavailable(asyncpg.ConnectionDoesNotExistError("closed mid-operation"))
    assert is_database_unavailable(asyncpg.CannotConnectNowError("starting up"))
    assert is_database_unavailable(asyncpg.AdminShutdownError("terminating connection"))
    assert is_database_unavailable(asyncpg.InterfaceError("connection is closed"))
    assert is_database_unavailable(asyncpg.InterfaceError("pool is closing"))
    assert is_database_unavailable(
        asyncpg.InternalClientError(
            "cannot switch to state 12; another operation (2) is in progress"
        )
    )
    assert is_database_unavailable(DatabaseUnavailable())
    invalidated = sa_exc.DBAPIError("SELECT 1", None, Exception("x"), connection_invalidated=True)
    assert is_database_unavailable(invalidated)
    # Raised while handling (or from) a lost connection.
    try:
        try:
            raise asyncpg.ConnectionDoesNotExistError("closed mid-operation")
        except asyncpg.PostgresError:
            raise RuntimeError("rollback failed too") from None
    except RuntimeError as exc:
        assert is_database_unavailable(exc)
    # A refused connection, however it was opened.
    with pytest.raises(OSError) as refused:
        await asyncpg.connect(host="127.0.0.1", port=1, user="postgres", timeout=5)
    assert is_database_unavailable(refused.value)
    assert is_database_unavailable(ConnectionRefusedError(), connecting=True)

    # Not the database being away: answered as before (a 4xx of its own, or 500).
    assert not is_database_unavailable(ConnectionRefusedError())  # S3, say
    assert not is_database_unavailable(OSError(28, "No space left on device"))
    assert not is_database_unavailable(
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress")
    )
    assert not is_database_unavailable(
        asyncpg.InternalClientError(
            "cannot switch to state 12; another operation (11) is in progress"
        )
    )
    assert not is_database_unavailable(asyncpg.UniqueViolationError("duplicate key"))
    assert not is_database_unavailable(
        sa_exc.DBAPIError("SELECT 1", None, Exception("x"), connection_invalidated=False)
    )
    assert not is_database_unavailable(ValueError("bad"))
