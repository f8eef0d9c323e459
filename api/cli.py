"""The ``haulpoint`` command: serve, migrate, demo, purge."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from api.demo import DEMO_PASSWORD, DemoAccount, seed
from api.demo_fleet import DemoTruck, drive_in_background, seed_fleet
from api.logs import configure_logging
from core.database import Database
from core.settings import Settings, get_settings
from migrations import upgrade
from tracking.positions.service import purge_positions


async def _migrate(settings: Settings) -> str:
    database = Database(settings.database_url, settings.database)
    try:
        await upgrade(database.engine)
    finally:
        await database.dispose()
    return database.dialect


def migrate(settings: Settings) -> None:
    """Apply every migration to the configured database."""
    if settings.database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    dialect = asyncio.run(_migrate(settings))
    print(f"database migrated to head ({dialect})")


async def _purge(settings: Settings, days: int) -> int:
    database = Database(settings.database_url, settings.database)
    try:
        return await purge_positions(database, older_than_days=days)
    finally:
        await database.dispose()


def purge(settings: Settings, *, days: int | None) -> None:
    """Delete positions older than the retention period (or ``days``)."""
    keep_days = days if days is not None else settings.tracking.retention_days
    deleted = asyncio.run(_purge(settings, keep_days))
    print(f"deleted {deleted} positions recorded more than {keep_days} days ago")


def serve(
    settings: Settings, *, host: str, port: int, workers: int, apply_migrations: bool
) -> None:
    """Apply migrations, then serve the API with uvicorn."""
    if apply_migrations:
        migrate(settings)
    uvicorn.run(
        "api.app:serve_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )


def _print_accounts(accounts: Sequence[DemoAccount], base_url: str) -> None:
    print()
    print("Haulpoint demo world")
    print(f"  API docs:  {base_url}/docs")
    print(f"  Every demo account's password: {DEMO_PASSWORD}")
    print()
    width = max(len(a.login) for a in accounts)
    for account in accounts:
        print(f"  {account.organization:<20} {account.role:<11} {account.login:<{width}}")
        print(f"      token: {account.token}")
    first = accounts[0]
    print()
    print("Try:")
    print(f'  curl -H "Authorization: Bearer {first.token}" {base_url}/v1/me')
    print()


def demo(settings: Settings, *, host: str, port: int) -> None:
    """Serve the platform on a fresh SQLite demo database with a seeded world."""
    data_dir = settings.data_dir / "demo"
    data_dir.mkdir(parents=True, exist_ok=True)
    database_file = data_dir / "haulpoint-demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database_file}{suffix}").unlink(missing_ok=True)
    url = f"sqlite+aiosqlite:///{database_file.resolve()}"
    os.environ["HAULPOINT_DATABASE__URL"] = url
    os.environ["HAULPOINT_DATA_DIR"] = str(data_dir)
    get_settings.cache_clear()
    settings = get_settings()

    async def prepare() -> tuple[list[DemoAccount], list[DemoTruck]]:
        database = Database(url, settings.database)
        try:
            await upgrade(database.engine)
            made = await seed(database)
            return made, await seed_fleet(database, made)
        finally:
            await database.dispose()

    accounts, trucks = asyncio.run(prepare())
    base_url = f"http://{host}:{port}"
    _print_accounts(accounts, base_url)
    _print_fleet(accounts, trucks, base_url)
    drive_in_background(base_url, trucks)
    serve(settings, host=host, port=port, workers=1, apply_migrations=False)


def _print_fleet(
    accounts: Sequence[DemoAccount], trucks: Sequence[DemoTruck], base_url: str
) -> None:
    print("Trucks on the road (their phones post pings to the ingest API every few seconds):")
    for truck in trucks:
        print(f"  {truck.carrier:<20} {truck.driver:<20} device {truck.device_id}")
    dispatcher = next(
        a for a in accounts if a.organization == "Rapid Haulage" and a.role == "dispatcher"
    )
    print()
    print("Watch them move (server-sent events, one line per tick):")
    print(f'  curl -N "{base_url}/v1/live/positions/sse?access_token={dispatcher.token}"')
    print("or over a websocket at")
    print(f"  {base_url.replace('http', 'ws', 1)}/v1/live/positions?access_token=<token>")
    print()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="haulpoint", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="apply migrations and serve the API")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--workers", type=int, default=1)
    serve_cmd.add_argument("--no-migrate", action="store_true", help="skip migrations")
    commands.add_parser("migrate", help="apply migrations to the configured database")
    demo_cmd = commands.add_parser("demo", help="serve a seeded demo world on SQLite")
    demo_cmd.add_argument("--host", default="127.0.0.1")
    demo_cmd.add_argument("--port", type=int, default=8000)
    purge_cmd = commands.add_parser("purge", help="delete positions past the retention period")
    purge_cmd.add_argument(
        "--days",
        type=int,
        default=None,
        help="keep this many days (default: HAULPOINT_TRACKING__RETENTION_DAYS)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line."""
    args = _parser().parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level)
    if args.command == "serve":
        serve(
            settings,
            host=args.host,
            port=args.port,
            workers=args.workers,
            apply_migrations=not args.no_migrate,
        )
    elif args.command == "migrate":
        migrate(settings)
    elif args.command == "demo":
        demo(settings, host=args.host, port=args.port)
    elif args.command == "purge":
        if args.days is not None and args.days < 1:
            print("--days must be at least 1", file=sys.stderr)
            return 2
        purge(settings, days=args.days)
    return 0


if __name__ == "__main__":
    sys.exit(main())
