"""A real ``uvicorn`` process serving the app against a test database, for tests that must
talk HTTP to a separate process (fuzzing, browsers); and the ``doorstep`` command, with the
environment the tests run it in."""

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def doorstep_command() -> list[str]:
    """The installed ``doorstep`` script next to this Python, else ``python -m backend.cli``."""
    script = shutil.which("doorstep", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "backend.cli"]


def cli_environment(data_dir: Path) -> dict[str, str]:
    """This process's environment without any ``DOORSTEP_*`` setting, plus a test's own: the
    data dir (and so the embedded database in it), quiet logs, no scheduler."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DOORSTEP_")}
    environment.update(
        DOORSTEP_DATA_DIR=str(data_dir),
        DOORSTEP_ENVIRONMENT="test",
        DOORSTEP_LOG_LEVEL="WARNING",
        DOORSTEP_SCHEDULER_ENABLED="false",
    )
    return environment


@contextmanager
def running_server(database_url: str, data_dir: Path, **env: str) -> Iterator[str]:
    with server_process(database_url, data_dir, **env) as (_, base_url):
        yield base_url


@contextmanager
def server_process(
    database_url: str, data_dir: Path, **env: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Like ``running_server``, with the uvicorn process itself, for tests that kill it."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    environment = {
        **os.environ,
        "DOORSTEP_DATABASE_URL": database_url,
        "DOORSTEP_DATA_DIR": str(data_dir),
        "DOORSTEP_SECRET_KEY": "test-secret-key-of-enough-length-0123456789",
        "DOORSTEP_SCHEDULER_ENABLED": "false",
        "DOORSTEP_PUBLIC_BASE_URL": base_url,
        "DOORSTEP_LOG_LEVEL": "WARNING",
        **env,
    }
    command = [sys.executable, "-m", "uvicorn", "backend.main:create_app", "--factory"]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        cwd=ROOT,
        env=environment,
    )
    try:
        wait_until_answering(process, f"{base_url}/readyz")
        yield process, base_url
    finally:
        stop(process)


def wait_until_answering(process: subprocess.Popen[bytes], url: str, timeout_s: float = 30) -> None:
    """Poll ``url`` until it answers 200, failing early if the process dies."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
