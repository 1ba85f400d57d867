"""Run every benchmark in bench/ (each ``bench_*.py`` prints its own figures); ``make bench``.

A benchmark that fails is reported and makes the run exit non-zero, after the others have run.
Usage: python bench/run_all.py [NAME_FRAGMENT...]
"""

import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent


def main(argv: list[str]) -> int:
    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(part in s.name for part in argv)]
    if not scripts:
        print("run_all: no benchmarks found")
        return 1
    failed: list[str] = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        started = time.perf_counter()
        code = subprocess.run([sys.executable, str(script)], cwd=ROOT, check=False).returncode
        took = time.perf_counter() - started
        status = "ok" if code == 0 else f"FAILED (exit {code})"
        print(f"-- {script.name}: {status} in {took:.1f} s\n", flush=True)
        if code != 0:
            failed.append(script.name)
    if failed:
        print("run_all: failed: " + ", ".join(failed))
        return 1
    print(f"run_all: {len(scripts)} benchmark(s) done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
