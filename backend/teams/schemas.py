import uuid
from typing import Annotated

from pydantic import Field

from backend.kit.schemas import Name, ResponseSchema, Schema, UtcDatetime

MemberIds = Annotated[list[uuid.UUID], Field(max_length=500)]


class TeamCreate(Schema):
    name: Name
    supervisor_id: uuid.UUID
    member_ids: MemberIds = Field(default_factory=list)


class TeamUpdate(Schema):
    name: Name | None = None
    supervisor_id: uuid.UUID | None = None


class TeamMembersAdd(Schema):
    user_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=500)]


class TeamMemberRead(ResponseSchema):
    id: uuid.UUID
    username: str
    display_name: str


class TeamRead(ResponseSchema):
    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    supervisor_id: uuid.UUID
    member_ids: list[uuid.UUID]
    members: list[TeamMemberRead]
    created_at: UtcDatetime
