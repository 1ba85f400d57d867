"""Serving the PWA (DESIGN §7): the app shell, its version and the service worker.

The shell is read into memory once at startup: each file's bytes, a gzip copy and an ETag. Its
version is a hash of every shell file's path and content, so any edit (the service worker
included) makes browsers install a new worker, which precaches the new shell under the new
version and waits for the rep's tap before taking over.

``/sw.js`` is served with ``self.__DOORSTEP__ = {"version", "precache", "later"}`` prepended: the
worker never guesses its own version or file lists, the server derives them from the files.

Third-party code (the QR decoder of the scan screen) is installed with npm from ``package.json``
at the repository root into ``node_modules/`` and served under ``/vendor/...`` like a shell file
(gzip, ETag, part of the version), but it is not in the first load: the worker caches the
``later`` list once the app is up, and only the screen that needs it imports it. Without
``node_modules`` (``npm ci`` never ran) the server still starts, logs how to install it, and the
scan screen falls back to typing the code.

Routing: ``/``, ``/index.html``, ``/q/{token}`` and any other unknown navigation get
``index.html`` (the app routes on the client); real files are served as themselves; paths owned
by the server (``/api``, ``/s/``, ``/docs``, ``/openapi.json``, ``/healthz``, ...) are never
answered with the app: a miss there is a problem+json 404 (or 405 when only the method is wrong).
"""

import gzip
import hashlib
import json
import logging
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

# What the app shell is made of; anything else under pwa/ (notes, scripts) is not served.
SHELL_SUFFIXES = frozenset({".html", ".js", ".css", ".webmanifest", ".png", ".svg", ".json"})
SERVICE_WORKER = "sw.js"
INDEX = "index.html"
# Paths the server owns: never answered with the app shell, online or (in sw.js) offline.
SERVER_PREFIXES = (
    "api/",
    "s/",
    "cal/",
    "docs",
    "redoc",
    "openapi.json",
    "healthz",
    "readyz",
    "metrics",
)
# Tiny files do not shrink under gzip; below this they are sent as they are.
GZIP_MIN_BYTES = 512
NO_CACHE = "no-cache"
# Served URL path -> file under node_modules/ (npm packages pinned in package.json).
VENDOR_FILES = {"vendor/jsqr.js": "jsqr/dist/jsQR.js"}
# Shell files a screen imports on demand (the audit tour, the rectification lists, the calendar
# subscription block): part of the version, cached by the worker after the first load like the
# vendored files, never in a rep's first load (DESIGN §7: first load ≤ 100 KB).
ON_DEMAND_FILES = frozenset(
    {
        "app/audits.js",
        "app/calendar-subscribe.js",
        "app/audit-rules.js",
        "app/screens/audit.js",
        "app/screens/rectifications.js",
    }
)

logger = logging.getLogger(__name__)

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


def shell_files(pwa_dir: Path) -> list[Path]:
    """The app-shell files under ``pwa_dir`` (the service worker included), sorted by path."""
    files = [
        path
        for path in pwa_dir.rglob("*")
        if path.is_file()
        and path.suffix in SHELL_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(pwa_dir).parts)
    ]
    return sorted(files, key=lambda path: path.relative_to(pwa_dir).as_posix())


def default_node_modules(pwa_dir: Path) -> Path:
    """Where ``npm ci`` puts the packages: ``node_modules/`` beside ``pwa/`` (the repo root)."""
    return pwa_dir.parent / "node_modules"


def vendor_files(node_modules: Path) -> dict[str, Path]:
    """The vendored files that are installed, by served name (``vendor/jsqr.js``), sorted."""
    found = {name: node_modules / source for name, source in sorted(VENDOR_FILES.items())}
    return {name: path for name, path in found.items() if path.is_file()}


def pwa_version(pwa_dir: Path, node_modules: Path | None = None) -> str:
    """A hash of every shell file's and vendored file's path and content: changes whenever any
    of them does (a new decoder release installs a new worker too)."""
    digest = hashlib.sha256()
    shell = [(path.relative_to(pwa_dir).as_posix(), path) for path in shell_files(pwa_dir)]
    vendored = vendor_files(node_modules or default_node_modules(pwa_dir))
    for text_name, path in [*shell, *vendored.items()]:
        name = text_name.encode()
        content = path.read_bytes()
        # Lengths first, so no two different file sets can hash the same bytes.
        digest.update(len(name).to_bytes(4, "big") + name)
        digest.update(len(content).to_bytes(8, "big") + content)
    return digest.hexdigest()[:20]


def precache_urls(pwa_dir: Path) -> list[str]:
    """The URLs the service worker precaches: every shell file but itself and the on-demand
    ones, index.html as ``/``."""
    urls = []
    for path in shell_files(pwa_dir):
        name = path.relative_to(pwa_dir).as_posix()
        if name == SERVICE_WORKER or name in ON_DEMAND_FILES:
            continue
        urls.append("/" if name == INDEX else f"/{name}")
    return urls


def later_urls(node_modules: Path, pwa_dir: Path | None = None) -> list[str]:
    """What the worker caches after the first load, for offline use: the vendored files and the
    on-demand shell files."""
    shell = (
        [f"/{name}" for name in sorted(ON_DEMAND_FILES) if (pwa_dir / name).is_file()]
        if pwa_dir is not None
        else []
    )
    return [*shell, *(f"/{name}" for name in vendor_files(node_modules))]


def is_server_path(path: str) -> bool:
    """True for paths the server answers itself (``path`` without its leading slash)."""
    return any(path == prefix.rstrip("/") or path.startswith(prefix) for prefix in SERVER_PREFIXES)


@dataclass(frozen=True, slots=True)
class ShellFile:
    media_type: str
    body: bytes
    gzipped: bytes | None
    etag: str


def _media_type(path: Path) -> str:
    return (
        _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    )


def _shell_file(path: Path, body: bytes, version: str) -> ShellFile:
    packed = gzip.compress(body, compresslevel=9, mtime=0) if len(body) >= GZIP_MIN_BYTES else None
    if packed is not None and len(packed) >= len(body):
        packed = None
    tag = hashlib.sha256(version.encode() + body).hexdigest()[:20]
    return ShellFile(_media_type(path), body, packed, f'"{tag}"')


def service_worker_source(pwa_dir: Path, version: str, later: list[str] | None = None) -> bytes:
    """sw.js with its version, precache list and later list prepended."""
    config = json.dumps(
        {"version": version, "precache": precache_urls(pwa_dir), "later": later or []}
    )
    prelude = f"self.__DOORSTEP__ = {config};\n"
    return prelude.encode() + (pwa_dir / SERVICE_WORKER).read_bytes()


class Shell:
    """The app shell in memory, read once: file bodies, gzip copies and ETags by URL path."""

    def __init__(self, pwa_dir: Path, node_modules: Path | None = None) -> None:
        node_modules = node_modules or default_node_modules(pwa_dir)
        self.version = pwa_version(pwa_dir, node_modules)
        self.later = later_urls(node_modules, pwa_dir)
        self.files: dict[str, ShellFile] = {}
        for path in shell_files(pwa_dir):
            name = path.relative_to(pwa_dir).as_posix()
            if name == SERVICE_WORKER:
                body = service_worker_source(pwa_dir, self.version, self.later)
            else:
                body = path.read_bytes()
            self.files[name] = _shell_file(path, body, self.version)
        vendored = vendor_files(node_modules)
        for name, path in vendored.items():
            self.files[name] = _shell_file(path, path.read_bytes(), self.version)
        missing = sorted(set(VENDOR_FILES) - set(vendored))
        if missing:
            logger.warning(
                "PWA: %s not installed under %s: the scan screen falls back to typing the door "
                "code; run `npm ci --omit=dev --ignore-scripts` at the repository root "
                "(`make install` does)",
                ", ".join(f"/{name}" for name in missing),
                node_modules,
            )
        self.files["app-version.json"] = _shell_file(
            Path("app-version.json"), json.dumps({"version": self.version}).encode(), self.version
        )

    def response(self, request: Request, name: str) -> Response:
        file = self.files[name]
        headers = {
            "ETag": file.etag,
            # Nothing is fingerprinted by name (no build step), so every file is revalidated;
            # the service worker, not the HTTP cache, is what makes the app work offline.
            "Cache-Control": NO_CACHE,
            "Vary": "Accept-Encoding",
            "X-Content-Type-Options": "nosniff",
        }
        if name == SERVICE_WORKER:
            headers["Service-Worker-Allowed"] = "/"
        if _etag_matches(request.headers.get("if-none-match"), file.etag):
            return Response(status_code=304, headers=headers)
        body = file.body
        if file.gzipped is not None and _accepts_gzip(request.headers.get("accept-encoding")):
            body = file.gzipped
            headers["Content-Encoding"] = "gzip"
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(body))
            return Response(status_code=200, headers=headers, media_type=file.media_type)
        return Response(body, headers=headers, media_type=file.media_type)


def _accepts_gzip(header: str | None) -> bool:
    if not header:
        return False
    for part in header.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags


def _method_not_allowed(app: FastAPI, request: Request) -> bool:
    """True when another route has this path but not this method (an API path, say)."""
    for route in app.router.routes:
        match, _ = route.matches(request.scope)
        if match is Match.PARTIAL:
            return True
    return False


def mount_pwa(app: FastAPI, pwa_dir: Path, node_modules: Path | None = None) -> Shell:
    """Serve the PWA from ``pwa_dir`` (and its vendored files from ``node_modules``, by default
    beside it). Call after every other router is included: the catch-all route answers only what
    no other route did."""
    shell = Shell(pwa_dir, node_modules)
    app.state.pwa_version = shell.version

    async def serve(request: Request, path: str = "") -> Response:
        if path in shell.files:
            return shell.response(request, path)
        if path == "":
            return shell.response(request, INDEX)
        if path.endswith("/") and f"{path}{INDEX}" in shell.files:
            return shell.response(request, f"{path}{INDEX}")
        if _method_not_allowed(app, request):
            raise StarletteHTTPException(405)
        if is_server_path(path):
            raise StarletteHTTPException(404)
        if "." in path.rsplit("/", 1)[-1]:
            # A missing asset (app.jss, favicon.ico): a 404, not the app pretending to be it.
            raise StarletteHTTPException(404)
        # /, /q/<token>, /visit/<id>...: the app shell; the client-side router takes it from here.
        return shell.response(request, INDEX)

    async def scanned_qr(request: Request, token: str) -> Response:
        # Kept as its own route so the path is documented as the QR codes' target.
        return shell.response(request, INDEX)

    app.add_api_route("/q/{token}", scanned_qr, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_api_route("/", serve, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_api_route("/{path:path}", serve, methods=["GET", "HEAD"], include_in_schema=False)
    return shell
