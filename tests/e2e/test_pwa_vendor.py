"""The PWA's npm-installed files (no browser): the scan screen's QR decoder is served from
node_modules under /vendor/ like a shell file (gzip, ETag, part of the version), listed for the
worker to cache after the first load (``later``), never in the first-load precache; without
node_modules the server still starts and says how to install it."""

import gzip
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from backend.main import PWA_DIR
from backend.pwa import (
    ON_DEMAND_FILES,
    VENDOR_FILES,
    default_node_modules,
    mount_pwa,
    precache_urls,
    pwa_version,
)

NODE_MODULES = default_node_modules(PWA_DIR)


def _app(node_modules: Path) -> httpx.AsyncClient:
    app = FastAPI()
    mount_pwa(app, PWA_DIR, node_modules)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def _config(sw_source: str) -> dict[str, object]:
    first_line = sw_source.split("\n", 1)[0]
    match = re.fullmatch(r"self\.__DOORSTEP__ = (.*);", first_line)
    assert match is not None
    config: dict[str, object] = json.loads(match[1])
    return config


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    if not (NODE_MODULES / VENDOR_FILES["vendor/jsqr.js"]).is_file():
        pytest.fail("node_modules/jsqr missing: run `make install` (npm ci)", pytrace=False)
    async with _app(NODE_MODULES) as http:
        yield http


async def test_decoder_served_compressed_and_revalidated(client: httpx.AsyncClient) -> None:
    response = await client.get("/vendor/jsqr.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["content-encoding"] == "gzip"
    raw = (NODE_MODULES / VENDOR_FILES["vendor/jsqr.js"]).read_bytes()
    assert response.content == raw
    assert len(gzip.compress(raw)) < 150 * 1024  # the scan screen's budget
    again = await client.get("/vendor/jsqr.js", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


async def test_decoder_cached_later_not_in_the_first_load(client: httpx.AsyncClient) -> None:
    config = _config((await client.get("/sw.js")).text)
    on_demand = sorted(f"/{name}" for name in ON_DEMAND_FILES)
    assert config["later"] == [*on_demand, "/vendor/jsqr.js"]
    assert config["precache"] == precache_urls(PWA_DIR)
    assert not any(url.startswith("/vendor/") for url in precache_urls(PWA_DIR))
    assert config["version"] == pwa_version(PWA_DIR, NODE_MODULES)


def test_version_follows_the_vendored_files(tmp_path: Path) -> None:
    modules = tmp_path / "node_modules"
    target = modules / VENDOR_FILES["vendor/jsqr.js"]
    target.parent.mkdir(parents=True)
    without = pwa_version(PWA_DIR, modules)
    target.write_text("self.jsQR = () => null;\n")
    with_one = pwa_version(PWA_DIR, modules)
    target.write_text("self.jsQR = () => null; // 1.4.1\n")
    assert len({without, with_one, pwa_version(PWA_DIR, modules)}) == 3


async def test_server_starts_without_node_modules(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="backend.pwa"):
        async with _app(tmp_path / "node_modules") as http:
            assert (await http.get("/app/main.js")).status_code == 200
            assert (await http.get("/vendor/jsqr.js")).status_code == 404
            later = _config((await http.get("/sw.js")).text)["later"]
            assert later == sorted(f"/{name}" for name in ON_DEMAND_FILES)  # no decoder
    assert "falls back to typing the door code" in caplog.text
    assert "npm ci" in caplog.text
