"""Dependency aliases shared by every endpoint module."""

from collections.abc import AsyncIterator
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db import SqlConnection, get_session
from backend.kit.storage import Storage

# scope="function": the session commits when the endpoint returns, before the response is sent,
# so a client never sees a success whose transaction later fails to commit.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return sessionmaker


# For an endpoint that needs a session only on a rare path: it opens one with session_scope.
SessionMakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]


async def get_storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


StorageDep = Annotated[Storage, Depends(get_storage)]


async def get_sql_connection(request: Request) -> AsyncIterator[SqlConnection]:
    pool: asyncpg.Pool = request.app.state.sql_pool
    async with pool.acquire() as connection:
        yield connection


# A plain asyncpg connection for the few hot paths written as SQL (see backend.db).
SqlConnectionDep = Annotated[SqlConnection, Depends(get_sql_connection, scope="function")]
