from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request

from backend.auth import service
from backend.auth.dependencies import SettingsDep
from backend.auth.exceptions import InvalidGrant
from backend.auth.schemas import TokenResponse
from backend.kit.client_ip import client_ip
from backend.kit.deps import SessionDep, SessionMakerDep
from backend.kit.schemas import CleanStr
from backend.kit.time import utc_now

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

FormStr = Annotated[CleanStr | None, Form(max_length=512)]


@router.post(
    "/token",
    operation_id="auth_token",
    summary="Get tokens (OAuth2 password or refresh_token grant)",
    response_model=TokenResponse,
)
async def token(
    request: Request,
    session: SessionDep,
    sessionmaker: SessionMakerDep,
    settings: SettingsDep,
    grant_type: Annotated[Literal["password", "refresh_token"], Form()],
    username: FormStr = None,
    password: FormStr = None,
    refresh_token: FormStr = None,
) -> TokenResponse:
    if grant_type == "password":
        if not username or password is None:
            raise InvalidGrant("username and password are required.")
        address = client_ip(
            request.client.host if request.client else None,
            request.headers.getlist("x-forwarded-for"),
            settings.trusted_proxies,
        )
        pair = await service.password_grant(
            session, sessionmaker, settings, username, password, utc_now(), address
        )
    else:
        if not refresh_token:
            raise InvalidGrant("refresh_token is required.")
        pair = await service.refresh_grant(session, settings, refresh_token, utc_now())
    return TokenResponse(
        access_token=pair.access_token, expires_in=pair.expires_in, refresh_token=pair.refresh_token
    )
