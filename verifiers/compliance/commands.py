"""`restoreproof canary write`: put a timestamped canary into a LIVE store (opt-in: the store's inventory entry
has [stores.canary]) and append it to the canary log that verification reads."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from verifiers.errors import InventoryError

REDIS_PASSWORD_ENV = "RESTOREPROOF_REDIS_PASSWORD"  # noqa: S105 - the variable's name, not a password


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("canary", help="write a canary into a live store (proof a backup is fresh and "
                                 "from the right database)")
    actions = parser.add_subparsers(dest="canary_command", required=True, metavar="ACTION")
    write = actions.add_parser("write", help="insert a timestamped canary row/key and append it to the canary log")
    write.add_argument("--inventory", type=Path, default=Path("inventory.toml"))
    write.add_argument("--store", required=True, help="the store (its entry must have [stores.canary])")
    target = write.add_mutually_exclusive_group(required=True)
    target.add_argument("--dsn", help="postgres: libpq DSN (password: PGPASSWORD or ~/.pgpass); mysql: "
                        "mysql://USER:PASSWORD@HOST:PORT/DATABASE or key=value pairs")
    target.add_argument("--url", help=f"redis: redis://host:port or unix:///path (password: env {REDIS_PASSWORD_ENV})")
    write.add_argument("--create-table", action="store_true",
                       help="postgres, mysql: create the canary table if it does not exist (token, written_at)")


def run(args: argparse.Namespace) -> int:
    from verifiers.compliance import canary  # pydantic settings: imported when run, so --help stays fast
    from verifiers.inventory import load_inventory

    inventory = load_inventory(args.inventory)
    store = inventory.select(names=[args.store])[0]
    if store.canary is None:
        raise InventoryError(f"{args.inventory}: store {store.name} has no [stores.canary] table",
                             hint="add it (canaries are opt-in), with `table` (postgres) or `key_prefix` (redis)")
    if store.kind == "postgres" and args.dsn:
        written = canary.write_postgres(args.dsn, store.canary, store=store.name, create=args.create_table)
    elif store.kind == "mysql" and args.dsn:
        written = canary.write_mysql(args.dsn, store.canary, store=store.name, create=args.create_table)
    elif store.kind == "redis" and args.url:
        url = args.url
        password = os.environ.get(REDIS_PASSWORD_ENV)
        written = canary.write_redis(url, store.canary, store=store.name, password=password)
    else:
        flag = "--url" if store.kind == "redis" else "--dsn"
        raise InventoryError(f"store {store.name} is a {store.kind} store: pass {flag}",
                             hint="--dsn for postgres and mysql, --url for redis")
    path = canary.log_path(store.canary, base_dir=inventory.base_dir, store=store.name)
    canary.append_log(path, written, store=store.name)
    print(f"canary {written.token} written at {written.written_at.isoformat()} into {store.name}; logged in {path}")
    return 0
