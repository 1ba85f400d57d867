"""Start-up time of ``doorstep serve`` on an existing data dir, to the first 200 from /readyz.

The first start (initdb + migrations) prepares a data dir in a temporary directory; each later
start is timed from spawning the process to the first ``200`` from ``/readyz`` (polled every
20 ms), then the server is stopped with SIGTERM. Goal: second start < 5 s.

Usage: python bench/bench_startup.py [--repeat N]
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

GOAL_S = 5.0
POLL_S = 0.02
TIMEOUT_S = 120.0


def _doorstep() -> list[str]:
    script = shutil.which("doorstep", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "backend.cli"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOORSTEP_")}
    env.update(
        DOORSTEP_DATA_DIR=str(data_dir),
        DOORSTEP_LOG_LEVEL="WARNING",
        DOORSTEP_SCHEDULER_ENABLED="true",
    )
    return env


def start_and_time(data_dir: Path, log: Path) -> float:
    """Spawn ``doorstep serve``, return seconds to the first 200 from /readyz, then stop it."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/readyz"
    with log.open("a") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            [*_doorstep(), "serve", "--port", str(port)],
            env=_env(data_dir),
            cwd=data_dir.parent,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        with httpx.Client(timeout=1.0) as client:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(
                        f"doorstep serve exited with {process.returncode}; see {log}"
                    )
                if time.perf_counter() - started > TIMEOUT_S:
                    raise RuntimeError(f"not ready after {TIMEOUT_S} s; see {log}")
                try:
                    if client.get(url).status_code == 200:
                        elapsed = time.perf_counter() - started
                        break
                except httpx.TransportError:
                    pass
                time.sleep(POLL_S)
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
        if code != 0:
            raise RuntimeError(f"doorstep serve exited with {code} after SIGTERM; see {log}")
        return elapsed
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed second starts (default 3)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="doorstep-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        log = Path(tmp) / "serve.log"
        try:
            first = start_and_time(data_dir, log)
            seconds = [start_and_time(data_dir, log) for _ in range(args.repeat)]
        except RuntimeError as exc:
            print(f"bench_startup: FAILED: {exc}")
            print(log.read_text()[-4000:] if log.exists() else "")
            return 1

    print("doorstep serve start-up to the first 200 from /readyz")
    print(f"  first start (initdb + migrations): {first:.2f} s")
    print(
        f"  second start, {len(seconds)} runs:          " + ", ".join(f"{s:.2f}" for s in seconds)
    )
    median = statistics.median(seconds)
    verdict = "OK" if median < GOAL_S else "OVER GOAL"
    print(f"  second start median: {median:.2f} s, max {max(seconds):.2f} s")
    print(f"  goal < {GOAL_S:.0f} s: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
