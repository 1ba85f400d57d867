import uuid
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from backend.kit.schemas import CleanStr, Name, ResponseSchema, Schema, UtcDatetime
from backend.models.user import Role

Username = Annotated[
    CleanStr,
    StringConstraints(
        strip_whitespace=True, to_lower=True, pattern=r"^[a-z0-9][a-z0-9._@-]{1,63}$"
    ),
]
Password = Annotated[CleanStr, Field(min_length=8, max_length=256)]
Locale = Literal["zh-CN", "en"]


class UserCreate(Schema):
    username: Username
    display_name: Name
    role: Role
    password: Password
    locale: Locale = "zh-CN"


class UserUpdate(Schema):
    display_name: Name | None = None
    role: Role | None = None
    password: Password | None = None
    locale: Locale | None = None
    is_active: bool | None = None


class UserRead(ResponseSchema):
    id: uuid.UUID
    org_id: uuid.UUID
    username: str
    display_name: str
    role: Role
    locale: str
    is_active: bool
    created_at: UtcDatetime


class Me(ResponseSchema):
    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    org_id: uuid.UUID
    team_ids: list[uuid.UUID]
    locale: str
