"""`restoreproof inventory discover`: the account's production stores against the inventory. Exit 0 when the
inventory is complete, 1 when a store is uncovered or a service unknown, 2 on bad input."""

from __future__ import annotations

import argparse
import json

from verifiers.discovery.discover import inventory_coverage
from verifiers.discovery.report import human_report
from verifiers.errors import InventoryError
from verifiers.inventory import load_inventory

EXIT_OK, EXIT_INCOMPLETE = 0, 1


def run(args: argparse.Namespace) -> int:
    """Its parser is cli.py's (`restoreproof --help` imports no pydantic)."""
    inventory = load_inventory(args.inventory)
    coverage = inventory_coverage(inventory)
    if coverage is None:
        raise InventoryError(f"{args.inventory}: has no [discovery] table, so there is nothing to compare with",
                             hint="add [discovery.aws] (regions, filters) or [discovery.gcp]; "
                                  "docs/inventory-completeness.md")
    if args.json:
        print(json.dumps({"inventory": str(args.inventory), **coverage.as_dict()}, indent=2))
    else:
        print("\n".join(human_report(coverage)))
    return EXIT_OK if coverage.complete else EXIT_INCOMPLETE
