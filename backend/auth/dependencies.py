"""FastAPI dependencies: the authenticated principal and role checks."""

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from backend.auth.principal import Principal
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


async def get_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal:
    if not token:
        raise Unauthorized("Authentication is required.")
    principal = read_access_token((await get_settings(request)).secret, token)
    if principal is None:
        raise Unauthorized("The access token is invalid or expired.")
    return principal


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in roles:
            raise Forbidden("Your role does not allow this.")
        return principal

    return dependency


AnyUser = Annotated[Principal, Depends(get_principal)]
Admin = Annotated[Principal, Depends(require_roles(Role.admin))]
Manager = Annotated[Principal, Depends(require_roles(Role.admin, Role.supervisor))]
SettingsDep = Annotated[Settings, Depends(get_settings)]
