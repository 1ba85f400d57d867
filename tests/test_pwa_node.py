"""The PWA's browser-free tests (``tests/pwa/*.test.js``: the outbox's replay rules and what
submit needs) under node's built-in test runner, as part of ``make test`` and CI.

They import the app's own modules (plain ES modules, no build step) with an in-memory queue and a
fake network in place of IndexedDB and fetch; what needs a real IndexedDB (one transaction per
change) is tested in Chromium (tests/e2e/test_policy_and_outbox.py)."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NODE_TESTS = sorted((ROOT / "tests" / "pwa").glob("*.test.js"))


def test_pwa_rules_under_node() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "Node.js not found: the PWA's replay-rule tests run under `node --test` (Node 20+; "
            "it also installs the PWA's npm packages). Install it, e.g. `apt-get install nodejs`.",
            pytrace=False,
        )
    assert NODE_TESTS, "no tests/pwa/*.test.js"
    result = subprocess.run(
        [node, "--test", *(str(path.relative_to(ROOT)) for path in NODE_TESTS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
