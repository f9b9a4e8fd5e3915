"""Every store of a run, told to every configured channel: build the requests (secrets read from the
environment only here), then deliver them one by one; every failure comes back, none is swallowed."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from verifiers.alerts import opsgenie, pagerduty, slack, webhook
from verifiers.alerts.config import (
    AlertConfig,
    Channel,
    OpsgenieChannel,
    PagerDutyChannel,
    SlackChannel,
    WebhookChannel,
)
from verifiers.alerts.delivery import DeliveryResult, OutboundRequest, RetryPolicy, Sleep, deliver
from verifiers.alerts.payload import StoreAlert


@dataclass
class Plan:
    requests: list[OutboundRequest] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # channels that cannot be used: each is a failure to alert


@dataclass
class NotifyReport:
    results: list[DeliveryResult]
    problems: list[str]

    @property
    def failed(self) -> list[DeliveryResult]:
        return [r for r in self.results if not r.delivered]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.failed


def plan_requests(alerts: Sequence[StoreAlert], config: AlertConfig, env: Mapping[str, str]) -> Plan:
    """The requests for every store and channel. A channel whose secret is missing or malformed is reported
    once (naming the environment variable, never its value) and the other channels still get theirs."""
    plan = Plan()
    usable: list[tuple[Channel, dict[str, str]]] = []
    for channel in config.channels:
        missing = [name for name in channel.secret_envs() if not env.get(name, "").strip()]
        if missing:
            plan.problems.append(f"{channel.label}: nothing sent: environment variable {', '.join(missing)} is not set "
                                 "or empty")
        else:
            usable.append((channel, {name: env[name] for name in channel.secret_envs()}))
    broken: set[str] = set()
    for alert in alerts:
        for channel, secrets in usable:
            if channel.label in broken:
                continue
            try:
                plan.requests += _requests_for(channel, secrets, alert)
            except ValueError as exc:  # a secret that is not what the channel needs (e.g. not a URL)
                broken.add(channel.label)
                plan.problems.append(f"{channel.label}: nothing sent: {exc}")
    return plan


def _requests_for(channel: Channel, secrets: Mapping[str, str], alert: StoreAlert) -> list[OutboundRequest]:
    if isinstance(channel, SlackChannel):
        return slack.requests_for(channel, secrets, alert)
    if isinstance(channel, PagerDutyChannel):
        return pagerduty.requests_for(channel, secrets, alert)
    if isinstance(channel, OpsgenieChannel):
        return opsgenie.requests_for(channel, secrets, alert)
    if isinstance(channel, WebhookChannel):
        return webhook.requests_for(channel, secrets, alert)
    raise TypeError(f"no sender for channel type {channel.type!r}")


def retry_policy(config: AlertConfig) -> RetryPolicy:
    d = config.delivery
    return RetryPolicy(timeout=d.timeout, attempts=d.attempts, backoff=d.backoff, max_wait=d.max_wait)


def send(plan: Plan, policy: RetryPolicy, *, sleep: Sleep = time.sleep) -> NotifyReport:
    return NotifyReport([deliver(request, policy, sleep=sleep) for request in plan.requests], list(plan.problems))
