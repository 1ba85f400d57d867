from typing import Literal

from backend.kit.schemas import ResponseSchema


class TokenResponse(ResponseSchema):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 the OAuth2 token type
    expires_in: int
    refresh_token: str
