"""Dependency aliases shared by every endpoint module."""

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import get_session

# scope="function": the session commits when the endpoint returns, before the response is sent,
# so a client never sees a success whose transaction later fails to commit.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
