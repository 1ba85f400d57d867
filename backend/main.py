"""The application factory: API, PWA and scheduler in one process."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from backend.actions.endpoints import router as actions_router
from backend.api_keys.endpoints import router as api_keys_router
from backend.api_keys.install import idempotency_callers, install_api_keys
from backend.audits.endpoints import router as audits_router
from backend.audits.endpoints import templates as audit_templates_router
from backend.auth.endpoints import router as auth_router
from backend.calendar_feed.endpoints import feeds as calendar_feeds
from backend.calendar_feed.endpoints import router as calendar_feed_router
from backend.config import Settings, get_settings
from backend.db import connect, create_engine, create_sessionmaker, create_sql_pool, open_database
from backend.errors import install_error_handlers
from backend.events.endpoints import router as events_router
from backend.forms.endpoints import router as forms_router
from backend.idempotency.repository import IdempotencyClaims
from backend.kit.idempotency import IdempotencyMiddleware
from backend.kit.process_owner import ProcessOwner
from backend.kit.storage import build_storage
from backend.notifications.endpoints import router as notifications_router
from backend.ops.docs import install_docs
from backend.ops.endpoints import router as ops_router
from backend.ops.logging import configure_logging
from backend.ops.middleware import BodyLimitMiddleware, RequestContextMiddleware
from backend.policy.endpoints import router as policy_router
from backend.pwa import mount_pwa
from backend.rectifications.endpoints import router as rectifications_router
from backend.scheduler import build_scheduler
from backend.stores.endpoints import router as stores_router
from backend.summaries.endpoints import pages as share_pages
from backend.summaries.endpoints import router as summaries_router
from backend.teams.endpoints import router as teams_router
from backend.timeline.endpoints import router as timeline_router
from backend.users.endpoints import router as users_router
from backend.visits.endpoints import queue_router as review_queue_router
from backend.visits.endpoints import router as visits_router
from backend.webhooks.endpoints import deliveries_router as webhook_deliveries_router
from backend.webhooks.endpoints import install_webhook_docs
from backend.webhooks.endpoints import router as webhooks_router
from backend.webhooks.worker import WebhookWorker

PWA_DIR = Path(__file__).resolve().parent.parent / "pwa"

ROUTERS = (
    auth_router,
    users_router,
    teams_router,
    forms_router,
    stores_router,
    visits_router,
    review_queue_router,
    actions_router,
    audit_templates_router,
    audits_router,
    rectifications_router,
    calendar_feed_router,
    calendar_feeds,
    notifications_router,
    summaries_router,
    share_pages,
    timeline_router,
    events_router,
    policy_router,
    api_keys_router,
    webhooks_router,
    webhook_deliveries_router,
    ops_router,
)


def _lifespan(settings: Settings):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = open_database(settings)
        engine = create_engine(database.url, settings)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        sql_pool = await create_sql_pool(engine, settings)
        app.state.sql_pool = sql_pool
        # Opened now, so that it is older than any claim made through it (kit.process_owner).
        process_owner = ProcessOwner.for_engine(engine, connect)
        await process_owner.current()
        app.state.process_owner = process_owner
        storage = build_storage(settings)
        await storage.start()
        app.state.storage = storage
        scheduler = (
            build_scheduler(app.state.sessionmaker, storage) if settings.scheduler_enabled else None
        )
        if scheduler is not None:
            scheduler.start()
        # Sub-second cadence of its own (the scheduler's jobs run per minute): backend.webhooks.
        webhooks = (
            WebhookWorker(app.state.sessionmaker, settings) if settings.scheduler_enabled else None
        )
        if webhooks is not None:
            await webhooks.start()
        # Everything alive now lives as long as the process: moving it out of the collector's
        # generations keeps full collections (and their 100 ms pauses) small.
        gc.freeze()
        # A request allocates thousands of short-lived objects, nearly all freed by reference
        # counting; at the default threshold (700) the young generation was collected several
        # times per request for nothing. About 10% of a check-in's CPU (bench_check_in).
        gc.set_threshold(50_000, 20, 20)
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            if webhooks is not None:
                await webhooks.stop()
            await storage.close()
            await sql_pool.close()
            await process_owner.close()
            await engine.dispose()
            database.close()

    return lifespan


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    app = FastAPI(
        title="Doorstep API",
        version="1.0.0",
        description="Proof of every field-sales visit at the store's door.",
        lifespan=_lifespan(settings),
        docs_url=None,  # served by backend.ops.docs, with no asset from another host
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    install_webhook_docs(app)
    install_docs(app)
    mount_pwa(app, PWA_DIR)  # last: its GET catch-all answers what no route did
    install_api_keys(app)  # its headers middleware runs inside the Idempotency-Key one
    app.add_middleware(
        IdempotencyMiddleware,
        read_caller=idempotency_callers(app.state, settings.secret),
        claims=IdempotencyClaims(app.state),
        max_body_bytes=settings.max_body_bytes,
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    return app
