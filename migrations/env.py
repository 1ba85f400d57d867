"""Alembic environment: async engine, URL from the caller or from Doorstep's settings."""

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from backend.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url")
    if isinstance(url, str):
        return url
    from backend.config import get_settings
    from backend.db import open_database

    database = open_database(get_settings())
    config.attributes["database"] = database
    return database.url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


# Two replicas starting together (or `serve` beside a CLI command) must not migrate at once:
# the second waits on this session-level advisory lock, then finds nothing left to do.
MIGRATION_LOCK = 0x646F6F7273746570  # "doorstep"


async def _run_async() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        await connection.commit()
        try:
            await connection.run_sync(_run)
            await connection.commit()
        finally:
            await connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK}
            )
            await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
