"""The alert-response KPI from the configured services: read the keys from the environment (a missing one names
its variable), read each source's incidents of the period, judge them (verifiers.alerts.response)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime

from verifiers.alerts import response_opsgenie, response_pagerduty
from verifiers.alerts.config import AlertConfigError, ResponseSettings
from verifiers.alerts.delivery import RetryPolicy, Sleep
from verifiers.alerts.response import AlertIncident, ResponseReport, judge_response


def read_response(settings: ResponseSettings, env: Mapping[str, str], policy: RetryPolicy, *, since: datetime,
                  until: datetime, as_of: datetime, sleep: Sleep = time.sleep) -> ResponseReport:
    keys = _keys(settings, env)  # every key checked before any request
    incidents: list[AlertIncident] = []
    sources: list[str] = []
    if settings.pagerduty is not None:
        api = response_pagerduty.reader(settings.pagerduty, keys[settings.pagerduty.token_env], policy,
                                         sleep=sleep)
        incidents += response_pagerduty.read_incidents(api, settings.pagerduty, since, until)
        sources.append(response_pagerduty.SOURCE)
    if settings.opsgenie is not None:
        api = response_opsgenie.reader(settings.opsgenie, keys[settings.opsgenie.api_key_env], policy,
                                        sleep=sleep)
        incidents += response_opsgenie.read_alerts(api, settings.opsgenie, since, until)
        sources.append(response_opsgenie.SOURCE)
    return judge_response(incidents, since=since, until=until, as_of=as_of, target_seconds=settings.target,
                          target_share=settings.share, sources=sources, resolve_counts=settings.resolve_counts)


def _keys(settings: ResponseSettings, env: Mapping[str, str]) -> dict[str, str]:
    names = [s.token_env for s in (settings.pagerduty,) if s] + [s.api_key_env for s in (settings.opsgenie,) if s]
    missing = [name for name in names if not env.get(name, "").strip()]
    if missing:
        raise AlertConfigError(f"alert response: environment variable {', '.join(missing)} is not set or empty",
                               hint="set it to the service's API key (the CI passes it from its secrets)")
    return {name: env[name].strip() for name in names}
