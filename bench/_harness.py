"""Pieces the benchmarks share (not a benchmark: ``run_all.py`` runs ``bench_*.py`` only).

- :func:`migrated_postgres`: an embedded PostgreSQL in a temporary directory, migrated to head;
- :func:`bench_settings`: Settings for the app pointed at it, :func:`app_env` the same for a
  server process;
- :func:`seed_org`: an organization with its admin, one rep and one store, through the services;
- :func:`vacuum_and_checkpoint`: after a bulk load, statistics fresh and pages written out;
- :func:`uvicorn_server`: a real ``uvicorn`` process (1 worker) on 127.0.0.1, stopped afterwards;
- :func:`http_load`: a small HTTP/1.1 keep-alive load generator (asyncio streams, requests
  pre-encoded), so the client spends as little of the shared CPU as possible;
- :func:`percentile`: nearest-rank percentiles, :func:`timing_summary` a line of them;
- :data:`CHROMIUM_ARGS`: how the browser benchmarks start a headless Chromium.
"""

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from backend import migrate
from backend.config import Environment, Settings
from backend.db import create_engine, create_sessionmaker, session_scope
from backend.kit.embedded_postgres import EmbeddedPostgres
from backend.models import Organization, Store
from backend.models.user import Role
from backend.orgs import service as org_service
from backend.stores import service as store_service
from backend.stores.schemas import StoreCreate
from backend.users import service as user_service
from backend.users.schemas import UserCreate

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
SECRET_KEY = "bench-secret-key-of-enough-length-0123456789"
PUBLIC_BASE_URL = "https://doorstep.bench"
PASSWORD = "bench-password-123"
STORE_AT = (30.2741, 120.1551)  # where the one store of :func:`seed_org` stands
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

T = TypeVar("T")


# --- database, settings --------------------------------------------------------------------------


@contextmanager
def migrated_postgres(prefix: str) -> Iterator[tuple[str, Path]]:
    """Yield ``(asyncpg SQLAlchemy URL, temporary directory)``; the cluster is stopped after."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        embedded = EmbeddedPostgres(Path(tmp))
        url = embedded.start()
        try:
            migrate.upgrade(url)
            yield url, Path(tmp)
        finally:
            embedded.stop()


def bench_settings(url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": Environment.test,
        "database_url": url,
        "data_dir": data_dir,
        "secret_key": SECRET_KEY,
        "public_base_url": PUBLIC_BASE_URL,
        "scheduler_enabled": False,
        "log_json": False,
        "log_level": "WARNING",
        **overrides,
    }
    return Settings(**values, _env_file=None)


async def vacuum_and_checkpoint(engine: AsyncEngine, tables: str = "") -> None:
    """``VACUUM ANALYZE`` (of ``tables``, else all) and a ``CHECKPOINT``, so a bulk load's pages
    are written out now, not while something is being timed."""
    connection = await engine.connect()
    try:
        raw = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await raw.exec_driver_sql(f"VACUUM ANALYZE {tables}".strip())
        await raw.exec_driver_sql("CHECKPOINT")
    finally:
        await connection.close()


def app_env(
    url: str, data_dir: Path, *, public_base_url: str | None = PUBLIC_BASE_URL
) -> dict[str, str]:
    """The ``DOORSTEP_*`` environment of a server process with :func:`bench_settings`' values
    (``public_base_url=None``: none set, the app's own default)."""
    env = {
        "DOORSTEP_DATABASE_URL": url,
        "DOORSTEP_DATA_DIR": str(data_dir),
        "DOORSTEP_SECRET_KEY": SECRET_KEY,
        "DOORSTEP_PUBLIC_BASE_URL": public_base_url,
        "DOORSTEP_SCHEDULER_ENABLED": "false",
        "DOORSTEP_LOG_LEVEL": "WARNING",
    }
    return {name: value for name, value in env.items() if value is not None}


def bench_store(**overrides: Any) -> StoreCreate:
    """Store ``B-1`` at :data:`STORE_AT`; keyword arguments replace fields."""
    values: dict[str, Any] = {
        "code": "B-1",
        "name": "老百姓大药房",
        "address": "杭州",
        "lat": STORE_AT[0],
        "lng": STORE_AT[1],
        "customer_type": "pharmacy",
        **overrides,
    }
    return StoreCreate(**values)


async def seed_org(
    settings: Settings, store: StoreCreate | None = None, rep_display_name: str = "Rep"
) -> tuple[Organization, Store]:
    """Organization "Bench" with ``bench-admin`` and ``bench-rep`` (password :data:`PASSWORD`)
    and one store (:func:`bench_store` unless given), made through the services on
    ``settings.database_url``."""
    store = store or bench_store()
    assert settings.database_url
    engine = create_engine(settings.database_url, settings)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            org, admin = await org_service.create_org(session, "Bench", "bench-admin", PASSWORD)
            await user_service.create_user(
                session,
                org.id,
                UserCreate(
                    username="bench-rep",
                    display_name=rep_display_name,
                    role=Role.rep,
                    password=PASSWORD,
                ),
                admin.id,
            )
            made = await store_service.create_store(session, settings, org.id, store, admin.id)
            return org, made
    finally:
        await engine.dispose()


def asyncpg_dsn(url: str) -> str:
    """A plain ``postgresql://`` DSN (for asyncpg) from a SQLAlchemy ``+asyncpg`` URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n * q / 100), at least 1
    return ordered[min(len(ordered), int(rank)) - 1]


def timing_summary(times: Sequence[float]) -> str:
    """``median … p95 … p99 … max …`` of ``times`` (in ms), aligned for a column of them."""
    return (
        f"median {statistics.median(times):6.2f} ms   p95 {percentile(times, 95):6.2f} ms"
        f"   p99 {percentile(times, 99):6.2f} ms   max {max(times):6.2f} ms"
    )


# --- a real server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    port: int
    pid: int

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the server process has used (Linux /proc), else None."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def uvicorn_server(
    target: str,
    env: dict[str, str],
    log: Path,
    *,
    app_dir: Path | None = None,
    ready_path: str = "/readyz",
    timeout_s: float = 60.0,
) -> Iterator[Server]:
    """Run ``uvicorn --factory TARGET`` (one worker, no access log) and yield it once
    ``ready_path`` answers 200. Stopped with SIGTERM (SIGKILL after 15 s) on exit."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", target, "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning"]
    if app_dir is not None:
        command += ["--app-dir", str(app_dir)]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DOORSTEP_")}
    environment.update(env)
    with log.open("a") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=1.0) as client:
            while True:
                if process.poll() is not None:
                    tail = log.read_text()[-3000:]
                    raise RuntimeError(f"{target} exited with {process.returncode}:\n{tail}")
                try:
                    if client.get(f"http://127.0.0.1:{port}{ready_path}").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{target} not ready after {timeout_s:.0f} s")
                time.sleep(0.05)
        yield Server(port, process.pid)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


# --- load generator -------------------------------------------------------------------------------


def http_request(
    method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    """One pre-encoded HTTP/1.1 keep-alive request to 127.0.0.1."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class LoadResult:
    seconds: float
    latencies_ms: list[float]
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # first few non-2xx answers or errors

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def not_ok(self) -> int:
        return len(self.latencies_ms) - self.ok

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep_alive) of one response with a Content-Length (or chunked) body."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    chunked = False
    keep_alive = True
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
        elif name == "connection" and value.strip().lower() == "close":
            keep_alive = False
    if not chunked:
        return status, await reader.readexactly(length), keep_alive
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, b"".join(parts), keep_alive
        parts.append(chunk[:-2])


async def http_load(
    port: int, requests: Sequence[bytes], concurrency: int, *, timeout_s: float = 300.0
) -> LoadResult:
    """Send every request once from ``concurrency`` keep-alive connections (each connection one
    request at a time). Latency is from writing the request to reading the whole response."""
    next_index = 0
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    failures: list[str] = []

    async def worker() -> None:
        nonlocal next_index
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while next_index < len(requests):
                request = requests[next_index]
                next_index += 1
                started = time.perf_counter()
                writer.write(request)
                try:
                    status, body, keep_alive = await _read_response(reader)
                except (asyncio.IncompleteReadError, ConnectionError) as exc:
                    latencies.append((time.perf_counter() - started) * 1000)
                    statuses[0] += 1
                    if len(failures) < 5:
                        failures.append(f"transport error: {exc!r}")
                    keep_alive = False
                else:
                    latencies.append((time.perf_counter() - started) * 1000)
                    statuses[status] += 1
                    if not 200 <= status < 300 and len(failures) < 5:
                        failures.append(f"{status}: {body[:300].decode('utf-8', 'replace')}")
                if not keep_alive:
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
        finally:
            writer.close()

    started = time.perf_counter()
    async with asyncio.timeout(timeout_s):
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return LoadResult(time.perf_counter() - started, latencies, statuses, failures)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop when it is installed (uvicorn uses it too)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)
