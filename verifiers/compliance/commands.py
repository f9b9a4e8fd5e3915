"""`restoreproof canary write`: put a timestamped canary into a LIVE store (opt-in: the store's inventory entry
has [stores.canary]) and append it to the canary log that verification reads. How a canary is written is the
kind's (its package's compliance.py CANARY_WRITER); which option names the live store, too."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from verifiers.cli_options import add_inventory
from verifiers.errors import InventoryError

if TYPE_CHECKING:
    from verifiers.compliance.restored import CanaryWriter


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("canary", help="write a canary into a live store (proof a backup is fresh and "
                                 "from the right database)")
    actions = parser.add_subparsers(dest="canary_command", required=True, metavar="ACTION")
    write = actions.add_parser("write", help="insert a timestamped canary row/key and append it to the canary log")
    add_inventory(write)
    write.add_argument("--store", required=True, help="the store (its entry must have [stores.canary])")
    target = write.add_mutually_exclusive_group(required=True)
    target.add_argument("--dsn", help="postgres: libpq DSN (password: PGPASSWORD or ~/.pgpass); mysql: "
                        "mysql://USER:PASSWORD@HOST:PORT/DATABASE or key=value pairs")
    target.add_argument("--url", help="redis: redis://host:port or unix:///path "
                        "(password: env RESTOREPROOF_REDIS_PASSWORD)")
    write.add_argument("--create-table", action="store_true",
                       help="postgres, mysql: create the canary table if it does not exist (token, written_at)")


def run(args: argparse.Namespace, writers: Mapping[str, CanaryWriter]) -> int:
    """`writers`: the writer of each kind that writes canaries, from the registry of kinds (canary_writers())."""
    from verifiers.compliance import canary  # pydantic settings: imported when run, so --help stays fast
    from verifiers.inventory import load_inventory

    inventory = load_inventory(args.inventory)
    store = inventory.select(names=[args.store])[0]
    if store.canary is None:
        raise InventoryError(f"{args.inventory}: store {store.name} has no [stores.canary] table",
                             hint="add it (canaries are opt-in), with `table` (postgres) or `key_prefix` (redis)")
    writer = writers.get(store.kind)
    if writer is None:
        raise InventoryError(f"store {store.name} is a {store.kind} store: its kind writes no canaries",
                             hint=_options(writers))
    target = {"dsn": args.dsn, "url": args.url}.get(writer.option)
    if not target:
        raise InventoryError(f"store {store.name} is a {store.kind} store: pass --{writer.option}",
                             hint=_options(writers))
    written = writer.write(target, store.canary, store=store.name, create=args.create_table)
    path = canary.log_path(store.canary, base_dir=inventory.base_dir, store=store.name)
    canary.append_log(path, written, store=store.name)
    print(f"canary {written.token} written at {written.written_at.isoformat()} into {store.name}; logged in {path}")
    return 0


def _options(writers: Mapping[str, CanaryWriter]) -> str:
    """Which option each kind takes, e.g. "--dsn for postgres and mysql, --url for redis"."""
    kinds: dict[str, list[str]] = {}
    for kind, writer in writers.items():
        kinds.setdefault(writer.option, []).append(kind)
    return ", ".join(f"--{option} for {' and '.join(names)}" for option, names in kinds.items())
