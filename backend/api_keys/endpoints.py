"""Admin routes for API keys. Keys themselves never reach them (``scopes.NEVER_FOR_KEYS``)."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status

from backend.api_keys import service
from backend.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from backend.auth.dependencies import Admin, SettingsDep
from backend.kit.deps import SessionDep
from backend.kit.pagination import Page, PageParams, page_params
from backend.kit.time import utc_now

router = APIRouter(prefix="/api/v1/api-keys", tags=["api-keys"])

NO_STORE = {"Cache-Control": "no-store"}
_ADMIN_ONLY: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in (`unauthorized`)"},
    403: {"description": "Admins only; API keys never (`forbidden`, `insufficient_scope`)"},
}


@router.post(
    "",
    operation_id="api_keys_create",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses={
        **_ADMIN_ONLY,
        422: {"description": "An unknown scope (pointer `/scopes/<i>`) or a past `expires_at`"},
    },
)
async def create_key(
    session: SessionDep,
    settings: SettingsDep,
    principal: Admin,
    body: ApiKeyCreate,
    response: Response,
) -> ApiKeyCreated:
    """Make a key. The answer is the only time `key` is shown: only its hash is kept."""
    row, key = await service.create_key(session, principal, body, settings.secret, utc_now())
    response.headers.update(NO_STORE)
    return ApiKeyCreated.model_validate({**ApiKeyRead.model_validate(row).model_dump(), "key": key})


@router.get(
    "", operation_id="api_keys_list", response_model=Page[ApiKeyRead], responses=_ADMIN_ONLY
)
async def list_keys(
    session: SessionDep, principal: Admin, page: Annotated[PageParams, Depends(page_params)]
) -> Page[ApiKeyRead]:
    """The organization's keys, newest first, revoked ones too; never the keys themselves."""
    items, cursor = await service.list_keys(session, principal, page)
    return Page(items=[ApiKeyRead.model_validate(k) for k in items], next_cursor=cursor)


@router.delete(
    "/{key_id}",
    operation_id="api_keys_revoke",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={**_ADMIN_ONLY, 404: {"description": "No such key in your organization"}},
)
async def revoke_key(session: SessionDep, principal: Admin, key_id: uuid.UUID) -> Response:
    """Revoke the key at once: its next request is `401`. Revoking it again changes nothing."""
    await service.revoke_key(session, principal, key_id, utc_now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
