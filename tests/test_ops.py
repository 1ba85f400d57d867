import httpx

from tests.conftest import World


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
