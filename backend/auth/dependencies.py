"""FastAPI dependencies: the authenticated principal and role checks."""

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from backend.auth import repository
from backend.auth.exceptions import AccessChanged
from backend.auth.principal import Principal, is_current
from backend.auth.tokens import read_access_token
from backend.config import Settings
from backend.errors import Forbidden, Unauthorized
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
    the ``is_current`` check itself inside a query it runs anyway (the check-in)."""
    if not token:
        raise Unauthorized("Authentication is required.")
    principal = read_access_token((await get_settings(request)).secret, token)
    if principal is None:
        raise Unauthorized("The access token is invalid or expired.")
    return principal


async def get_principal(
    request: Request, principal: Annotated[Principal, Depends(get_token_principal)]
) -> Principal:
    """The caller, as the database says they are now: a demoted, deactivated or re-passworded
    user loses the token's power on their next request, on every replica (one indexed read)."""
    pool: asyncpg.Pool = request.app.state.sql_pool
    async with pool.acquire() as connection:
        access = await repository.current_access(connection, principal.org_id, principal.user_id)
    if not is_current(principal, access):
        raise AccessChanged()
    return principal


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
