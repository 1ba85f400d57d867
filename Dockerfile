# syntax=docker/dockerfile:1
# Doorstep: one image, one process (`doorstep serve`: migrations, API, PWA, scheduler).
# With DOORSTEP_DATABASE_URL unset it runs the embedded PostgreSQL under /data/postgres.
#
#   docker build -t doorstep .
#   docker run -p 8000:8000 -v doorstep-data:/data -e DOORSTEP_SECRET_KEY=... doorstep

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

# --- vendor: the npm packages, exactly as locked: the scan screen's QR decoder (jsQR) and the CJK
# font for posters and summary cards (Noto Sans SC). Of the font package's nine weights only the
# Regular that backend/kit/fonts.py reads is kept (about 10 MB instead of 95).
FROM ${NODE_IMAGE} AS vendor
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && find node_modules/@expo-google-fonts/noto-sans-sc -mindepth 1 -maxdepth 1 -type d \
        ! -name 400Regular -exec rm -rf {} + \
    && test -f node_modules/@expo-google-fonts/noto-sans-sc/400Regular/NotoSansSC_400Regular.ttf

# --- builder: a virtualenv with Doorstep and its dependencies ---------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app

# Dependencies first (cached until pyproject.toml changes): install against a stub package.
COPY pyproject.toml README.md ./
RUN mkdir backend && touch backend/__init__.py \
    && pip install -e . \
    && rm -rf backend

# The application. The install is editable because alembic.ini, migrations/ and pwa/ are read
# from beside the package; /app is copied unchanged into the final image.
COPY alembic.ini ./
COPY backend ./backend
COPY migrations ./migrations
COPY pwa ./pwa
COPY --from=vendor /app/node_modules ./node_modules
# The build fails unless the packaged CJK font is the one found and reportlab embeds it.
RUN pip install --no-deps -e . \
    && python -m compileall -q backend migrations \
    && doorstep --help > /dev/null \
    && python -c "from backend.config import Settings; from backend.kit import fonts; \
from backend.stores import posters; path = fonts.cjk_font_path(Settings()); \
assert path == fonts.PACKAGED_FONT, path; \
posters.render_posters(path, [posters.PosterData('Doorstep', '', 'X', 'https://x')])"

# --- final: slim runtime, non-root ------------------------------------------------------------
FROM ${PYTHON_IMAGE}

# tini: PID 1 that forwards SIGTERM and reaps the embedded PostgreSQL's processes. No system CJK
# font: posters and summary cards use the packaged one in node_modules/ (docs/operations.md).
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 doorstep \
    && useradd --system --uid 10001 --gid doorstep --home-dir /data --shell /usr/sbin/nologin doorstep \
    && mkdir -p /data \
    && chown doorstep:doorstep /data

COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DOORSTEP_DATA_DIR=/data \
    DOORSTEP_HOST=0.0.0.0 \
    DOORSTEP_PORT=8000

WORKDIR /app
USER doorstep
VOLUME ["/data"]
EXPOSE 8000

# No curl in the slim image: probe with the Python that is already there.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["doorstep", "serve", "--host", "0.0.0.0", "--port", "8000"]
