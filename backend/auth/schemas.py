from typing import Literal

from backend.kit.schemas import ResponseSchema


class TokenResponse(ResponseSchema):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str
