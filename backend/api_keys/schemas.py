import uuid
from typing import Annotated

from pydantic import Field

from backend.api_keys.rate_limit import DEFAULT_BURST, DEFAULT_PER_MINUTE
from backend.api_keys.scopes import Scope
from backend.kit.schemas import Name, ResponseSchema, Schema, UtcDatetime


class ApiKeyCreate(Schema):
    name: Name
    # An unknown scope is a 422 pointing at it (``/scopes/1``); repeats count once.
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=50)]
    expires_at: UtcDatetime | None = None
    rate_per_minute: Annotated[int, Field(ge=1, le=60_000)] = DEFAULT_PER_MINUTE
    burst: Annotated[int, Field(ge=1, le=10_000)] = DEFAULT_BURST


class ApiKeyRead(ResponseSchema):
    """A key as lists show it: never the key itself, only its first characters (``prefix``)."""

    id: uuid.UUID
    name: str
    prefix: str = Field(description="The key's first characters (`dsk_` + 8), to tell it apart.")
    scopes: list[Scope]
    created_at: UtcDatetime
    expires_at: UtcDatetime | None
    last_used_at: UtcDatetime | None = Field(
        description="When the key was last used, to the minute (written at most once a minute)."
    )
    revoked_at: UtcDatetime | None
    rate_per_minute: int
    burst: int


class ApiKeyCreated(ResponseSchema):
    """The answer to a create: the only time ``key`` is ever shown. Store it now."""

    id: uuid.UUID
    name: str
    prefix: str
    key: str = Field(description="The key (`dsk_...`), shown this once; only a hash is kept.")
    scopes: list[Scope]
    created_at: UtcDatetime
    expires_at: UtcDatetime | None
    last_used_at: UtcDatetime | None
    rate_per_minute: int
    burst: int
