"""`restoreproof notify RUN_DIR_OR_EVIDENCE_JSON`: alert the channels of alerts.toml about every failed or
errored store of a run (Slack, PagerDuty, Opsgenie, a JSON webhook), and resolve PagerDuty incidents and close
Opsgenie alerts of the stores that passed.

Exit codes: 0 every request delivered (or nothing to send); 1 a request failed or a channel's secret is
missing (each printed with the channel and HTTP status, never a secret); 2 bad input (no evidence, a bad
configuration or URL), raised as a RestoreproofError and reported by verifiers.cli.
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from verifiers.alerts.payload import StoreAlert

EXIT_OK, EXIT_FAILED = 0, 1


def add_parser(commands: Any) -> None:
    """Add `notify` and `alerts` to the CLI's subcommands (`commands` is argparse's subparsers action)."""
    from verifiers.alerts import response_command

    alerts = commands.add_parser("alerts", help="read the alert services: how fast backup alerts were acknowledged "
                                 "(alerts response)")
    response_command.add_parser(alerts.add_subparsers(dest="alerts_command", required=True, metavar="COMMAND"))
    notify = commands.add_parser(
        "notify", help="alert Slack, PagerDuty, Opsgenie or a webhook about a run's failed stores (and resolve the "
                       "incidents of stores that passed)")
    notify.add_argument("path", type=Path, metavar="RUN_DIR_OR_EVIDENCE_JSON",
                        help="a run directory, its evidence.json, or a reports root (its newest run)")
    notify.add_argument("--config", type=Path, default=Path("alerts.toml"),
                        help="the channels and delivery settings (default: alerts.toml)")
    notify.add_argument("--dry-run", action="store_true",
                        help="print each request (secrets masked) instead of sending it; exit 1 if a channel's "
                             "secret is missing")
    notify.add_argument("--report-url", metavar="URL",
                        help="link to the report in every alert; {run_id}, {month} and {store} are filled in")
    notify.add_argument("--missing-evidence-as", metavar="NAME",
                        help="when PATH holds no evidence (the job died before writing it), alert that NAME errored "
                             "instead of exiting 2; when it does, resolve NAME's earlier alert (e.g. suite-rds)")


def run(args: argparse.Namespace) -> int:
    from verifiers.alerts.config import load_alert_config
    from verifiers.alerts.notify import plan_requests, retry_policy, send

    config = load_alert_config(args.config)
    alerts = _alerts(args, _report_url(args.report_url))
    plan = plan_requests(alerts, config, os.environ)
    if args.dry_run:
        for request in plan.requests:
            print(f"[dry run] {request.describe()}: POST {request.shown_url}")
            for name, value in request.shown_headers().items():
                print(f"  {name}: {value}")
            print(request.shown_body())
        for problem in plan.problems:
            print(f"FAILED: {problem}")
        print(f"dry run: {_count(len(plan.requests), 'request')} to send, {_count(len(plan.problems), 'channel')} "
              "unusable")
        return EXIT_FAILED if plan.problems else EXIT_OK
    if not plan.requests and not plan.problems:
        print(f"nothing to send: {_verdicts(alerts)}")
        return EXIT_OK
    report = send(plan, retry_policy(config))
    for result in report.results:
        print(result.describe())
    for problem in report.problems:
        print(f"FAILED: {problem}")
    sent = len(report.results) - len(report.failed)
    print(f"alerts: {sent} sent, {len(report.failed)} failed, {_count(len(report.problems), 'channel')} unusable "
          f"({_verdicts(alerts)})")
    return EXIT_OK if report.ok else EXIT_FAILED


def _alerts(args: argparse.Namespace, report_url: str | None) -> list[StoreAlert]:
    from verifiers.alerts.payload import stand_in_alert, store_alerts
    from verifiers.errors import EvidenceError
    from verifiers.run_record import load_run

    stand_in: str | None = args.missing_evidence_as
    try:
        loaded = load_run(args.path)
    except EvidenceError as exc:
        if not stand_in:
            raise
        month = f"{datetime.now(UTC):%Y-%m}"
        problem = f"the run wrote no evidence ({exc.message}): it stopped before verifying; see the CI log"
        return [stand_in_alert(stand_in, month=month, problem=problem, report_url=report_url)]
    alerts = store_alerts(loaded, report_url)
    if stand_in:
        if any(a.store.name == stand_in for a in alerts):
            from verifiers.alerts.config import AlertConfigError  # not at import: the CLI's --help stays fast

            raise AlertConfigError(f"--missing-evidence-as {stand_in}: a store of the run has that name",
                                   hint="choose a name no store has, e.g. suite-rds")
        alerts.append(stand_in_alert(stand_in, month=loaded.record.run.month, problem=None, report_url=report_url))
    return alerts


def _report_url(value: str | None) -> str | None:
    if value is None:
        return None
    from urllib.parse import urlsplit

    from verifiers.alerts.config import AlertConfigError

    if urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).hostname:
        raise AlertConfigError(f"--report-url {value!r} is not an http(s) URL",
                               hint="give the page people should open, e.g. the CI run's URL")
    return value


def _verdicts(alerts: list[StoreAlert]) -> str:
    counts = {status: sum(a.store.status == status for a in alerts) for status in ("failed", "error", "passed")}
    return f"{counts['failed']} failed, {counts['error']} errored, {counts['passed']} passed"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
