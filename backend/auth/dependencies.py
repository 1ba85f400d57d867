"""FastAPI dependencies: the authenticated principal and role checks.

A bearer token is a user's access token or an API key (``dsk_...``, backend.api_keys). A key is
checked in ``get_principal``, against the route's operation id in the one scope table
(``backend.api_keys.scopes``): every route that takes a principal goes through it.
"""

import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from backend.api_keys import service as api_key_service
from backend.api_keys.exceptions import InsufficientScope
from backend.api_keys.install import limiter_of
from backend.api_keys.middleware import set_response_headers
from backend.auth import repository
from backend.auth.exceptions import AccessChanged
from backend.auth.principal import Principal, is_current
from backend.auth.tokens import read_access_token
from backend.config import Settings
from backend.errors import Forbidden, Unauthorized
from backend.kit.time import utc_now
from backend.models.user import Role

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


# Dependencies are async even when they do no I/O: FastAPI runs a plain `def` dependency in a
# worker thread, a thread hop on every request for nothing.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_token_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal:
    """What the access token says, unchecked against the database: only for a route that makes
    the ``is_current`` check itself inside a query it runs anyway (the check-in). Such a route
    is a person's field work: never for an API key."""
    if not token:
        raise Unauthorized("Authentication is required.")
    if api_key_service.looks_like_key(token):
        raise InsufficientScope(None)
    principal = read_access_token((await get_settings(request)).secret, token)
    if principal is None:
        raise Unauthorized("The access token is invalid or expired.")
    return principal


async def get_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal:
    """The caller, as the database says they are now: a demoted, deactivated or re-passworded
    user loses the token's power on their next request, on every replica (one indexed read).
    An API key: its row read by primary key, its rate limit, its scope for this route."""
    if token and api_key_service.looks_like_key(token):
        return await _key_principal(request, token)
    principal = await get_token_principal(request, token)
    pool: asyncpg.Pool = request.app.state.sql_pool
    async with pool.acquire() as connection:
        access = await repository.current_access(connection, principal.org_id, principal.user_id)
    if not is_current(principal, access):
        raise AccessChanged()
    return principal


async def _key_principal(request: Request, token: str) -> Principal:
    route = request.scope.get("route")
    operation_id = getattr(route, "operation_id", None)
    pool: asyncpg.Pool = request.app.state.sql_pool
    async with pool.acquire() as connection:
        access = await api_key_service.authenticate(
            connection,
            await get_settings(request),
            limiter_of(request.app),
            token,
            operation_id if isinstance(operation_id, str) else None,
            now=utc_now(),
            clock=time.monotonic(),
        )
    set_response_headers(request.scope, access.headers)
    return access.principal


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in roles:
            raise Forbidden("Your role does not allow this.")
        return principal

    return dependency


AnyUser = Annotated[Principal, Depends(get_principal)]
# The token's claims only; the route must check ``is_current`` itself (see get_token_principal).
TokenPrincipal = Annotated[Principal, Depends(get_token_principal)]
Admin = Annotated[Principal, Depends(require_roles(Role.admin))]
Manager = Annotated[Principal, Depends(require_roles(Role.admin, Role.supervisor))]
SettingsDep = Annotated[Settings, Depends(get_settings)]
