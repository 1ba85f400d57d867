"""The embedded PostgreSQL's lifecycle: shared by the processes that use it, stopped by the last
one out, whichever postmaster runs the cluster by then."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from backend.kit.embedded_postgres import EmbeddedPostgres
from tests import pg_ctl
from tests.server import cli_environment, doorstep_command, free_port, wait_until_answering


def test_a_killed_user_does_not_keep_the_cluster_running_for_ever() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="doorstep-embedded-"))
    try:
        first = EmbeddedPostgres(data_dir)
        first.start()
        first.stop()
        handles = data_dir / "postgres" / ".handle_pids.json"
        # A process that died by SIGKILL leaves its pid behind (2**22 + 1 is never a live pid).
        handles.write_text(json.dumps([2**22 + 1]))

        second = EmbeddedPostgres(data_dir)
        url = second.start()
        assert "doorstep" in url
        assert (data_dir / "postgres" / "postmaster.pid").exists()
        second.stop()
        assert not (data_dir / "postgres" / "postmaster.pid").exists()
        assert json.loads(handles.read_text()) == []
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _wait_until_gone(pid: int, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while pg_ctl.alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_stopping_the_server_stops_the_postmaster_restarted_under_it() -> None:
    """``doorstep serve`` on the embedded database; the cluster restarted from outside with
    pg_ctl; the server answers again at once; SIGTERM leaves no postmaster behind."""
    base = Path(tempfile.mkdtemp(prefix="doorstep-lifecycle-"))
    data_dir = base / "data"
    pgdata = data_dir / "postgres"
    env = cli_environment(data_dir)
    port = free_port()
    log = base / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [*doorstep_command(), "serve", "--port", str(port)],
            env=env,
            cwd=base,  # no stray .env from the checkout
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(process, f"{base_url}/readyz", timeout_s=90)
        first = pg_ctl.postmaster_pid(pgdata)
        assert first is not None
        socket = pg_ctl.socket_dir(pgdata)

        with httpx.Client(base_url=base_url, timeout=10) as client:
            assert client.get("/readyz").status_code == 200
            pg_ctl.stop(pgdata)
            pg_ctl.start(pgdata, socket)
            restarted = pg_ctl.postmaster_pid(pgdata)
            assert restarted is not None and restarted != first
            assert not pg_ctl.alive(first)
            # Both pools had connections to the old postmaster: they are replaced, not used.
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text

        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0, log.read_text()
        assert not (pgdata / "postmaster.pid").exists(), "the restarted postmaster was left running"
        assert _wait_until_gone(restarted), "the restarted postmaster outlived doorstep serve"
        assert json.loads((pgdata / ".handle_pids.json").read_text()) == []
        assert "Traceback" not in log.read_text(), log.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        leftover = pg_ctl.postmaster_pid(pgdata)
        if leftover is not None and pg_ctl.alive(leftover):
            pg_ctl.stop(pgdata)
        shutil.rmtree(base, ignore_errors=True)


_HOLDER = """
import sys
from pathlib import Path
from backend.kit.embedded_postgres import EmbeddedPostgres

database = EmbeddedPostgres(Path(sys.argv[1]))
database.start()
print("joined", flush=True)
sys.stdin.readline()
database.stop()
"""


def test_the_last_user_out_stops_the_postmaster_whoever_restarted_it() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="doorstep-embedded-"))
    pgdata = data_dir / "postgres"
    ours = EmbeddedPostgres(data_dir)
    ours.start()
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "joined"
        socket = pg_ctl.socket_dir(pgdata)
        pg_ctl.stop(pgdata)
        pg_ctl.start(pgdata, socket)
        restarted = pg_ctl.postmaster_pid(pgdata)
        assert restarted is not None

        # Two handles in this process count as one user of the cluster, released by the last.
        second = EmbeddedPostgres(data_dir)
        second.start()
        ours.stop()
        assert pg_ctl.postmaster_pid(pgdata) == restarted
        second.stop()
        # The other process still uses it.
        assert pg_ctl.postmaster_pid(pgdata) == restarted and pg_ctl.alive(restarted)

        assert holder.stdin is not None
        holder.stdin.write("done\n")
        holder.stdin.flush()
        assert holder.wait(30) == 0
        assert pg_ctl.postmaster_pid(pgdata) is None
        assert _wait_until_gone(restarted)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
        ours.stop()
        leftover = pg_ctl.postmaster_pid(pgdata)
        if leftover is not None and pg_ctl.alive(leftover):
            pg_ctl.stop(pgdata)
        shutil.rmtree(data_dir, ignore_errors=True)
