"""The ``haulpoint`` command: serve, migrate, demo, simulate, verify, purge, keys."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import runpy
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn

from api.demo import DEMO_PASSWORD, DemoAccount, seed
from api.demo_fleet import DemoTruck, drive_in_background, seed_fleet
from api.logs import configure_logging
from core.bundle import BundleCheck, verify_bundle
from core.clock import now
from core.database import Database
from core.files import open_file_store
from core.settings import Settings, get_settings
from core.signing import ensure_dev_key_file, key_ring_from_settings
from dispatch.authorizations.keys import retired_keys_setting, rotate_for_passes
from migrations import upgrade
from tracking.positions.service import purge_positions

SELF_CONSISTENT_ONLY = (
    "checked against the keys inside the bundle only: this proves the bundle is"
    " self-consistent, not that the platform signed it (whoever rewrote a bundle could put"
    " their own key in it). Pass --keys with the platform's key set obtained independently"
    " (GET /v1/keys?include_retired=true) to prove that."
)


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
    dispatcher = next((a for a in accounts if a.name == "Dispatcher Dana"), None)
    if dispatcher is not None:
        print("Loads the Rapid Haulage dispatcher can grab (and the live feed):")
        print(f'  curl -H "Authorization: Bearer {dispatcher.token}" {base_url}/v1/market/loads')
        print(f"  websocket: {base_url.replace('http', 'ws', 1)}/v1/market/feed?token=<token>")
        print("The 500 t sugar order it split into deliveries:")
        print(f'  curl -H "Authorization: Bearer {dispatcher.token}" {base_url}/v1/deliveries')
    driver = next((a for a in accounts if a.name == "Driver Sam Okafor"), None)
    if driver is not None:
        print("A driver's deliveries, today's and upcoming:")
        print(f'  curl -H "Authorization: Bearer {driver.token}" {base_url}/v1/deliveries/mine')
        print("A self-pickup driver's pickup pass (then /v1/passes/<id>/qr.png or /token):")
        print(f'  curl -H "Authorization: Bearer {driver.token}" {base_url}/v1/passes')
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
        database = Database(url, settings.database, key_ring=key_ring_from_settings(settings))
        try:
            await upgrade(database.engine)
            made = await seed(database, files=open_file_store(settings))
            return made, await seed_fleet(database, made)
        finally:
            await database.dispose()

    accounts, trucks = asyncio.run(prepare())
    base_url = f"http://{host}:{port}"
    _print_accounts(accounts, base_url)
    _print_fleet(accounts, trucks, base_url)
    _print_pages(accounts, base_url)
    drive_in_background(base_url, trucks)
    serve(settings, host=host, port=port, workers=1, apply_migrations=False)


def _check_report(check: BundleCheck, *, bundle: Path, keys: Path | None) -> list[str]:
    chain = check.chain
    lines = [f"bundle:  {bundle}", f"subject: {check.subject or 'unknown'}"]
    if chain is not None:
        lines.append(
            f"entries: {chain.entries} ({chain.withheld} withheld), head at {chain.last_seq},"
            f" signed by {', '.join(chain.signed_by) or 'nobody'}"
        )
    lines.append(f"files:   {check.files_checked} checked against the signed manifest")
    if keys is not None:
        lines.append(f"keys:    checked against the trusted key set {keys}")
    else:
        lines.append(f"keys:    {SELF_CONSISTENT_ONLY}")
    lines.append("result:  VALID" if check.ok else "result:  INVALID")
    lines.extend(f"  - {problem}" for problem in check.problems)
    return lines


def verify(bundle: Path, *, keys: Path | None, as_json: bool) -> int:
    """Check a dispute bundle offline; 0 when it holds, 1 when it does not."""
    trusted: Any = None
    try:
        data = bundle.read_bytes()
        if keys is not None:
            trusted = json.loads(keys.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"cannot read input: {error}", file=sys.stderr)
        return 2
    if keys is not None and not (isinstance(trusted, dict) and "keys" in trusted):
        print(f"{keys} is not a JWKS document", file=sys.stderr)
        return 2
    check = verify_bundle(data, trusted_jwks=trusted, now=now())
    if as_json:
        print(
            json.dumps(
                {
                    "ok": check.ok,
                    "subject": check.subject,
                    "trusted_keys": check.trusted_keys,
                    "problems": list(check.problems),
                    "entries": check.chain.entries if check.chain else None,
                    "files_checked": check.files_checked,
                    "manifest_kid": check.signer_kid,
                },
                indent=2,
            )
        )
    else:
        print("\n".join(_check_report(check, bundle=bundle, keys=keys)))
    return 0 if check.ok else 1


SIMULATIONS = {"yard": "simulations.yard_sim"}


def simulate(model: str, options: Sequence[str]) -> None:
    """Run a simulation script as its own ``__main__``, passing its options through.

    The simulations sit above every package, so the command runs them by module name
    instead of importing them.
    """
    sys.argv = [f"haulpoint simulate {model}", *options]
    runpy.run_module(SIMULATIONS[model], run_name="__main__", alter_sys=True)


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
    buyer = next(a for a in accounts if a.organization == "Acme Foods" and a.role == "owner")
    if any(truck.shipment_id is not None for truck in trucks):
        print("The buyer's shipments: positions, ETAs, arrivals (one truck is on its way):")
        print(f'  curl -N "{base_url}/v1/live/shipments/sse?access_token={buyer.token}"')
    print()


_PAGES = (
    ("/app/loads", "the carrier's load board", "Dispatcher Dana"),
    ("/app/driver", "the driver's phone view", "Driver Ivan Petrov"),
    ("/app/map", "the buyer's live map", "Raj Patel"),
    ("/app/yard", "the gate clerk's yard board", "Gate Clerk Ana"),
)


def _print_pages(accounts: Sequence[DemoAccount], base_url: str) -> None:
    logins = {a.name: a.login for a in accounts}
    print(f"Pages (sign in at {base_url}/app with the password above):")
    for path, what, name in _PAGES:
        if name in logins:
            print(f"  {base_url}{path:<12} {what:<28} {logins[name]}")
    print()


def rotate_keys(settings: Settings, *, out: Path) -> int:
    """Write a new signing key to ``out`` and print the settings that make it the active key
    while the current one stays published until every pass it signed has expired."""
    if out.exists():
        print(f"{out} exists: choose a new file for the new key", file=sys.stderr)
        return 1
    ring = key_ring_from_settings(settings)
    # Written atomically with mode 0600, like the development key.
    rotated = rotate_for_passes(ring, ensure_dev_key_file(out), now=now(), policy=settings.passes)
    retiring = rotated.retired[0]
    print(
        f"# {rotated.active_kid} signs from now on; {retiring.kid} stays published until"
        f" {retiring.publish_until.isoformat()}"
    )
    print("# set these (and unset HAULPOINT_SIGNING__KEY), then restart every API process:")
    print(f"HAULPOINT_SIGNING__KEY_FILE={out.resolve()}")
    print(f"HAULPOINT_SIGNING__RETIRED_KEYS='{retired_keys_setting(rotated)}'")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="haulpoint", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="apply migrations and serve the API")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--workers", type=int, default=1)
    serve_cmd.add_argument("--no-migrate", action="store_true", help="skip migrations")
    commands.add_parser("migrate", help="apply migrations to the configured database")
    simulate_cmd = commands.add_parser("simulate", help="run a simulation (yard)")
    simulate_cmd.add_argument("model", choices=sorted(SIMULATIONS))
    simulate_cmd.add_argument("options", nargs=argparse.REMAINDER, help="the model's options")
    demo_cmd = commands.add_parser("demo", help="serve a seeded demo world on SQLite")
    demo_cmd.add_argument("--host", default="127.0.0.1")
    demo_cmd.add_argument("--port", type=int, default=8000)
    verify_cmd = commands.add_parser("verify", help="check a dispute bundle offline")
    verify_cmd.add_argument("bundle", type=Path, help="the bundle (zip)")
    verify_cmd.add_argument(
        "--keys", type=Path, help="the platform's JWKS, obtained independently, to trust"
    )
    verify_cmd.add_argument("--json", action="store_true", help="print the result as JSON")
    purge_cmd = commands.add_parser("purge", help="delete positions past the retention period")
    purge_cmd.add_argument(
        "--days",
        type=int,
        default=None,
        help="keep this many days (default: HAULPOINT_TRACKING__RETENTION_DAYS)",
    )
    keys_cmd = commands.add_parser("keys", help="manage the platform's signing keys")
    keys_actions = keys_cmd.add_subparsers(dest="action", required=True)
    rotate_cmd = keys_actions.add_parser(
        "rotate", help="make a new signing key and print the settings that retire the current"
    )
    rotate_cmd.add_argument("--out", type=Path, required=True, help="where to write the new key")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line."""
    args = _parser().parse_args(argv)
    if args.command == "verify":
        # Offline and self-contained: an arbitrator's machine has no Haulpoint settings.
        return verify(args.bundle, keys=args.keys, as_json=args.json)
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
    elif args.command == "simulate":
        simulate(args.model, args.options)
    elif args.command == "demo":
        demo(settings, host=args.host, port=args.port)
    elif args.command == "purge":
        if args.days is not None and args.days < 1:
            print("--days must be at least 1", file=sys.stderr)
            return 2
        purge(settings, days=args.days)
    elif args.command == "keys":
        return rotate_keys(settings, out=args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
