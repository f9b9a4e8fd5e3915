"""`restoreproof evidence upload|seal|verify|index`: archive, chain, check and summarise the evidence.

A CI matrix job runs `evidence upload REPORTS ARCHIVE`; the workflow's last job `evidence seal ARCHIVE` (one chain
entry for every run uploaded since the last seal) and `evidence index ARCHIVE`; auditors `evidence verify ARCHIVE`.
ARCHIVE is s3://BUCKET[/PREFIX], git:BRANCH (a branch of this repository's origin), git+REMOTE#BRANCH or a
directory (verifiers/evidence/archive.py). verify and index also take a plain reports directory.

verify also checks every run's evidence.json against the schema this restoreproof ships (conformance.py).

Exit codes: 0 ok; 1 a mismatch (a broken file, link or signature, an evidence.json the schema refuses) or a
failed/refused upload; 2 bad input (raised as EvidenceError, reported by verifiers.cli).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verifiers.evidence.defaults import DEFAULT_RETENTION_DAYS, KEY_ENV
from verifiers.evidence.drill_quarters import missing_text, services_text

if TYPE_CHECKING:
    from verifiers.evidence.chain import Problem

EXIT_OK, EXIT_FAILED = 0, 1


WHERE_RUNS_ARE = ("a reports directory (verify's --reports-dir) or an archive: s3://BUCKET[/PREFIX], git:BRANCH, "
                  "git+REMOTE#BRANCH or a directory")

def add_parser(commands: Any) -> None:
    """Add `evidence` to the CLI's subcommands (`commands` is argparse's subparsers action)."""
    evidence = commands.add_parser("evidence", help="verify, index and archive the runs of a reports directory")
    actions = evidence.add_subparsers(dest="evidence_command", required=True, metavar="ACTION")

    verify = actions.add_parser("verify", help="check every run against its SHA256SUMS and signature, and the "
                                               "chain (an archive's seals, or a reports directory's links between "
                                               "runs); name the first broken link; check every evidence.json "
                                               "against the evidence schema")
    verify.add_argument("reports_dir", metavar="ARCHIVE_OR_REPORTS_DIR", help=WHERE_RUNS_ARE)
    verify.add_argument("--endpoint-url", help="S3 endpoint of an s3:// archive (default: env AWS_ENDPOINT_URL)")
    verify.add_argument("--json", action="store_true", help="print the verdict as one JSON object: ok, runs, "
                        "head, the problems (path, message), notes and pending runs")
    keys = verify.add_mutually_exclusive_group()
    keys.add_argument("--public-key", type=Path, metavar="PEM",
                      help="Ed25519 public key: every run must be signed by it")
    keys.add_argument("--signing-key", type=Path, metavar="PEM",
                      help=f"or the private key, whose public half is used (default: env {KEY_ENV})")

    index = actions.add_parser("index", help="write REPORTS_DIR/index.html and index.json: runs per month and "
                                             "store, RTO trends, KPIs, SOC 2 mapping")
    index.add_argument("reports_dir", metavar="ARCHIVE_OR_REPORTS_DIR", help=WHERE_RUNS_ARE)
    index.add_argument("--endpoint-url", help="S3 endpoint of an s3:// archive (default: env AWS_ENDPOINT_URL)")
    index.add_argument("--inventory", type=Path, help="inventory whose stores are due every month (so a store "
                                                      "never tested is listed) and whose services are due a drill "
                                                      "every year (so a service not drilled is named)")
    index.add_argument("--from", dest="first", metavar="YYYY-MM", help="first month (default: the first run's)")
    index.add_argument("--to", dest="last", metavar="YYYY-MM",
                       help="last month (default: last month, or the newest run's month when later)")

    upload = actions.add_parser("upload", help="copy every sealed run of a reports directory into the ARCHIVE (S3: "
                                               "with checksums and Object Lock retention); never overwrites")
    upload.add_argument("reports_dir", type=Path, metavar="REPORTS_DIR",
                        help="the reports directory whose sealed runs to copy (verify's --reports-dir)")
    upload.add_argument("destination", metavar="ARCHIVE",
                        help="s3://BUCKET[/PREFIX], git:BRANCH, git+REMOTE#BRANCH or a directory")
    upload.add_argument("--endpoint-url", help="S3 endpoint (default: env AWS_ENDPOINT_URL, else AWS's)")
    upload.add_argument("--retention-days", type=int, default=DEFAULT_RETENTION_DAYS,
                        help="compliance-mode retention when the bucket has Object Lock; 0 for none "
                             f"(default {DEFAULT_RETENTION_DAYS})")

    sealer = actions.add_parser("seal", help="link every run uploaded since the last seal into one chain entry "
                                             "after the archive's head (the workflow's last job)")
    sealer.add_argument("archive", metavar="ARCHIVE", help="s3://BUCKET[/PREFIX], git:BRANCH, git+REMOTE#BRANCH or a "
                        "directory: where `evidence upload` copied the runs")
    sealer.add_argument("--signing-key", type=Path, metavar="PEM",
                        help=f"Ed25519 private key that signs the entry (default: env {KEY_ENV})")
    sealer.add_argument("--endpoint-url", help="S3 endpoint of an s3:// archive (default: env AWS_ENDPOINT_URL)")
    sealer.add_argument("--retention-days", type=int, default=DEFAULT_RETENTION_DAYS,
                        help=f"S3 Object Lock retention of the entry (default {DEFAULT_RETENTION_DAYS})")

    freshness = actions.add_parser("freshness", help="exit 1 when the newest sealed run that restored data is older "
                                                     "than --max-age, and alert the channels of --alerts")
    freshness.add_argument("root", metavar="ARCHIVE_OR_REPORTS_DIR",
                           help="a reports directory (YYYY-MM/<run-id>/) or an ARCHIVE (s3://, git:, a directory)")
    freshness.add_argument("--endpoint-url", help="S3 endpoint of an s3:// archive (default: env AWS_ENDPOINT_URL)")
    freshness.add_argument("--max-age", default="35d", metavar="DURATION",
                           help="the oldest the newest restore may be, e.g. 35d (default 35d)")
    freshness.add_argument("--alerts", type=Path, metavar="ALERTS_TOML",
                           help="when stale, alert the channels of this alerts.toml (see `restoreproof notify`)")

    trend = actions.add_parser("trend", help="exit 1 when a store's newest restore is slower, in some RTO phase, "
                                             "than the median of its previous restores, and alert --alerts")
    trend.add_argument("root", metavar="ARCHIVE_OR_REPORTS_DIR",
                       help="a reports directory (YYYY-MM/<run-id>/) or an ARCHIVE (s3://, git:, a directory)")
    trend.add_argument("--endpoint-url", help="S3 endpoint of an s3:// archive (default: env AWS_ENDPOINT_URL)")
    trend.add_argument("--runs", type=int, default=6, help="earlier restores the median is of (default 6)")
    trend.add_argument("--threshold", default="20%", help="how much slower than the median is a regression "
                                                         "(default 20%%)")
    trend.add_argument("--floor", default="1s", metavar="DURATION",
                       help="and by at least this much, so that tiny phases are not news (default 1s)")
    trend.add_argument("--alerts", type=Path, metavar="ALERTS_TOML",
                       help="alert a store's slowdown to the channels of this alerts.toml, resolve it when gone")


def run(args: argparse.Namespace) -> int:
    if args.evidence_command == "verify":
        return _verify(args)
    if args.evidence_command == "index":
        return _index(args)
    if args.evidence_command == "seal":
        return _seal(args)
    if args.evidence_command == "freshness":
        return _freshness(args)
    if args.evidence_command == "trend":
        return _trend(args)
    return _upload(args)


def _freshness(args: argparse.Namespace) -> int:
    from verifiers.evidence.archives import is_remote, mirrored, open_archive
    from verifiers.evidence.freshness import run_freshness

    if not is_remote(args.root):
        return run_freshness(Path(args.root), max_age=args.max_age, alerts=args.alerts)
    archive = open_archive(args.root, endpoint_url=args.endpoint_url)
    with mirrored(archive) as there:
        return run_freshness(there, max_age=args.max_age, alerts=args.alerts, shown_as=archive.url)


def _trend(args: argparse.Namespace) -> int:
    from verifiers.evidence.archives import is_remote, mirrored, open_archive
    from verifiers.evidence.trend import run_trend

    options = {"runs": args.runs, "threshold": args.threshold, "floor": args.floor, "alerts": args.alerts}
    if not is_remote(args.root):
        return run_trend(Path(args.root), **options)
    archive = open_archive(args.root, endpoint_url=args.endpoint_url)
    with mirrored(archive) as there:
        return run_trend(there, **options, shown_as=archive.url)


def _verify(args: argparse.Namespace) -> int:
    from verifiers.evidence import chain, signing
    from verifiers.evidence.conformance import not_checked, schema_problems

    key_path = args.public_key or args.signing_key or (Path(os.environ[KEY_ENV]) if os.environ.get(KEY_ENV) else None)
    trusted = signing.load_public_key(key_path) if key_path else None
    if _is_archive(args.reports_dir):
        return _verify_archive(args, trusted)
    report = chain.verify_reports(Path(args.reports_dir), trusted_key=trusted)
    invalid = schema_problems(report.runs)
    notes = not_checked(report.runs)
    lines = [f"note: {note}" for note in notes]
    ok = report.ok and not invalid
    signed = sum((r.directory / chain.SIGNATURE).is_file() for r in report.runs)
    head = report.head.rel if report.head else None
    if ok:
        lines.append(f"verified {len(report.runs)} runs in {args.reports_dir}: every file matches its SHA256SUMS and "
                     f"the hash chain is unbroken; {signed} signed{' by the given key' if trusted else ''}; every "
                     "evidence.json matches the evidence schema")
        lines.append(f"head: {head or '-'}, SHA256SUMS sha256 {report.head_digest} (compare it with the archived "
                     "copy)")
    else:
        if report.first_broken is not None:
            lines.append(f"FAILED: first broken link: {report.first_broken}")
            lines += [f"  {problem}" for problem in report.problems]
        lines += _invalid_lines(invalid)
        count = len(report.problems) + len(invalid)
        lines.append(f"{count} problem{'s' if count != 1 else ''} in {len(report.runs)} runs under {args.reports_dir}")
    return _report(args, lines, {
        "ok": ok, "where": str(args.reports_dir), "runs": len(report.runs), "signed": signed,
        "head": head, "head_sha256": report.head_digest, "first_broken": _text(report.first_broken),
        "problems": _problems(report.problems), "schema_problems": _problems(invalid), "notes": notes})


def _report(args: argparse.Namespace, lines: list[str], result: dict[str, Any]) -> int:
    """The verdict as text lines, or with --json as one JSON object; exit 0 when it is ok, 1 when not."""
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print("\n".join(lines))
    return EXIT_OK if result["ok"] else EXIT_FAILED


def _problems(problems: Sequence[Problem]) -> list[dict[str, str]]:
    return [{"path": str(p.path), "message": p.message} for p in problems]


def _text(value: object | None) -> str | None:
    return None if value is None else str(value)


def _invalid_lines(invalid: list[Problem]) -> list[str]:
    if not invalid:
        return []
    from verifiers.evidence import SCHEMA_PATH

    files = len({problem.path for problem in invalid})
    return [f"FAILED: {files} evidence.json file{'s do' if files != 1 else ' does'} not match the evidence schema "
            f"({SCHEMA_PATH.name}, shipped with restoreproof)", *(f"  {problem}" for problem in invalid)]


def _is_archive(where: str) -> bool:
    from verifiers.evidence.archives import is_remote
    from verifiers.evidence.seal import is_archive

    return is_remote(where) or is_archive(Path(where))


def _verify_archive(args: argparse.Namespace, trusted: Any) -> int:
    from verifiers.evidence.archives import mirrored, open_archive
    from verifiers.evidence.conformance import not_checked, schema_problems
    from verifiers.evidence.seal import verify_archive

    archive = open_archive(args.reports_dir, endpoint_url=args.endpoint_url)
    with mirrored(archive) as there:
        report = verify_archive(there, trusted=trusted)
        invalid = schema_problems(report.runs)
        notes = not_checked(report.runs)
    lines = [f"note: {note}" for note in notes]
    lines += [f"pending: {rel} was uploaded after the last seal (sealed by the next `evidence seal`)"
              for rel in report.pending]
    ok = report.ok and not invalid
    if ok:
        signed = "; every run and entry signed by the given key" if trusted else ""
        lines.append(f"verified archive {archive.url}: {len(report.runs)} runs, each matching its SHA256SUMS; "
                     f"{report.entries} seal entries, the chain unbroken{signed}; every evidence.json matches the "
                     "evidence schema")
        lines.append(f"head: seals/{report.entries:06d}.json sha256 {report.head_sha256} (compare it with a copy "
                     "kept elsewhere)" if report.entries else "head: no seal yet")
    else:
        if report.problems:
            lines.append(f"FAILED: first broken link: {report.problems[0]}")
            lines += [f"  {problem}" for problem in report.problems]
        lines += _invalid_lines(invalid)
        count = len(report.problems) + len(invalid)
        lines.append(f"{count} problem{'s' if count != 1 else ''} in archive {archive.url} ({len(report.runs)} runs, "
                     f"{report.entries} seal entries)")
    return _report(args, lines, {
        "ok": ok, "where": archive.url, "runs": len(report.runs), "seal_entries": report.entries,
        "head_sha256": report.head_sha256 if report.entries else None,
        "first_broken": _text(report.problems[0]) if report.problems else None,
        "problems": _problems(report.problems), "schema_problems": _problems(invalid), "notes": notes,
        "pending": list(report.pending)})


def _index(args: argparse.Namespace) -> int:
    stores: list[str] = []
    services: list[str] | None = None  # without the inventory, no service is named as not drilled
    if args.inventory is not None:
        from verifiers.inventory import load_inventory

        inventory = load_inventory(args.inventory)
        stores = [s.name for s in inventory.stores]
        services = [s.name for s in inventory.services]
    if _is_archive(args.reports_dir):
        return _index_archive(args, stores, services)
    from verifiers.evidence.index import build_index, write_index

    root = Path(args.reports_dir)
    index = build_index(root, stores=stores, first=args.first, last=args.last, services=services)
    json_path, html_path = write_index(root, index)
    print(f"index: {html_path} and {json_path.name}")
    return _index_summary(index)


def _index_archive(args: argparse.Namespace, stores: list[str], services: list[str] | None) -> int:
    """The index of an archive, built on a mirror of it and published into it (the only files ever replaced)."""
    from verifiers.evidence.archives import mirrored, open_archive
    from verifiers.evidence.index import build_index, write_index
    from verifiers.evidence.seal import verify_archive

    archive = open_archive(args.reports_dir, endpoint_url=args.endpoint_url)
    with mirrored(archive) as there:
        report = verify_archive(there)
        index = build_index(there, stores=stores, first=args.first, last=args.last, report=report.as_chain_report(),
                            services=services)
        json_path, html_path = write_index(there, index)
        archive.publish({"index.json": json_path, "index.html": html_path}, message="evidence: index")
    print(f"index: {archive.url}/index.html and index.json")
    return _index_summary(index)


def _index_summary(index: dict[str, Any]) -> int:
    kpis = index["kpis"]
    rate = kpis["restore_success_rate"]["rate"]
    print(f"{index['period']['from']} .. {index['period']['to']}: restore tests completed in "
          f"{kpis['restore_test_completion']['text']}; success rate "
          f"{'-' if rate is None else f'{rate * 100:.0f}%'}; never tested: "
          f"{', '.join(kpis['stores_never_tested']) or 'none'}")
    drills = kpis["drills_quarterly"]
    print(f"DR drills: {drills['text']}; without a passed drill: {missing_text(drills)}")
    if (services := services_text(drills)) is not None:
        print(f"services in the last four quarters: {services}")
    if not index["integrity"]["ok"]:
        print(f"FAILED: the archive does not verify: first broken link: {index['integrity']['first_broken']}")
        return EXIT_FAILED
    return EXIT_OK


def _upload(args: argparse.Namespace) -> int:
    if args.destination.startswith("s3://"):  # per object: checksums, Object Lock retention, create-only
        from verifiers.evidence.archive import S3Location
        from verifiers.extras import needed_by

        location = S3Location.parse(args.destination)
        with needed_by(f"uploading the evidence to {location}"):
            from verifiers.evidence.upload import s3_client, upload_runs
        report = upload_runs(args.reports_dir, location,
                             client=s3_client(args.endpoint_url), retention_days=args.retention_days)
    else:
        from verifiers.evidence.archives import open_archive
        from verifiers.evidence.seal import upload

        report = upload(args.reports_dir, open_archive(args.destination))
    for line in report.refused:
        print(f"FAILED: {line}")
    print(f"{len(report.uploaded)} runs uploaded, {len(report.skipped)} already archived, "
          f"{len(report.refused)} refused")
    return EXIT_OK if report.ok else EXIT_FAILED


def _seal(args: argparse.Namespace) -> int:
    from verifiers.evidence import signing
    from verifiers.evidence.archives import open_archive
    from verifiers.evidence.seal import seal

    key_path = args.signing_key or (Path(os.environ[KEY_ENV]) if os.environ.get(KEY_ENV) else None)
    key = signing.load_private_key(key_path) if key_path else None
    seal(open_archive(args.archive, endpoint_url=args.endpoint_url, retention_days=args.retention_days), key=key)
    return EXIT_OK
