"""Cursor pagination: ``?limit=`` (1-200, default 50) and an opaque ``?cursor=``.

A cursor is the sort key of the last item, JSON in base64url. It is parsed strictly: anything
that does not decode to the expected shape is a 422, never a server error.
"""

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from backend.errors import FieldError, ValidationFailed

T = TypeVar("T")

MAX_CURSOR_LENGTH = 512


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class PageParams(BaseModel):
    limit: int
    cursor: str | None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=200, description="Page size (1-200)")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=MAX_CURSOR_LENGTH, description="From `next_cursor`")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


def encode_cursor(key: list[Any]) -> str:
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not valid.",
        errors=[FieldError("/query/cursor", "not a cursor from this list", "invalid_cursor")],
    )


def decode_cursor(cursor: str, types: tuple[type, ...]) -> list[Any]:
    """Decode a cursor whose items must have exactly the given types, in order."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise invalid_cursor() from exc
    if not isinstance(key, list) or len(key) != len(types):
        raise invalid_cursor()
    for value, expected in zip(key, types, strict=True):
        ok = isinstance(value, expected) and not isinstance(value, bool)
        if expected is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or (isinstance(value, str) and "\x00" in value):
            raise invalid_cursor()
    return key


def encode_time_cursor(at: datetime, item_id: uuid.UUID) -> str:
    """The cursor of a list ordered by (a timestamp, id)."""
    return encode_cursor([at.isoformat(), str(item_id)])


def decode_time_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (timestamp, id) sort key of a cursor from :func:`encode_time_cursor`; else a 422."""
    at_iso, id_str = decode_cursor(cursor, (str, str))
    try:
        at = datetime.fromisoformat(at_iso)
        item_id = uuid.UUID(id_str)
    except ValueError as exc:
        raise invalid_cursor() from exc
    if at.tzinfo is None:
        raise invalid_cursor()
    return at, item_id


@dataclass(frozen=True)
class Keyset:
    """A list ordered by (a timestamp column, the id column), the one keyset every list uses.

    The cursor is the last item's (timestamp, id). Descending lists seek with ``at <= cursor``
    before the tie-break so the index on (org_id, ..., at, id) can start at the cursor instead
    of filtering every row before it.
    """

    at: InstrumentedAttribute[Any]
    id: InstrumentedAttribute[Any]
    descending: bool = False

    def after(self, cursor: str) -> ColumnElement[bool]:
        at, item_id = decode_time_cursor(cursor)
        if self.descending:
            return and_(self.at <= at, or_(self.at < at, and_(self.at == at, self.id < item_id)))
        return and_(self.at >= at, or_(self.at > at, and_(self.at == at, self.id > item_id)))

    def order(self) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
        if self.descending:
            return self.at.desc(), self.id.desc()
        return self.at.asc(), self.id.asc()

    def cursor_of(self, item: Any) -> str | None:
        at = getattr(item, self.at.key)
        return encode_time_cursor(at, getattr(item, self.id.key)) if at is not None else None


async def keyset_page(
    session: AsyncSession, stmt: Select[T], keyset: Keyset, page: PageParams
) -> tuple[list[T], str | None]:
    """One page of ``stmt`` (a ``select`` of one entity) and the cursor of the next, if any."""
    if page.cursor:
        stmt = stmt.where(keyset.after(page.cursor))
    rows = list((await session.scalars(stmt.order_by(*keyset.order()).limit(page.limit + 1))).all())
    items = rows[: page.limit]
    cursor = keyset.cursor_of(items[-1]) if len(rows) > page.limit else None
    return items, cursor
