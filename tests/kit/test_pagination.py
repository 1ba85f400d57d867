"""The one keyset paginator (``Keyset`` + ``keyset_page``) on a real PostgreSQL table.

kit knows no domain, so the table is this test's own: rows with a timestamp and an id, several
of them on the same instant, walked page by page in both directions.
"""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import DateTime, Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backend.config import Settings
from backend.db import create_engine, create_sessionmaker
from backend.errors import ValidationFailed
from backend.kit.pagination import Keyset, PageParams, encode_time_cursor, keyset_page

T0 = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)


class _Base(DeclarativeBase):
    pass


class Entry(_Base):
    __tablename__ = "test_keyset_entries"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    kind: Mapped[str] = mapped_column(nullable=False)


OLDEST_FIRST = Keyset(Entry.at, Entry.id)
NEWEST_FIRST = Keyset(Entry.at, Entry.id, descending=True)


def _entries() -> list[Entry]:
    """Nine rows: four share one instant and three another, so pages split ties."""
    offsets = [0, 10, 10, 10, 10, 20, 30, 30, 30]
    return [
        Entry(id=uuid.uuid4(), at=T0 + timedelta(seconds=s), kind="a" if i % 3 else "b")
        for i, s in enumerate(offsets)
    ]


@pytest.fixture
async def session(settings: Settings) -> AsyncIterator[AsyncSession]:
    assert settings.database_url
    engine = create_engine(settings.database_url, settings)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_Base.metadata.create_all)
        async with create_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


@pytest.fixture
async def entries(session: AsyncSession) -> list[Entry]:
    rows = _entries()
    session.add_all(rows)
    await session.commit()
    return rows


async def _walk(
    session: AsyncSession, stmt: Select[Entry], keyset: Keyset, limit: int
) -> list[list[uuid.UUID]]:
    """Every page, following ``next_cursor`` until there is none."""
    pages: list[list[uuid.UUID]] = []
    cursor: str | None = None
    while True:
        items, cursor = await keyset_page(
            session, stmt, keyset, PageParams(limit=limit, cursor=cursor)
        )
        pages.append([item.id for item in items])
        if cursor is None:
            return pages
        assert len(pages) < 20, "the cursor does not advance"


def _sorted(rows: list[Entry], *, descending: bool) -> list[uuid.UUID]:
    return [r.id for r in sorted(rows, key=lambda r: (r.at, r.id), reverse=descending)]


@pytest.mark.parametrize("limit", [1, 2, 3, 4])
async def test_ascending_pages_cover_every_row_once_in_order(
    session: AsyncSession, entries: list[Entry], limit: int
) -> None:
    pages = await _walk(session, select(Entry), OLDEST_FIRST, limit)
    assert [i for page in pages for i in page] == _sorted(entries, descending=False)
    assert all(len(page) == limit for page in pages[:-1])
    assert 1 <= len(pages[-1]) <= limit


@pytest.mark.parametrize("limit", [1, 2, 3, 4])
async def test_descending_pages_cover_every_row_once_in_order(
    session: AsyncSession, entries: list[Entry], limit: int
) -> None:
    pages = await _walk(session, select(Entry), NEWEST_FIRST, limit)
    assert [i for page in pages for i in page] == _sorted(entries, descending=True)
    assert all(len(page) == limit for page in pages[:-1])


async def test_a_page_boundary_inside_a_tie_continues_with_the_next_id(
    session: AsyncSession, entries: list[Entry]
) -> None:
    """Rows 1-4 share one instant: a page that ends on the second of them resumes at the
    third, by id, in both directions."""
    ascending = _sorted(entries, descending=False)
    first, cursor = await keyset_page(
        session, select(Entry), OLDEST_FIRST, PageParams(limit=3, cursor=None)
    )
    assert [e.id for e in first] == ascending[:3]
    assert first[-1].at == first[-2].at  # the page ends inside the tie
    assert cursor == encode_time_cursor(first[-1].at, first[-1].id)
    second, _ = await keyset_page(
        session, select(Entry), OLDEST_FIRST, PageParams(limit=3, cursor=cursor)
    )
    assert [e.id for e in second] == ascending[3:6]

    descending = _sorted(entries, descending=True)
    first, cursor = await keyset_page(
        session, select(Entry), NEWEST_FIRST, PageParams(limit=4, cursor=None)
    )
    assert [e.id for e in first] == descending[:4]
    second, _ = await keyset_page(
        session, select(Entry), NEWEST_FIRST, PageParams(limit=4, cursor=cursor)
    )
    assert [e.id for e in second] == descending[4:8]


async def test_the_last_page_has_no_cursor_even_when_it_is_full(
    session: AsyncSession, entries: list[Entry]
) -> None:
    items, cursor = await keyset_page(
        session, select(Entry), OLDEST_FIRST, PageParams(limit=9, cursor=None)
    )
    assert len(items) == 9 and cursor is None
    items, cursor = await keyset_page(
        session, select(Entry), OLDEST_FIRST, PageParams(limit=8, cursor=None)
    )
    assert len(items) == 8 and cursor is not None


@pytest.mark.parametrize("keyset", [OLDEST_FIRST, NEWEST_FIRST])
async def test_a_cursor_after_the_last_row_gives_an_empty_last_page(
    session: AsyncSession, entries: list[Entry], keyset: Keyset
) -> None:
    last = (
        max(entries, key=lambda r: (r.at, r.id))
        if not keyset.descending
        else min(entries, key=lambda r: (r.at, r.id))
    )
    past = encode_time_cursor(last.at, last.id)
    items, cursor = await keyset_page(
        session, select(Entry), keyset, PageParams(limit=5, cursor=past)
    )
    assert items == [] and cursor is None


async def test_the_statement_keeps_its_own_filters(
    session: AsyncSession, entries: list[Entry]
) -> None:
    only_a = select(Entry).where(Entry.kind == "a")
    pages = await _walk(session, only_a, NEWEST_FIRST, 2)
    expected = _sorted([e for e in entries if e.kind == "a"], descending=True)
    assert [i for page in pages for i in page] == expected


@pytest.mark.parametrize(
    "cursor",
    ["not-a-cursor", encode_time_cursor(T0, uuid.uuid4())[:-3], "W10"],
    ids=["garbage", "truncated", "empty-list"],  # stable ids: xdist workers must agree
)
async def test_a_malformed_cursor_is_a_validation_error(
    session: AsyncSession, entries: list[Entry], cursor: str
) -> None:
    with pytest.raises(ValidationFailed):
        await keyset_page(session, select(Entry), OLDEST_FIRST, PageParams(limit=5, cursor=cursor))
