"""The ``doorstep`` command, run for real in subprocesses against an embedded PostgreSQL in a
temporary data dir: the commands work with and without a running server, fail with one clear
line, and ``serve`` stops its database cleanly on SIGTERM. Also the demo organization that
``seed-demo`` and ``serve --demo`` create."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.config import Settings
from backend.db import session_scope
from backend.demo import demo_stores, seed_demo
from tests.server import cli_environment, doorstep_command, free_port

PASSWORD = "cli-test-password"


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    # Not under pytest's basetemp: as root the embedded PostgreSQL runs as another user, and a
    # concurrent pytest run re-tightens /tmp/pytest-of-<user> to 0700 under its feet.
    base = Path(tempfile.mkdtemp(prefix="doorstep-cli-"))
    try:
        yield base / "data"
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def env(data_dir: Path) -> dict[str, str]:
    return cli_environment(data_dir)


def doorstep(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*doorstep_command(), *args],
        env=env,
        cwd=Path(env["DOORSTEP_DATA_DIR"]).parent,  # no stray .env from the checkout
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _postmaster_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "postgres" / "postmaster.pid"
    if not pid_file.exists():
        return None
    return int(pid_file.read_text().splitlines()[0])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def org(env: dict[str, str], data_dir: Path) -> str:
    migrated = doorstep(env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "migrated to head" in migrated.stdout
    created = doorstep(
        env, "create-org", "--name", "CLI Org", "--admin", "cli-admin", "--password", PASSWORD
    )
    assert created.returncode == 0, created.stderr
    assert "cli-admin" in created.stdout
    assert _postmaster_pid(data_dir) is None, "a CLI command left the embedded database running"
    return "CLI Org"


def test_create_user_and_its_errors(env: dict[str, str], org: str) -> None:
    ok = doorstep(
        env,
        *("create-user", "--org", org, "--username", "cli-rep", "--password", PASSWORD),
        *("--role", "rep", "--display-name", "小李", "--locale", "zh-CN"),
    )
    assert ok.returncode == 0, ok.stderr
    assert "cli-rep" in ok.stdout

    duplicate = doorstep(
        env,
        *("create-user", "--org", org, "--username", "cli-rep", "--password", PASSWORD),
        *("--role", "rep"),
    )
    assert duplicate.returncode == 1
    assert "already taken" in duplicate.stderr
    assert "Traceback" not in duplicate.stderr
    assert len(duplicate.stderr.strip().splitlines()) == 1

    unknown = doorstep(
        env,
        *("create-user", "--org", "No Such Org", "--username", "x-rep", "--password", PASSWORD),
        *("--role", "rep"),
    )
    assert unknown.returncode == 1
    assert "No organization" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    bad_role = doorstep(
        env,
        *("create-user", "--org", org, "--username", "y-rep", "--password", PASSWORD),
        *("--role", "boss"),
    )
    assert bad_role.returncode == 2
    assert "invalid choice: 'boss'" in bad_role.stderr

    short_password = doorstep(
        env,
        *("create-user", "--org", org, "--username", "z-rep", "--password", "short"),
        *("--role", "rep"),
    )
    assert short_password.returncode == 1
    assert "password" in short_password.stderr
    assert "Traceback" not in short_password.stderr


@pytest.fixture
def server(
    env: dict[str, str], data_dir: Path, org: str
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    port = free_port()
    log = data_dir.parent / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [*doorstep_command(), "serve", "--port", str(port)],
            env=env,
            cwd=data_dir.parent,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def _wait_ready(process: subprocess.Popen[str], base: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "doorstep serve exited early"
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError("doorstep serve did not become ready")


def _token(base: str, username: str) -> httpx.Response:
    return httpx.post(
        f"{base}/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": PASSWORD},
        timeout=10,
    )


def test_serve_answers_and_stops_cleanly(
    server: tuple[subprocess.Popen[str], str], env: dict[str, str], data_dir: Path
) -> None:
    process, base = server
    _wait_ready(process, base)
    assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200

    token = _token(base, "cli-admin")
    assert token.status_code == 200, token.text
    assert token.json()["token_type"] == "bearer"

    postgres_pid = _postmaster_pid(data_dir)
    assert postgres_pid is not None and _alive(postgres_pid)

    # A CLI command beside the running server joins its database and leaves it running.
    beside = doorstep(
        env,
        *("create-user", "--org", "CLI Org", "--username", "cli-sup", "--password", PASSWORD),
        *("--role", "supervisor"),
    )
    assert beside.returncode == 0, beside.stderr
    assert httpx.get(f"{base}/readyz", timeout=5).status_code == 200
    assert _token(base, "cli-sup").status_code == 200

    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    log = (data_dir.parent / "serve.log").read_text()
    assert f"Doorstep is running at http://localhost:{base.rsplit(':', 1)[1]}" in log
    assert "Traceback" not in log
    assert _postmaster_pid(data_dir) is None
    deadline = time.monotonic() + 5
    while _alive(postgres_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(postgres_pid), "the embedded PostgreSQL outlived doorstep serve"


async def test_seed_demo_builds_a_realistic_org(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, client: httpx.AsyncClient
) -> None:
    async with session_scope(sessionmaker) as session:
        demo = await seed_demo(session, settings)
    assert len(demo.store_ids) == len(demo_stores(None)) == 60
    assert demo_stores(None) == demo_stores(None)  # deterministic

    tokens = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "rep1", "password": demo.password},
    )
    assert tokens.status_code == 200, tokens.text
    rep = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    me = (await client.get("/api/v1/me", headers=rep)).json()
    assert me["role"] == "rep" and me["team_ids"] == [str(demo.team_id)]

    admin_tokens = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "admin", "password": demo.password},
    )
    admin = {"Authorization": f"Bearer {admin_tokens.json()['access_token']}"}
    users = (await client.get("/api/v1/users?limit=50", headers=admin)).json()["items"]
    roles = sorted(u["role"] for u in users)
    assert roles == ["admin", "rep", "rep", "rep", "rep", "supervisor"]
    teams = (await client.get("/api/v1/teams", headers=admin)).json()
    assert [(t["name"], len(t["member_ids"])) for t in teams] == [("杭州一组", 4)]

    near = await client.get("/api/v1/stores?near=30.2741,120.1551&limit=200", headers=admin)
    assert near.status_code == 200, near.text
    stores = near.json()["items"]
    assert len(stores) == 60
    assert {s["customer_type"] for s in stores} == {"pharmacy", "clinic", "supermarket"}
    assert all(s["distance_m"] < 15_000 for s in stores)  # all around Hangzhou
    assert all(s["team_id"] == str(demo.team_id) for s in stores)
