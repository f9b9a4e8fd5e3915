"""The alert-response KPI as a run-level check (verifiers/run_checks.py): `restoreproof verify --alert-response
alerts.toml` (or the pytest option) reads the [response] sources once, at the end of the run, and records the
`alert_response` check in the run's evidence, where `notify`, the report and the archive index find it.

The file is read when the run starts (`load`), so a bad one stops the run before anything is restored; the APIs
are read when it ends (`judge`), and a service that cannot be read there is a failed check naming the fix, not a
crash that would leave the run unsealed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from verifiers.alerts.config import AlertConfig, AlertConfigError, ResponseSettings, load_alert_config
from verifiers.alerts.notify import retry_policy
from verifiers.alerts.response import CHECK, SUBJECT, response_check
from verifiers.alerts.response_http import ResponseSourceError
from verifiers.alerts.response_read import read_response
from verifiers.run_checks import RunCheck


@dataclass(frozen=True)
class AlertResponse:
    """alerts.toml with a [response] table that names at least one source."""

    path: Path
    config: AlertConfig
    settings: ResponseSettings


def load(path: Path) -> AlertResponse:
    config = load_alert_config(path, channels_required=False)
    return AlertResponse(path, config, response_settings(config, path))


def response_settings(config: AlertConfig, path: Path) -> ResponseSettings:
    settings = config.response
    if settings is None or (settings.pagerduty is None and settings.opsgenie is None):
        raise AlertConfigError(f"{path}: response: no alert source to read",
                               hint="add a [response.pagerduty] or [response.opsgenie] table (docs/ci.md: Alert "
                                    "response time)")
    return settings


def judge(response: AlertResponse, now: datetime, env: Mapping[str, str] = os.environ) -> RunCheck:
    """The period's backup alerts (the [response] period back from `now`) judged against the target."""
    since = now - timedelta(seconds=response.settings.period)
    try:
        report = read_response(response.settings, env, retry_policy(response.config), since=since, until=now,
                               as_of=now)
    except (AlertConfigError, ResponseSourceError) as exc:
        return RunCheck(CHECK, SUBJECT, False, None, None,
                        f"the alert services could not be read, so the KPI is unknown: {exc.describe()}")
    return response_check(report)
