"""Engine and session factory; the request (or job) boundary commits or rolls back."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from fastapi import Request
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from backend.config import Settings
from backend.errors import AppError
from backend.kit.embedded_postgres import EmbeddedPostgres


def normalize_database_url(url: str) -> str:
    """Accept the URL forms people paste (postgres://, postgresql://) and pin the asyncpg driver."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


@dataclass
class Database:
    """A resolved database: its URL and, when embedded, the cluster to stop afterwards."""

    url: str
    embedded: EmbeddedPostgres | None = None

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()


def open_database(settings: Settings) -> Database:
    if settings.database_url:
        return Database(normalize_database_url(settings.database_url))
    embedded = EmbeddedPostgres(settings.data_dir)
    return Database(embedded.start(), embedded)


# What the hot paths' SQL runs on: a connection from the SQL pool, or the one under a session.
SqlConnection: TypeAlias = asyncpg.Connection | PoolConnectionProxy

# Every connection works in UTC; the name tells them apart in pg_stat_activity.
SERVER_SETTINGS = {"timezone": "UTC", "application_name": "doorstep"}


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        # No ping per checkout (a round trip on every request): a connection broken by a
        # server restart fails one request and the pool then replaces it; recycling bounds age.
        pool_pre_ping=False,
        pool_recycle=1800,
        connect_args={"server_settings": SERVER_SETTINGS},
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit when the block succeeds, roll back when it raises."""
    async with sessionmaker() as session:
        try:
            yield session
        except AppError as exc:
            await (session.commit() if exc.keeps_changes else session.rollback())
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            if session.in_transaction():  # a request that never used its session costs nothing
                await session.commit()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Request-scoped session, committed before the response is sent (see kit.deps)."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with session_scope(sessionmaker) as session:
        yield session


def create_sql_pool(engine: AsyncEngine, settings: Settings) -> asyncpg.Pool:
    """A plain asyncpg pool to the engine's database, for the hot paths written as SQL.

    The ORM session costs about half a millisecond of CPU per request before its first
    statement; a check-in's whole budget is not much more (docs/architecture.md). Await the
    pool to open it; it holds up to ``database_pool_size`` connections besides the engine's.
    """
    _, options = engine.dialect.create_connect_args(engine.url)
    return asyncpg.create_pool(
        **options,
        min_size=1,
        max_size=settings.database_pool_size,
        server_settings=SERVER_SETTINGS | {"application_name": "doorstep-sql"},
        reset=_release,
    )


async def _release(connection: asyncpg.Connection) -> None:
    # asyncpg's default reset is a round trip on every release (unlock advisory locks, close
    # cursors, unlisten, reset settings); the hot paths leave none of those behind, at most an
    # unfinished transaction after an error.
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under ``session``, for a hot path written as plain SQL.

    Its statements join the session's database transaction if one has begun (the ORM begins it
    with its first statement); otherwise each statement commits on its own, so such a path keeps
    every write to one statement.
    """
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    if not isinstance(driver, asyncpg.Connection):
        raise TypeError(f"expected an asyncpg connection, got {type(driver).__name__}")
    return driver
