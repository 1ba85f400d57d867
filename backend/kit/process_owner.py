"""This process's identity in PostgreSQL: one dedicated connection that lives as long as it does.

Work a process claims in the database (an ``Idempotency-Key`` while its request runs) records
the backend pid and start time of this connection. Another process that finds the claim asks
``pg_stat_activity`` whether that backend still exists: when the process dies (``kill -9``, a
crash, a lost host) the kernel or TCP keepalive closes the connection and PostgreSQL ends the
backend, so the claim is known to be orphaned at once instead of after a timeout.

Why a connection of its own rather than the pooled one that wrote the claim: a pooled connection
outlives nothing in particular. It goes back to the pool right after the claim and may be closed
while the request still runs (an overflow connection returned to a full pool, ``pool_recycle``,
invalidation after an error), which would let a retry take over a live request and run it twice.
This one is never handed out, so it drops only with the process (or the database restarting).
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

# The backend keeps probing the idle socket, so a host that vanished without closing its
# connections (power loss, network cut) is noticed in about a minute, not the system's 2 hours.
# Ignored on Unix-socket connections, which cannot outlive their host anyway.
SERVER_SETTINGS = {
    "application_name": "doorstep-owner",
    "timezone": "UTC",
    "tcp_keepalives_idle": "30",
    "tcp_keepalives_interval": "10",
    "tcp_keepalives_count": "3",
}

# Opening it is on a request's path after the database restarted: an outage must fail fast.
CONNECT_TIMEOUT_S = 5.0

_IDENTITY = "SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()"


@dataclass(frozen=True, slots=True)
class Owner:
    """A database backend: pid alone is reused by the server, pid and start time are not."""

    pid: int
    backend_start: datetime


class ProcessOwner:
    """Opens the owner connection on first use and again whenever it has dropped."""

    def __init__(
        self,
        connect_options: dict[str, Any],
        connect: Callable[..., Awaitable[asyncpg.Connection]] = asyncpg.connect,
    ) -> None:
        # ``connect`` is where the app maps an unreachable database to its 503 (backend.db).
        self._connect_options = connect_options
        self._connect = connect
        self._connection: asyncpg.Connection | None = None
        self._owner: Owner | None = None
        self._opening = asyncio.Lock()

    @classmethod
    def for_engine(
        cls,
        engine: AsyncEngine,
        connect: Callable[..., Awaitable[asyncpg.Connection]] = asyncpg.connect,
    ) -> "ProcessOwner":
        _, options = engine.dialect.create_connect_args(engine.url)
        return cls(dict(options), connect)

    async def current(self) -> Owner:
        """The live owner backend, reconnecting first if the previous one is gone."""
        if self._owner is not None and self._is_open():
            return self._owner
        async with self._opening:
            if self._owner is None or not self._is_open():
                await self._discard()
                self._owner = await self._open()
            return self._owner

    async def close(self) -> None:
        async with self._opening:
            await self._discard()

    def _is_open(self) -> bool:
        return self._connection is not None and not self._connection.is_closed()

    async def _open(self) -> Owner:
        connection = await self._connect(
            **{"timeout": CONNECT_TIMEOUT_S, **self._connect_options},
            server_settings=SERVER_SETTINGS,
        )
        try:
            row = await connection.fetchrow(_IDENTITY)
        except BaseException:
            await connection.close()
            raise
        assert row is not None  # a backend always sees itself
        self._connection = connection
        return Owner(pid=row["pid"], backend_start=row["backend_start"])

    async def _discard(self) -> None:
        connection, self._connection, self._owner = self._connection, None, None
        if connection is not None and not connection.is_closed():
            await connection.close()
