"""How backend/pwa.py serves the app shell (no browser): version, service worker, navigations,
server paths left alone, compression, revalidation, the manifest and its icons."""

import gzip
import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from backend.config import Environment, Settings
from backend.main import PWA_DIR
from backend.pwa import ON_DEMAND_FILES, precache_urls, pwa_version, shell_files

TOKEN = "A" * 43


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    # No lifespan: nothing here touches the database.
    from backend.main import create_app

    settings = Settings(
        environment=Environment.test,
        database_url="postgresql+asyncpg://unused@127.0.0.1:1/unused",
        data_dir=tmp_path,
        secret_key="test-secret-key-of-enough-length-0123456789",
        scheduler_enabled=False,
        _env_file=None,
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def test_version_follows_every_shell_file(tmp_path: Path) -> None:
    copy = tmp_path / "pwa"
    shutil.copytree(PWA_DIR, copy)
    before = pwa_version(copy)
    assert before == pwa_version(copy)
    (copy / "sw.js").write_text((copy / "sw.js").read_text() + "\n// changed\n")
    assert pwa_version(copy) != before
    (copy / "notes.txt").write_text("not part of the shell")
    changed = pwa_version(copy)
    assert pwa_version(copy) == changed


def test_precache_lists_the_shell_but_not_the_worker() -> None:
    urls = precache_urls(PWA_DIR)
    assert "/" in urls and "/sw.js" not in urls and "/index.html" not in urls
    for url in ("/app/main.js", "/app/outbox.js", "/manifest.webmanifest", "/icons/icon-192.png"):
        assert url in urls
    # Every shell file but the worker and the on-demand screens, which the worker caches later.
    assert len(urls) == len(shell_files(PWA_DIR)) - 1 - len(ON_DEMAND_FILES)
    for name in ON_DEMAND_FILES:
        assert (PWA_DIR / name).is_file(), name
        assert f"/{name}" not in urls


async def test_service_worker_carries_version_and_precache(client: httpx.AsyncClient) -> None:
    response = await client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["service-worker-allowed"] == "/"
    first_line = response.text.split("\n", 1)[0]
    config = json.loads(re.fullmatch(r"self\.__DOORSTEP__ = (.*);", first_line)[1])  # type: ignore[index]
    assert config["version"] == pwa_version(PWA_DIR)
    assert config["precache"] == precache_urls(PWA_DIR)
    version = await client.get("/app-version.json")
    assert version.json() == {"version": config["version"]}


@pytest.mark.parametrize("path", ["/", "/index.html", f"/q/{TOKEN}", "/visit/abc", "/outbox"])
async def test_navigations_get_the_app_shell(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert '<script type="module" src="/app/main.js">' in response.text


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/no-such-thing", 404),
        ("/api", 404),
        ("/metrics/extra", 404),
        ("/app/no-such-module.js", 404),
        ("/favicon.ico", 404),
        ("/api/v1/auth/token", 405),  # POST only: the method is wrong, not the path
    ],
)
async def test_server_paths_are_never_the_app(
    client: httpx.AsyncClient, path: str, status: int
) -> None:
    response = await client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


async def test_server_pages_still_answer(client: httpx.AsyncClient) -> None:
    assert (await client.get("/openapi.json")).json()["info"]["title"] == "Doorstep API"
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


async def test_compressed_and_revalidated(client: httpx.AsyncClient) -> None:
    plain = await client.get("/app/main.js", headers={"Accept-Encoding": "identity"})
    packed = await client.get("/app/main.js", headers={"Accept-Encoding": "gzip, br"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding"
    assert packed.content == plain.content  # httpx decoded the gzip body
    raw = (PWA_DIR / "app" / "main.js").read_bytes()
    assert plain.content == raw and len(gzip.compress(raw)) < len(raw)
    again = await client.get("/app/main.js", headers={"If-None-Match": plain.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    head = await client.head("/app/main.js")
    assert head.status_code == 200 and head.content == b""


def test_manifest_makes_it_installable() -> None:
    manifest = json.loads((PWA_DIR / "manifest.webmanifest").read_text())
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    assert manifest["name"] and manifest["short_name"] and manifest["theme_color"]
    seen = set()
    for icon in manifest["icons"]:
        with Image.open(PWA_DIR / icon["src"].lstrip("/")) as image:
            assert f"{image.width}x{image.height}" == icon["sizes"]
        seen.add((icon["sizes"], icon.get("purpose", "any")))
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= seen


def test_nothing_is_loaded_from_another_origin() -> None:
    external = re.compile(
        r"""(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import|"""
        r"""import\s*\(?\s*["'](https?:)?//|from\s+["'](https?:)?//"""
    )
    for path in shell_files(PWA_DIR):
        if path.suffix in (".png",):
            continue
        text = path.read_text()
        assert not external.search(text), f"{path.name} loads something from another origin"
