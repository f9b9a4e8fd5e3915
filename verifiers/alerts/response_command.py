"""`restoreproof alerts response`: how fast the period's backup alerts were acknowledged, from PagerDuty's and
Opsgenie's APIs, against alerts.toml's [response] target. A line per incident, then the KPI.

Exit codes: 0 the target is met, or nothing was compared (no backup alert in the period: nothing to answer; the
output says "not compared", and so does the check); 1 the target is not met; 2 bad input (no [response] table
or source, a missing key variable, a bad --since/--until, a key the service refuses, an API that cannot be
read), raised as a RestoreproofError and reported by verifiers.cli.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED = 0, 1


def add_parser(alerts: Any) -> None:
    """Add `response` to `restoreproof alerts` (`alerts` is its subparsers action)."""
    response = alerts.add_parser("response", help="the share of backup alerts acknowledged within the target "
                                 "(PagerDuty, Opsgenie), per incident and as a KPI")
    response.add_argument("--alerts", type=Path, default=Path("alerts.toml"), metavar="ALERTS_TOML",
                          help="its [response] table: target, share, period and sources (default: alerts.toml)")
    response.add_argument("--since", metavar="ISO", help="start of the period, ISO 8601 (e.g. 2026-11-01 or "
                          "2026-11-01T00:00:00Z; no zone: UTC) (default: --until minus [response] period)")
    response.add_argument("--until", metavar="ISO", help="end of the period, excluded (default: now)")
    response.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    from verifiers.alerts.config import AlertConfigError
    from verifiers.alerts.notify import retry_policy
    from verifiers.alerts.response_read import read_response
    from verifiers.alerts.response_run import load

    response = load(args.alerts)
    config, settings = response.config, response.settings
    now = datetime.now(UTC)
    until = _moment(args.until, "--until") if args.until else now
    since = _moment(args.since, "--since") if args.since else until - timedelta(seconds=settings.period)
    if since >= until:
        raise AlertConfigError(f"--since {since.isoformat()} is not before --until {until.isoformat()}",
                               hint="give a period that starts before it ends")
    report = read_response(settings, os.environ, retry_policy(config), since=since, until=until, as_of=now)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        for judged in report.incidents:
            print(judged.describe())
        print(report.summary())
    return EXIT_FAILED if report.passed is False else EXIT_OK


def _moment(text: str, option: str) -> datetime:
    from verifiers.alerts.config import AlertConfigError

    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise AlertConfigError(f"{option} {text!r} is not an ISO 8601 date or time",
                               hint="write e.g. 2026-11-01 or 2026-11-01T06:00:00Z") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
