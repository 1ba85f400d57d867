"""Dependency aliases shared by every endpoint module."""

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import get_session
from backend.kit.storage import Storage

# scope="function": the session commits when the endpoint returns, before the response is sent,
# so a client never sees a success whose transaction later fails to commit.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


StorageDep = Annotated[Storage, Depends(get_storage)]
