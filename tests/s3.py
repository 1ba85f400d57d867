"""A real S3-compatible server for the tests: moto in server mode, on loopback only."""

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.server import free_port, stop, wait_until_answering

ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key"


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto in server mode, on loopback only, for the whole session."""
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(proc, url + "/moto-api/")
        yield url
    finally:
        stop(proc)
        log.close()
