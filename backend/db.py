"""Engine and session factory; the request (or job) boundary commits or rolls back."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from fastapi import Request
from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from backend.config import Settings
from backend.errors import AppError, DatabaseUnavailable, is_database_unavailable
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
    options: dict[str, Any] = {}

    async def open_connection() -> asyncpg.Connection:
        return await connect(**options)

    engine = create_async_engine(
        url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        # No ping per checkout: SQLAlchemy's ping is three round trips (BEGIN, ";", ROLLBACK),
        # about 0.2 ms per session. A restarted server closes its connections' sockets and
        # asyncpg marks them closed as the event loop reads that, so the checkout hook below
        # replaces them for free, as asyncpg's own pool does. Recycling bounds their age.
        pool_pre_ping=False,
        pool_recycle=1800,
        # Connections are opened by ``connect`` (a refused one raises DatabaseUnavailable,
        # which SQLAlchemy would otherwise let through as a bare OSError).
        async_creator=open_connection,
    )
    options.update(connect_options(engine, settings), server_settings=SERVER_SETTINGS)
    event.listen(engine.sync_engine, "checkout", _replace_closed_connection)
    event.listen(engine.sync_engine, "handle_error", _database_unavailable)
    return engine


def connect_options(engine: AsyncEngine, settings: Settings) -> dict[str, Any]:
    """asyncpg's ``connect()`` arguments for the engine's URL, with the connect timeout."""
    _, options = engine.dialect.create_connect_args(engine.url)
    return {**options, "timeout": settings.database_connect_timeout_s}


def _replace_closed_connection(
    dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
) -> None:
    """A pooled connection whose server went away (a restart, a fail-over): the pool drops it
    and checks out another (or opens a new one), so the first request after a quiet restart
    does not fail. No round trip: asyncpg already knows the socket is closed."""
    driver = dbapi_connection.driver_connection
    if isinstance(driver, asyncpg.Connection) and driver.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def _database_unavailable(context: ExceptionContext) -> BaseException | None:
    """Raise ``DatabaseUnavailable`` (503) instead of whatever the driver raised when the
    database cannot be reached: a refused connection, a lost one, a server shutting down."""
    if context.is_pre_ping:  # the pool handles a failed ping itself, with a new connection
        return None
    connecting = context.connection is None  # no connection: this is opening one
    if is_database_unavailable(context.original_exception, connecting=connecting):
        return DatabaseUnavailable()
    return None


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
    return asyncpg.create_pool(
        **connect_options(engine, settings),
        min_size=1,
        max_size=settings.database_pool_size,
        server_settings=SERVER_SETTINGS | {"application_name": "doorstep-sql"},
        connect=connect,
        reset=_release,
    )


async def connect(*args: Any, **kwargs: Any) -> asyncpg.Connection:
    """``asyncpg.connect``; a database that cannot be reached raises ``DatabaseUnavailable``.

    Both pools open their connections with it. They already drop a connection they find closed
    when they hand one out (after a server restart the first request gets a fresh one), so only
    opening one can then fail.
    """
    try:
        connection: asyncpg.Connection = await asyncpg.connect(*args, **kwargs)
    except Exception as exc:
        if is_database_unavailable(exc, connecting=True):
            raise DatabaseUnavailable() from exc
        raise
    return connection


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
