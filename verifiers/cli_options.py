"""Options several `restoreproof` commands share, declared once so each has the same name, default and help
(argparse only: `restoreproof --help` imports nothing heavier)."""

from __future__ import annotations

import argparse
from pathlib import Path

INVENTORY_HELP = "the inventory of stores to verify (TOML; default: inventory.toml in the current directory)"


def add_inventory(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inventory", type=Path, default=Path("inventory.toml"), metavar="PATH", help=INVENTORY_HELP)
