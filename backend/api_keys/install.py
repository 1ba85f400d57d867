"""Wiring API keys into the app: the per-process rate limiter, the headers middleware and the
OpenAPI scheme. Called by ``backend.main.create_app`` before the ``Idempotency-Key`` middleware
is added (so this one runs inside it)."""

from collections.abc import Awaitable, Callable
from datetime import datetime

import asyncpg
from fastapi import FastAPI
from starlette.datastructures import State

from backend.api_keys import keys, service
from backend.api_keys.middleware import RateLimitHeadersMiddleware
from backend.api_keys.openapi import install_api_key_docs
from backend.api_keys.rate_limit import Limiter
from backend.auth.principal import Principal
from backend.auth.tokens import read_access_token
from backend.kit.time import utc_now


def install_api_keys(app: FastAPI) -> None:
    app.state.api_key_limiter = Limiter()
    install_api_key_docs(app)
    app.add_middleware(RateLimitHeadersMiddleware)


def limiter_of(app: FastAPI) -> Limiter:
    limiter: Limiter = app.state.api_key_limiter
    return limiter


def idempotency_callers(
    state: State, secret: bytes, clock: Callable[[], datetime] = utc_now
) -> Callable[[str], Awaitable[Principal | None]]:
    """The ``Idempotency-Key`` middleware's ``read_caller``: an access token's user (no I/O), or
    an API key, checked against its row (the app's SQL pool, read when a request comes)."""

    async def read_caller(token: str) -> Principal | None:
        if not keys.looks_like_key(token):
            return read_access_token(secret, token)
        pool: asyncpg.Pool = state.sql_pool
        async with pool.acquire() as connection:
            return await service.idempotency_caller(connection, secret, token, clock())

    return read_caller
