"""`restoreproof`: capture a backup with its manifest, verify stores, rehearse a service's recovery (`drill`),
inspect the inventory, check and archive the evidence (`restoreproof evidence verify|index|upload`).

Exit codes: 0 all passed; 1 a check failed or a store errored; 2 bad input (inventory, DSN, paths);
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from verifiers import __version__
from verifiers.cli_options import add_inventory
from verifiers.errors import RestoreproofError
from verifiers.evidence.archives import is_remote
from verifiers.extras import needed_by
from verifiers.redaction import redact_log_records, redact_secrets
from verifiers.stores import registry

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
HYGIENE_SUITE = "hygiene"  # verifiers.compliance.suite.SUITE, named here so that --help imports nothing heavy
# verifiers.sources.aws_backup.RESTORE_JOB_ENV, named here for the same reason
AWS_BACKUP_RESTORE_JOB_ENV = "RESTOREPROOF_AWS_BACKUP_RESTORE_JOB"


def build_parser() -> argparse.ArgumentParser:
    about, _, exits = (__doc__ or "").partition("\n\n")
    parser = argparse.ArgumentParser(prog="restoreproof", description=" ".join(about.split()),
                                     epilog=" ".join(exits.split()) or None)
    parser.add_argument("--version", action="version", version=f"restoreproof {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    capture = commands.add_parser("capture", help="dump a live store and write its manifest from one snapshot")
    registry.add_capture_parsers(capture.add_subparsers(dest="kind", required=True, metavar="KIND"))

    verify = commands.add_parser("verify", help="restore and verify stores (runs the pytest suites)")
    add_inventory(verify)
    verify.add_argument("--suite", help="only stores of this suite (e.g. rds); hygiene: every store's backup "
                        "hygiene from the backup services' APIs, without a restore")
    verify.add_argument("--store", action="append", default=[], help="only this store (repeatable)")
    verify.add_argument("--reports-dir", type=Path, default=Path("reports"), metavar="DIR",
                        help="where each run writes its report.html, junit.xml and signed evidence.json "
                        "(default: reports)")
    verify.add_argument("--history", metavar="ARCHIVE_OR_DIR",
                        help="earlier runs, to show each store's backup-configuration change since an earlier month: "
                        "a reports directory or the archive runs are uploaded to (a directory, s3://BUCKET[/PREFIX] "
                        "with env AWS_ENDPOINT_URL, git:BRANCH, git+REMOTE#BRANCH; default: --reports-dir)")
    verify.add_argument("--alert-response", type=Path, metavar="ALERTS_TOML",
                        help="alerts.toml whose [response] table names PagerDuty/Opsgenie: the run also records the "
                        "share of the period's backup alerts acknowledged within the target, as a run check "
                        "(docs/ci.md: Alert response time)")
    verify.add_argument("-q", "--quiet", action="count", default=0, help="less output: no progress (pytest's -q)")
    verify.add_argument("-v", "--verbose", action="count", default=0,
                        help="more output: a line per phase, every failed check (pytest's -v)")
    verify.add_argument("--aws-backup-restore-job", metavar="ID", help="the run is for this AWS Backup "
                        "restore-testing job: the aws-backup store of the resource it restored verifies that resource "
                        "and reports the verdict to the job (docs/aws-backup.md; env "
                        f"{AWS_BACKUP_RESTORE_JOB_ENV})")
    verify.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: extra pytest arguments")

    inventory = commands.add_parser("inventory", help="validate the inventory and show each store's newest backup, "
                                    "the declared stores and the services")
    add_inventory(inventory)
    inventory.add_argument("--json", action="store_true", help="print the stores as JSON (name, kind, suite, ok, "
                           "and the newest backup and its check count, or the error), the declared stores and the "
                           "services")
    discover = inventory.add_subparsers(dest="inventory_command", metavar="SUBCOMMAND").add_parser(
        "discover", help="list the cloud accounts' production stores (the inventory's [discovery]) and compare them "
        "with the inventory: covered, uncovered, ignored, unknown (a permission missing), declared; exit 1 when a "
        "store is uncovered or a service unknown (docs/inventory-completeness.md)")
    add_inventory(discover)
    discover.add_argument("--json", action="store_true", help="print the comparison as JSON (what evidence.json's "
                          "`coverage` holds, with the inventory's path)")

    from verifiers import ci_commands, drill_command, init_command
    from verifiers.alerts import commands as alert_commands
    from verifiers.evidence import commands as evidence_commands

    drill_command.add_parser(commands)
    evidence_commands.add_parser(commands)
    # here, not in verifiers/sandboxes/aws_janitor.py: that module needs boto3 (the `aws` extra), --help does not
    janitor = commands.add_parser(
        "janitor", help="list (or --delete) AWS sandboxes or Cloud SQL instances the harness left behind, found by "
        "its tag or label")
    janitor.add_argument("--older-than", default="6h", metavar="DURATION",
                         help="only sandboxes at least this old, e.g. 30m, 6h, 2d, PT6H (default: 6h)")
    janitor.add_argument("--delete", action="store_true", help="delete them (default: a dry run that lists them)")
    janitor.add_argument("--region", help="AWS region (default: the AWS config chain's)")
    janitor.add_argument("--endpoint-url", help="AWS API endpoint (default: env AWS_ENDPOINT_URL, else AWS)")
    janitor.add_argument("--cloud", choices=("aws", "gcp", "all"), default="aws",
                         help="where to look: AWS (RDS, DynamoDB), GCP (Cloud SQL) or both (default: aws)")
    janitor.add_argument("--gcp-project", help="the Google Cloud project to sweep (default: env GOOGLE_CLOUD_PROJECT)")
    alert_commands.add_parser(commands)
    ci_commands.add_parsers(commands)
    init_command.add_parser(commands)
    from verifiers.doctor import parser as doctor_parser

    doctor_parser.add_parser(commands)
    from verifiers.compliance import commands as compliance_commands

    compliance_commands.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
    except RestoreproofError as exc:  # a store kind's package that cannot be loaded
        print(f"restoreproof: error: {exc.describe()}", file=sys.stderr)
        return EXIT_USAGE
    args = parser.parse_args(argv)
    redact_log_records()
    try:
        # a command that needs an optional dependency the install lacks: one line naming the pip extra
        with needed_by(f"restoreproof {args.command}" + (f" {args.kind}" if args.command == "capture" else "")):
            return _run(args)
    except RestoreproofError as exc:
        print(f"restoreproof: error: {redact_secrets(exc.describe())}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("restoreproof: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run(args: argparse.Namespace) -> int:
    """Run the parsed command; its exit code."""
    if args.command == "capture":
        print(registry.capture(args.kind, args))
        return EXIT_OK
    if args.command == "verify":
        return _verify(args)
    if args.command == "drill":
        from verifiers import drill_command

        return drill_command.run(args)
    if args.command == "evidence":
        from verifiers.evidence import commands as evidence_commands

        return evidence_commands.run(args)
    if args.command == "janitor":
        return _janitor(args)
    if args.command == "notify":
        from verifiers.alerts import commands as alert_commands

        return alert_commands.run(args)
    if args.command == "alerts":
        from verifiers.alerts import response_command

        return response_command.run(args)
    if args.command == "canary":
        from verifiers.compliance import commands as compliance_commands

        return compliance_commands.run(args, registry.canary_writers())
    if args.command == "init":
        from verifiers import init_command

        return init_command.run(args)
    if args.command == "doctor":
        from verifiers.doctor import command as doctor_command

        return doctor_command.run(args)
    if args.command in ("summary", "suites"):
        from verifiers import ci_commands

        return ci_commands.run(args)
    return _inventory(args)


def _janitor(args: argparse.Namespace) -> int:
    codes = []
    if args.cloud in ("aws", "all"):
        from verifiers.sandboxes import aws_janitor

        codes.append(aws_janitor.run(args))
    if args.cloud in ("gcp", "all"):
        from verifiers.sandboxes import gcp_janitor

        codes.append(gcp_janitor.run(args))
    return max(codes)


def _verify(args: argparse.Namespace) -> int:
    import pytest

    from verifiers.inventory import load_inventory

    inventory = load_inventory(args.inventory)  # fail fast, with the field path, before pytest starts
    hygiene = args.suite == HYGIENE_SUITE  # every store's backup hygiene, no restore: its own packaged suite
    if not inventory.select(suite=None if hygiene else args.suite, names=args.store):
        print(f"restoreproof: error: no store in {args.inventory} matched --suite {args.suite}",
              file=sys.stderr)
        return EXIT_USAGE
    if args.aws_backup_restore_job:  # read by the aws-backup source, in this process and in pytest-xdist's workers
        os.environ[AWS_BACKUP_RESTORE_JOB_ENV] = args.aws_backup_restore_job
    extra = [a for a in args.pytest_args if a != "--"]
    suite_module = "verifiers.hygiene_suite" if hygiene else "verifiers.all_suites"
    pytest_args = ["--pyargs", suite_module, "--inventory", str(args.inventory.resolve()),
                   "--reports-dir", str(args.reports_dir.resolve()), "-p", "no:cacheprovider", *extra]
    if args.suite:
        pytest_args += ["--suite", args.suite]
    if args.history is not None:
        pytest_args += ["--history", args.history if is_remote(args.history) else str(Path(args.history).resolve())]
    if args.alert_response is not None:
        pytest_args += ["--alert-response", str(args.alert_response.resolve())]
    pytest_args += ["-q"] * args.quiet + ["-v"] * args.verbose
    for store in args.store:
        pytest_args += ["--store", store]
    code = int(pytest.main(pytest_args))
    if code == pytest.ExitCode.INTERRUPTED:
        return EXIT_INTERRUPTED
    if code == pytest.ExitCode.USAGE_ERROR:
        return EXIT_USAGE
    return EXIT_OK if code == pytest.ExitCode.OK else EXIT_FAILED


def _inventory(args: argparse.Namespace) -> int:
    if getattr(args, "inventory_command", None) == "discover":
        from verifiers.discovery import command as discover_command

        return discover_command.run(args)
    from verifiers.inventory import load_inventory
    from verifiers.runner import PlanFailure, plan_store
    from verifiers.services import listed, listed_line

    inventory = load_inventory(args.inventory)
    status = EXIT_OK
    rows: list[dict[str, object]] = []
    for store in inventory.stores:
        plan = plan_store(store, inventory.base_dir)
        row: dict[str, object] = {"name": store.name, "kind": store.kind, "suite": store.suite_name}
        if isinstance(plan, PlanFailure):
            row |= {"ok": False, "error": plan.message}
            status = EXIT_FAILED
        else:
            row |= {"ok": True, "backup": plan.located.location, "checks": len(plan.specs)}
        rows.append(row)
        if not args.json:
            where = f"ERROR {row['error']}" if not row["ok"] else f"{row['backup']} — {row['checks']} checks"
            print(f"{store.name} ({store.kind}, suite {store.suite_name}): {where}")
    declared = [{"name": d.name, "type": d.type, "backup_method": d.backup_method,
                 "last_verified": d.last_verified.isoformat()} for d in inventory.declared]
    if args.json:
        print(json.dumps({"inventory": str(args.inventory), "stores": rows, "declared": declared,
                          "services": [listed(s) for s in inventory.services]}, indent=2))
        return status
    for entry in declared:
        print(f"{entry['name']} (declared {entry['type']}, never restored): {entry['backup_method']} — last verified "
              f"{entry['last_verified']}")
    for service in inventory.services:
        print(listed_line(service))
    return status


if __name__ == "__main__":
    sys.exit(main())
