"""`restoreproof evidence verify|index|upload REPORTS_DIR`: check, summarise and archive a reports root.

Exit codes: 0 ok; 1 a mismatch (a broken file, link or signature) or a failed/refused upload; 2 bad input
(raised as EvidenceError, reported by verifiers.cli).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from verifiers.evidence import DEFAULT_RETENTION_DAYS, KEY_ENV

EXIT_OK, EXIT_FAILED = 0, 1


def add_parser(commands: Any) -> None:
    """Add `evidence` to the CLI's subcommands (`commands` is argparse's subparsers action)."""
    evidence = commands.add_parser("evidence", help="verify, index and archive the runs of a reports directory")
    actions = evidence.add_subparsers(dest="evidence_command", required=True, metavar="ACTION")

    verify = actions.add_parser("verify", help="check every run against its SHA256SUMS and signature, and the "
                                               "hash chain between runs; name the first broken link")
    verify.add_argument("reports_dir", type=Path, metavar="REPORTS_DIR")
    keys = verify.add_mutually_exclusive_group()
    keys.add_argument("--public-key", type=Path, metavar="PEM",
                      help="Ed25519 public key: every run must be signed by it")
    keys.add_argument("--signing-key", type=Path, metavar="PEM",
                      help=f"or the private key, whose public half is used (default: env {KEY_ENV})")

    index = actions.add_parser("index", help="write REPORTS_DIR/index.html and index.json: runs per month and "
                                             "store, RTO trends, KPIs, SOC 2 mapping")
    index.add_argument("reports_dir", type=Path, metavar="REPORTS_DIR")
    index.add_argument("--inventory", type=Path, help="inventory whose stores are due every month (so a store "
                                                      "never tested is listed)")
    index.add_argument("--from", dest="first", metavar="YYYY-MM", help="first month (default: the first run's)")
    index.add_argument("--to", dest="last", metavar="YYYY-MM",
                       help="last month (default: last month, or the newest run's month when later)")

    upload = actions.add_parser("upload", help="copy every sealed run to S3 with checksums and Object Lock "
                                               "retention; never overwrites an archived run")
    upload.add_argument("reports_dir", type=Path, metavar="REPORTS_DIR")
    upload.add_argument("destination", metavar="s3://BUCKET[/PREFIX]")
    upload.add_argument("--endpoint-url", help="S3 endpoint (default: env AWS_ENDPOINT_URL, else AWS's)")
    upload.add_argument("--retention-days", type=int, default=DEFAULT_RETENTION_DAYS,
                        help="compliance-mode retention when the bucket has Object Lock; 0 for none "
                             f"(default {DEFAULT_RETENTION_DAYS})")

    freshness = actions.add_parser("freshness", help="exit 1 when the newest sealed run that restored data is older "
                                                     "than --max-age, and alert the channels of --alerts")
    freshness.add_argument("root", type=Path, metavar="REPORTS_OR_ARCHIVE_DIR",
                           help="a reports directory (YYYY-MM/<run-id>/) or an archive directory (also runs/...)")
    freshness.add_argument("--max-age", default="35d", metavar="DURATION",
                           help="the oldest the newest restore may be, e.g. 35d (default 35d)")
    freshness.add_argument("--alerts", type=Path, metavar="ALERTS_TOML",
                           help="when stale, alert the channels of this alerts.toml (see `restoreproof notify`)")


def run(args: argparse.Namespace) -> int:
    if args.evidence_command == "verify":
        return _verify(args)
    if args.evidence_command == "index":
        return _index(args)
    if args.evidence_command == "freshness":
        from verifiers.evidence.freshness import run_freshness

        return run_freshness(args.root, max_age=args.max_age, alerts=args.alerts)
    return _upload(args)


def _verify(args: argparse.Namespace) -> int:
    from verifiers.evidence import chain, signing

    key_path = args.public_key or args.signing_key or (Path(os.environ[KEY_ENV]) if os.environ.get(KEY_ENV) else None)
    trusted = signing.load_public_key(key_path) if key_path else None
    report = chain.verify_reports(args.reports_dir, trusted_key=trusted)
    if report.ok:
        signed = sum((r.directory / chain.SIGNATURE).is_file() for r in report.runs)
        head = report.head.rel if report.head else "-"
        print(f"verified {len(report.runs)} runs in {args.reports_dir}: every file matches its SHA256SUMS and the "
              f"hash chain is unbroken; {signed} signed{' by the given key' if trusted else ''}")
        print(f"head: {head}, SHA256SUMS sha256 {report.head_digest} (compare it with the archived copy)")
        return EXIT_OK
    assert report.first_broken is not None
    print(f"FAILED: first broken link: {report.first_broken}")
    for problem in report.problems:
        print(f"  {problem}")
    count = len(report.problems)
    print(f"{count} problem{'s' if count != 1 else ''} in {len(report.runs)} runs under {args.reports_dir}")
    return EXIT_FAILED


def _index(args: argparse.Namespace) -> int:
    from verifiers.evidence.index import build_index, write_index

    stores: list[str] = []
    if args.inventory is not None:
        from verifiers.inventory import load_inventory

        stores = [s.name for s in load_inventory(args.inventory).stores]
    index = build_index(args.reports_dir, stores=stores, first=args.first, last=args.last)
    json_path, html_path = write_index(args.reports_dir, index)
    kpis = index["kpis"]
    rate = kpis["restore_success_rate"]["rate"]
    print(f"index: {html_path} and {json_path.name}")
    print(f"{index['period']['from']} .. {index['period']['to']}: restore tests completed in "
          f"{kpis['restore_test_completion']['text']}; success rate "
          f"{'-' if rate is None else f'{rate * 100:.0f}%'}; never tested: "
          f"{', '.join(kpis['stores_never_tested']) or 'none'}")
    if not index["integrity"]["ok"]:
        print(f"FAILED: the archive does not verify: first broken link: {index['integrity']['first_broken']}")
        return EXIT_FAILED
    return EXIT_OK


def _upload(args: argparse.Namespace) -> int:
    from verifiers.evidence.upload import S3Location, s3_client, upload_runs

    destination = S3Location.parse(args.destination)
    report = upload_runs(args.reports_dir, destination, client=s3_client(args.endpoint_url),
                         retention_days=args.retention_days)
    for line in report.refused:
        print(f"FAILED: {line}")
    print(f"{len(report.uploaded)} runs uploaded, {len(report.skipped)} already archived, "
          f"{len(report.refused)} refused")
    return EXIT_OK if report.ok else EXIT_FAILED
