"""Pydantic building blocks shared by every domain's schemas.

Strings refuse NUL and other control characters (PostgreSQL cannot store NUL, and nobody types
them), integers are bounded so nothing reaches the database as an out-of-range value, and
timestamps serialise as UTC with a ``Z``.
"""

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_control_chars(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must include a timezone (use Z for UTC)")
    return value.astimezone(UTC)


CleanStr = Annotated[str, AfterValidator(_no_control_chars)]
Name = Annotated[CleanStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[CleanStr, StringConstraints(strip_whitespace=True, max_length=500)]
UtcDatetime = Annotated[
    datetime,
    AfterValidator(_aware_utc),
    PlainSerializer(
        lambda v: v.astimezone(UTC).isoformat().replace("+00:00", "Z"), return_type=str
    ),
]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
SmallInt = Annotated[int, Field(ge=0, le=32_767)]


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")


class ResponseSchema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class IdSchema(ResponseSchema):
    id: uuid.UUID
