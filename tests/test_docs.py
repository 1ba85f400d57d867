"""/docs and /redoc point only at Doorstep's own addresses, which serve the bundled assets
(tests/e2e/test_docs_offline.py renders them in Chromium with other hosts cut off)."""

import gzip
import re

import httpx

from backend.ops.docs import ASSETS, ICON, asset_url, assets_version


async def test_pages_load_nothing_from_another_host(client: httpx.AsyncClient) -> None:
    for path, expected in (
        ("/docs", {asset_url("swagger-ui-bundle.js"), asset_url("swagger-ui.css"), ICON}),
        ("/redoc", {asset_url("redoc.standalone.js"), ICON}),
    ):
        page = await client.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        addresses = set(re.findall(r'(?:src|href)="([^"]*)"', page.text))
        assert addresses == expected, path
        assert "fonts.googleapis" not in page.text and "cdn." not in page.text
    swagger = (await client.get("/docs")).text
    assert '"validatorUrl": null' in swagger and "'/openapi.json'" in swagger
    redirect = await client.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200 and "oauth2" in redirect.text.lower()


async def test_assets_are_served_compressed_and_cached_for_good(client: httpx.AsyncClient) -> None:
    for name, media_type in ASSETS.items():
        url = asset_url(name)
        zipped = await client.get(url, headers={"Accept-Encoding": "gzip"})
        assert zipped.status_code == 200, url
        assert zipped.headers["content-type"] == media_type
        assert zipped.headers["content-encoding"] == "gzip"
        assert "immutable" in zipped.headers["cache-control"]
        plain = await client.get(url, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert plain.content == zipped.content  # httpx decodes the gzipped one
        assert len(plain.content) > 100_000
        assert len(gzip.compress(plain.content)) < len(plain.content) / 2
    redoc = (await client.get(asset_url("redoc.standalone.js"))).content
    assert b"cdn.redoc.ly" not in redoc  # its sidebar logo would be fetched from there


async def test_unknown_assets_are_problem_404s(client: httpx.AsyncClient) -> None:
    for url in (
        f"/docs/assets/{assets_version()}/favicon.png",
        f"/docs/assets/{assets_version()}/../../pyproject.toml",
        "/docs/assets/0.0.0/swagger-ui.css",
        "/docs/assets/x",
    ):
        response = await client.get(url)
        assert response.status_code == 404, url
        assert response.headers["content-type"] == "application/problem+json", url
