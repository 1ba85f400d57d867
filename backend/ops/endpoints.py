import asyncpg
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from backend.errors import database_unavailable_response

router = APIRouter(tags=["ops"])


@router.get("/healthz", operation_id="ops_healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="ops_readyz",
    summary="The database is reachable",
    responses={503: {"description": "The database is unreachable (`database_unavailable`)"}},
)
async def readyz(request: Request) -> Response:
    """`SELECT 1` through both pools (the ORM's and the hot paths' asyncpg pool)."""
    pool: asyncpg.Pool = request.app.state.sql_pool
    try:
        async with request.app.state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        async with pool.acquire() as sql_connection:
            await sql_connection.fetchval("SELECT 1")
    except Exception:  # any failure to reach the database means not ready
        return database_unavailable_response()
    return Response('{"status":"ready"}', media_type="application/json")


@router.get("/metrics", operation_id="ops_metrics", summary="Prometheus metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
