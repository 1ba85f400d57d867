"""The API reference pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), with nothing loaded
from another host.

FastAPI's own pages load Swagger UI and ReDoc from a CDN and their icon from fastapi's site, so
they are blank wherever that is out of reach: offline, on a closed network, often in mainland
China. Here the assets come from a PyPI package, ``fastapi-offline`` (the Swagger UI and ReDoc
bundles as files; pinned in pyproject.toml), and Doorstep serves them itself under
``/docs/assets/<package version>/``: read into memory on first use, gzipped once for clients
that accept it, and cached by browsers for good (a new package version is a new path). The
pages' icon is the app's own (``/icons/icon-192.png``, served with the PWA).

The pages and their assets are public, as FastAPI's are: the OpenAPI document they render is.
"""

import gzip
import importlib.metadata
import importlib.resources
from dataclasses import dataclass
from functools import cache
from typing import Final

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from starlette.responses import HTMLResponse

from backend.errors import NotFound

PACKAGE: Final = "fastapi_offline"
ICON: Final = "/icons/icon-192.png"
DOCS_URL: Final = "/docs"
REDOC_URL: Final = "/redoc"
OAUTH2_REDIRECT_URL: Final = "/docs/oauth2-redirect"
ASSETS_PREFIX: Final = "/docs/assets"
# The files the pages load, and how they are served.
ASSETS: Final = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
}
# The one address in the bundles that a page would fetch from another host: ReDoc's sidebar
# logo (always shown, no option hides it). Emptied, the image fails at once without a request
# and ReDoc's own error handler removes it.
OFF_HOST_IN_BUNDLES: Final = {
    "redoc.standalone.js": (b'"https://cdn.redoc.ly/redoc/logo-mini.svg"',)
}
IMMUTABLE: Final = "public, max-age=31536000, immutable"
SWAGGER_UI_PARAMETERS: Final = {
    # Swagger UI would otherwise show a badge fetched from the online validator (another host).
    "validatorUrl": None,
    # Long operation lists: let a reader filter by tag.
    "filter": True,
}


@dataclass(frozen=True, slots=True)
class _Asset:
    media_type: str
    body: bytes
    gzipped: bytes


def assets_version() -> str:
    """The installed package's version: part of every asset's path."""
    return importlib.metadata.version(PACKAGE.replace("_", "-"))


def asset_url(name: str) -> str:
    return f"{ASSETS_PREFIX}/{assets_version()}/{name}"


@cache
def _asset(name: str) -> _Asset:
    data = (importlib.resources.files(PACKAGE) / "static" / name).read_bytes()
    for address in OFF_HOST_IN_BUNDLES.get(name, ()):
        data = data.replace(address, b'""')
    return _Asset(ASSETS[name], data, gzip.compress(data, compresslevel=6, mtime=0))


def _accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "").lower()


def install_docs(app: FastAPI) -> None:
    """Add the reference pages to ``app`` (created with ``docs_url=None, redoc_url=None``),
    before any catch-all mount so that they answer their paths."""
    openapi_url = app.openapi_url or "/openapi.json"
    router = APIRouter(include_in_schema=False)

    @router.get(DOCS_URL)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} · Swagger UI",
            swagger_js_url=asset_url("swagger-ui-bundle.js"),
            swagger_css_url=asset_url("swagger-ui.css"),
            swagger_favicon_url=ICON,
            oauth2_redirect_url=OAUTH2_REDIRECT_URL,
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    @router.get(OAUTH2_REDIRECT_URL)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @router.get(REDOC_URL)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} · ReDoc",
            redoc_js_url=asset_url("redoc.standalone.js"),
            redoc_favicon_url=ICON,
            with_google_fonts=False,
        )

    @router.get(ASSETS_PREFIX + "/{version}/{name}")
    def asset(request: Request, version: str, name: str) -> Response:
        # A plain function: the first read and gzip of a bundle run in the thread pool.
        if version != assets_version() or name not in ASSETS:
            raise NotFound("No such documentation asset.")
        found = _asset(name)
        headers = {
            "Cache-Control": IMMUTABLE,
            "Vary": "Accept-Encoding",
            "X-Content-Type-Options": "nosniff",
        }
        if _accepts_gzip(request):
            headers["Content-Encoding"] = "gzip"
            return Response(found.gzipped, media_type=found.media_type, headers=headers)
        return Response(found.body, media_type=found.media_type, headers=headers)

    app.include_router(router)
