"""`restoreproof doctor`'s arguments (argparse only: `restoreproof --help` imports nothing heavier; the command
itself is verifiers/doctor/command.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from verifiers.cli_options import INVENTORY_HELP
from verifiers.evidence.defaults import ARCHIVE_ENV, KEY_ENV


def add_parser(commands: Any) -> None:
    """Add `doctor` to the CLI's subcommands (`commands` is argparse's subparsers action)."""
    doctor = commands.add_parser(
        "doctor", help="what this machine can verify, and why not where it cannot: servers and versions per store "
        "kind, each inventory store's extra, sandbox, cloud credentials and region, the archive, the signing key",
        description="Checks this machine, starting no server and (without --probe) calling no cloud API. Exit "
        "codes: 0 every inventory store can be verified here; 1 one cannot (each named, with why and the fix), or "
        "the configured archive or signing key is unusable; 2 bad input (an unreadable inventory).")
    doctor.add_argument("--inventory", type=Path, default=None, metavar="PATH",
                        help=f"{INVENTORY_HELP}; without one, only this machine is checked")
    doctor.add_argument("--archive", metavar="URL", default=None,
                        help=f"the evidence archive to check: s3://BUCKET/PREFIX, git:BRANCH, git+REMOTE#BRANCH or "
                        f"a directory (default: env {ARCHIVE_ENV})")
    doctor.add_argument("--signing-key", type=Path, default=None, metavar="PEM",
                        help=f"the Ed25519 private key that would sign each run (default: env {KEY_ENV})")
    doctor.add_argument("--probe", action="store_true",
                        help="also ask the network, each with a short timeout: STS GetCallerIdentity and S3 "
                        "HeadBucket (Google / Azure tokens) for the cloud sources, S3 HeadBucket or git ls-remote "
                        "for the archive")
    doctor.add_argument("--json", action="store_true",
                        help="print one JSON object with the same facts and verdict (ok, exit_code, kinds, "
                        "sandboxes, stores, archive, signing_key)")
