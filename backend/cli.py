"""The ``doorstep`` command: serve, migrate, create-org, create-user, seed-demo.

Every command reads the same settings (``DOORSTEP_*`` environment, ``.env``) and works whether or
not a server is running: with ``DOORSTEP_DATABASE_URL`` unset they join (or start) the embedded
PostgreSQL under the data dir, which is shared between processes and stopped by the last one out.
Expected failures (a taken username, an unknown organization, bad input) print one line on stderr
and exit with status 1; usage errors exit with status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from types import FrameType
from typing import TYPE_CHECKING, TypeVar

import uvicorn
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from backend import migrate
from backend.config import Settings, get_settings
from backend.db import Database, create_engine, create_sessionmaker, open_database, session_scope
from backend.errors import AppError
from backend.models.user import Role

if TYPE_CHECKING:
    from backend.demo import DemoLogins

T = TypeVar("T")

EXIT_OK = 0
EXIT_ERROR = 1


class CliError(Exception):
    """An expected failure: its message is printed as is, without a traceback."""


# --- plumbing ----------------------------------------------------------------------------------


def _run_db(
    database: Database, settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    """Run ``work`` in one unit of work (committed if it returns, rolled back if it raises)."""

    async def runner() -> T:
        engine = create_engine(database.url, settings)
        try:
            async with session_scope(create_sessionmaker(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(runner())


def _migrate(database: Database) -> str | None:
    migrate.upgrade(database.url)
    return migrate_head()


def migrate_head() -> str | None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config("postgresql+asyncpg://unused/x"))
    return script.get_current_head()


def _describe_validation(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error["msg"])
    return "; ".join(parts)


def _describe_settings_error(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        name = "DOORSTEP_" + "_".join(str(p) for p in error.get("loc", ())).upper()
        parts.append(f"{name}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def _display_url(settings: Settings, host: str, port: int) -> str:
    if "public_base_url" in settings.model_fields_set:
        return settings.public_base
    shown = "localhost" if host in ("0.0.0.0", "::", "127.0.0.1", "") else host  # noqa: S104
    if ":" in shown:  # a bare IPv6 address
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


# --- commands ----------------------------------------------------------------------------------


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    database = open_database(settings)
    try:
        head = _migrate(database)
    finally:
        database.close()
    print(f"Database migrated to head ({head}).")
    return EXIT_OK


def cmd_create_org(settings: Settings, args: argparse.Namespace) -> int:
    from backend.orgs import service as org_service
    from backend.users.schemas import UserCreate

    # Validate the admin's username and password before touching the database.
    UserCreate(
        username=args.admin, display_name=args.admin, role=Role.admin, password=args.password
    )

    async def work(session: AsyncSession) -> tuple[uuid.UUID, str]:
        existing = await org_service.find_org(session, args.name)
        if existing is not None:
            raise CliError(f"An organization named {args.name!r} already exists ({existing.id}).")
        org, admin = await org_service.create_org(session, args.name, args.admin, args.password)
        return org.id, admin.username

    database = open_database(settings)
    try:
        _migrate(database)
        org_id, admin_username = _run_db(database, settings, work)
    finally:
        database.close()
    print(f"Created organization {args.name!r} ({org_id}) with admin {admin_username!r}.")
    return EXIT_OK


def cmd_create_user(settings: Settings, args: argparse.Namespace) -> int:
    from backend.orgs import service as org_service
    from backend.users import service as user_service
    from backend.users.schemas import UserCreate

    data = UserCreate(
        username=args.username,
        display_name=args.display_name or args.username,
        role=Role(args.role),
        password=args.password,
        locale=args.locale,
    )

    async def work(session: AsyncSession) -> tuple[uuid.UUID, str, str]:
        org = await org_service.find_org(session, args.org)
        if org is None:
            raise CliError(f"No organization named or with id {args.org!r}.")
        user = await user_service.create_user(session, org.id, data, actor_id=None)
        return user.id, user.username, org.name

    database = open_database(settings)
    try:
        _migrate(database)
        user_id, username, org_name = _run_db(database, settings, work)
    finally:
        database.close()
    print(f"Created {data.role.value} {username!r} ({user_id}) in {org_name!r}.")
    return EXIT_OK


def _print_demo_logins(demo: DemoLogins) -> None:
    print(f"Demo organization: {demo.org_name}")
    print(f"Demo logins (password for all: {demo.password}):")
    for line in demo.lines():
        print(f"  {line}")


def cmd_seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from backend import demo as demo_module

    async def work(session: AsyncSession) -> tuple[DemoLogins, bool]:
        existing = await demo_module.find_demo_org(session)
        if existing is not None:
            logins = demo_module.DemoLogins(
                org_id=existing.id,
                org_name=existing.name,
                password=demo_module.DEMO_PASSWORD,
                logins=demo_module.demo_logins_template(),
            )
            return logins, False
        return await demo_module.seed_demo(session, settings), True

    database = open_database(settings)
    try:
        _migrate(database)
        demo, created = _run_db(database, settings, work)
    finally:
        database.close()
    if created:
        print(f"Seeded the demo organization ({len(demo.store_ids)} stores).")
    else:
        print("The demo organization already exists; nothing was changed.")
    _print_demo_logins(demo)
    return EXIT_OK


async def _demo_for_serve(
    session: AsyncSession, settings: Settings
) -> tuple[DemoLogins | None, bool]:
    """Seed the demo org when the database has no organization yet.

    Returns the demo logins when the demo org exists (seeded now or before) and whether it was
    seeded now; ``(None, False)`` when the database holds other organizations only.
    """
    from backend import demo as demo_module
    from backend.orgs import service as org_service

    if await org_service.count_orgs(session) == 0:
        return await demo_module.seed_demo(session, settings), True
    existing = await demo_module.find_demo_org(session)
    if existing is None:
        return None, False
    logins = demo_module.DemoLogins(
        org_id=existing.id,
        org_name=existing.name,
        password=demo_module.DEMO_PASSWORD,
        logins=demo_module.demo_logins_template(),
    )
    return logins, False


class _Server(uvicorn.Server):
    """uvicorn's server, announcing where to log in once it is actually listening."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_started()


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _ignore(signum: int, frame: FrameType | None) -> None:
    return None


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from backend.main import create_app

    host: str = args.host or settings.host
    port: int = args.port or settings.port
    update: dict[str, object] = {"host": host, "port": port}
    if "public_base_url" not in settings.model_fields_set:
        # QR codes must point at this server when no public URL was configured.
        update["public_base_url"] = _display_url(settings, host, port)
    settings = settings.model_copy(update=update)
    url = _display_url(settings, host, port)

    # A signal before uvicorn takes over still unwinds through ``finally`` (cluster stopped).
    previous = {sig: signal.signal(sig, _raise_exit) for sig in (signal.SIGTERM, signal.SIGINT)}
    # One handle on the database for the whole run: the app's lifespan joins the same embedded
    # cluster in this process instead of stopping and restarting it after the migrations.
    database = open_database(settings)
    try:
        _migrate(database)
        demo: DemoLogins | None = None
        if args.demo:
            demo, seeded = _run_db(
                database, settings, lambda session: _demo_for_serve(session, settings)
            )
            if seeded and demo is not None:
                print(f"Seeded the demo organization ({len(demo.store_ids)} stores).", flush=True)
            elif demo is None:
                print("The database already has organizations; the demo was not seeded.")
        app = create_app(settings)

        def announce() -> None:
            print(f"\nDoorstep is running at {url}", flush=True)
            print(f"  API docs:  {url}/docs", flush=True)
            if demo is not None:
                print(f"  Demo logins (password for all: {demo.password}):")
                for line in demo.lines():
                    print(f"    {line}")
            print("Press Ctrl+C to stop.\n", flush=True)

        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,  # keep Doorstep's JSON logging for uvicorn's loggers too
            proxy_headers=True,
            # The same proxies the app believes (backend/kit/client_ip.py), not FORWARDED_ALLOW_IPS.
            forwarded_allow_ips=[str(network) for network in settings.trusted_proxies],
            server_header=False,
        )
        # uvicorn installs its own handlers while serving and re-raises the signal it caught
        # once it has shut down; these no-op handlers make that a clean exit with status 0.
        for sig in previous:
            signal.signal(sig, _ignore)
        server = _Server(config, announce)
        server.run()
        if not server.started:
            return EXIT_ERROR
    finally:
        database.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("Doorstep stopped.", flush=True)
    return EXIT_OK


# --- argument parsing --------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="doorstep",
        description="Doorstep: proof of every field-sales visit at the store's door.",
        epilog="Settings come from DOORSTEP_* environment variables (see docs/configuration.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="migrate, then serve the API, the PWA and the scheduler"
    )
    serve.add_argument("--host", help="address to listen on (default: DOORSTEP_HOST, 127.0.0.1)")
    serve.add_argument(
        "--port", type=_port, help="port to listen on (default: DOORSTEP_PORT, 8000)"
    )
    serve.add_argument(
        "--demo", action="store_true", help="seed the demo organization if the database is empty"
    )
    serve.set_defaults(handler=cmd_serve)

    migrate_cmd = commands.add_parser("migrate", help="upgrade the database schema to head")
    migrate_cmd.set_defaults(handler=cmd_migrate)

    create_org = commands.add_parser(
        "create-org", help="an organization, its admin and the default customer types"
    )
    create_org.add_argument("--name", required=True, help="organization name")
    create_org.add_argument("--admin", required=True, metavar="USERNAME", help="admin username")
    create_org.add_argument("--password", required=True, help="admin password (8+ characters)")
    create_org.set_defaults(handler=cmd_create_org)

    create_user = commands.add_parser("create-user", help="a user in an existing organization")
    create_user.add_argument("--org", required=True, help="organization name or id")
    create_user.add_argument("--username", required=True)
    create_user.add_argument("--password", required=True, help="8+ characters")
    create_user.add_argument("--role", required=True, choices=[r.value for r in Role])
    create_user.add_argument("--display-name", help="shown in the app (default: the username)")
    create_user.add_argument("--locale", choices=["zh-CN", "en"], default="zh-CN")
    create_user.set_defaults(handler=cmd_create_user)

    seed = commands.add_parser(
        "seed-demo", help="the demo organization: a team, reps and stores in Hangzhou"
    )
    seed.set_defaults(handler=cmd_seed_demo)
    return parser


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {port}")
    return port


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "serve":
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    handler: Callable[[Settings, argparse.Namespace], int] = args.handler
    try:
        settings = get_settings()
    except ValidationError as exc:
        print(f"doorstep: invalid setting {_describe_settings_error(exc)}", file=sys.stderr)
        return EXIT_ERROR
    try:
        return handler(settings, args)
    except CliError as exc:
        print(f"doorstep {args.command}: {exc}", file=sys.stderr)
    except AppError as exc:
        print(f"doorstep {args.command}: {exc.detail}", file=sys.stderr)
    except ValidationError as exc:
        print(f"doorstep {args.command}: invalid {_describe_validation(exc)}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"doorstep {args.command}: interrupted", file=sys.stderr)
        return 130
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
