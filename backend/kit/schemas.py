"""Pydantic building blocks shared by every domain's schemas.

Strings refuse NUL and other control characters (PostgreSQL cannot store NUL, and nobody types
them), integers are bounded so nothing reaches the database as an out-of-range value, and
timestamps serialise as UTC with a ``Z``.
"""

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

# A pattern rather than a validator function: a plain str schema keeps the order "strip, then
# check lengths" when a field adds its own StringConstraints on top.
NO_CONTROL_CHARS = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must include a timezone (use Z for UTC)")
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # e.g. 9999-12-31T23:59:59-14:00 is past datetime.max in UTC
        raise ValueError("is out of range") from exc


CleanStr = Annotated[str, StringConstraints(pattern=NO_CONTROL_CHARS)]
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


class LocalizedText(ResponseSchema):
    """A text the server wrote in both languages: ``{"zh": ..., "en": ...}``."""

    zh: str
    en: str
