from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from backend.errors import problem_response

router = APIRouter(tags=["ops"])


@router.get("/healthz", operation_id="ops_healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", operation_id="ops_readyz", summary="The database is reachable")
async def readyz(request: Request) -> Response:
    try:
        async with request.app.state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database means not ready
        return problem_response(503, "not_ready", "The database is not reachable.")
    return Response('{"status":"ready"}', media_type="application/json")


@router.get("/metrics", operation_id="ops_metrics", summary="Prometheus metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
