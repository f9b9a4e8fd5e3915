"""alerts.toml: which channels to notify and how hard to try. Validated with pydantic; every error names the
file and the field path (`channels[1].routing_key_env`).

No secret is ever in this file: each channel names the environment variable holding its webhook URL, routing
key or API key (`url_env = "SLACK_WEBHOOK_URL"`), read only when sending.

An optional `[response]` table says where `restoreproof alerts response` reads how fast backup alerts were
acknowledged (PagerDuty's REST API, Opsgenie's Alert API) and the target it judges them against.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, ValidationError, model_validator

from verifiers.errors import RestoreproofError
from verifiers.inventory import field_path
from verifiers.setting_types import Seconds, StrictModel

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
PAGERDUTY_API_URL = "https://api.pagerduty.com"  # the REST API (reading incidents), not the Events API
OPSGENIE_API_URL = "https://api.opsgenie.com"  # EU accounts: https://api.eu.opsgenie.com
CHANNEL_TYPES = ("slack", "pagerduty", "opsgenie", "webhook")


class AlertConfigError(RestoreproofError):
    """The alert configuration is missing, is not TOML, or does not validate."""


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value.rstrip("/")


HttpUrl = Annotated[str, AfterValidator(_http_url)]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                               description="name of the environment variable holding the secret")]


def _refuse_secrets(data: Any, fields: dict[str, str]) -> Any:
    """A secret written into the file (`url = "https://hooks.slack.com/..."`) is refused with the fix."""
    if isinstance(data, dict):
        for field, env_field in fields.items():
            if field in data:
                raise ValueError(f"`{field}` is a secret and does not belong in this file: put it in an environment "
                                 f"variable and name that variable with `{env_field}`")
    return data


class Delivery(StrictModel):
    """How hard to try (urllib3's Retry): each request gets `timeout`; a 5xx, a 408, a 429, a timeout or a
    connection error is retried up to `attempts` in all, the first retry at once, then waiting `backoff`, twice
    that, ... (as long as a Retry-After asks when the answer gives one), never longer than `max_wait` at a time."""

    timeout: Seconds = Field(default=10.0, gt=0)
    attempts: int = Field(default=4, ge=1, le=10)
    backoff: Seconds = Field(default=2.0, gt=0)
    max_wait: Seconds = Field(default=60.0, gt=0)


class _Channel(StrictModel):
    type: str
    name: str | None = Field(default=None, min_length=1, description="shown in messages; default: the type")

    @property
    def label(self) -> str:
        return self.name or self.type

    def secret_envs(self) -> tuple[str, ...]:
        raise NotImplementedError


class SlackChannel(_Channel):
    """A Slack incoming webhook: one message per failed store."""

    type: Literal["slack"]
    url_env: EnvName

    @model_validator(mode="before")
    @classmethod
    def _no_secret(cls, data: Any) -> Any:
        return _refuse_secrets(data, {"url": "url_env"})

    def secret_envs(self) -> tuple[str, ...]:
        return (self.url_env,)


class PagerDutyChannel(_Channel):
    """PagerDuty Events API v2: a `trigger` per failed store (dedup key per store and month), a `resolve` for
    each store that passes."""

    type: Literal["pagerduty"]
    routing_key_env: EnvName
    url: HttpUrl = PAGERDUTY_EVENTS_URL
    severity: Literal["critical", "error", "warning", "info"] = "critical"
    source: str = Field(default="restoreproof", min_length=1)
    resolve: bool = Field(default=True, description="resolve the store's incident when it passes")

    @model_validator(mode="before")
    @classmethod
    def _no_secret(cls, data: Any) -> Any:
        return _refuse_secrets(data, {"routing_key": "routing_key_env", "integration_key": "routing_key_env"})

    def secret_envs(self) -> tuple[str, ...]:
        return (self.routing_key_env,)


class OpsgenieChannel(_Channel):
    """Opsgenie Alert API: an alert per failed store (alias = the dedup key), closed when the store passes."""

    type: Literal["opsgenie"]
    api_key_env: EnvName
    url: HttpUrl = OPSGENIE_API_URL
    priority: Literal["P1", "P2", "P3", "P4", "P5"] = "P2"
    tags: list[str] = Field(default_factory=lambda: ["restoreproof"])
    close: bool = Field(default=True, description="close the store's alert when it passes")

    @model_validator(mode="before")
    @classmethod
    def _no_secret(cls, data: Any) -> Any:
        return _refuse_secrets(data, {"api_key": "api_key_env"})

    def secret_envs(self) -> tuple[str, ...]:
        return (self.api_key_env,)


class WebhookChannel(_Channel):
    """Any HTTP endpoint: a JSON POST per failed store carrying its evidence record."""

    type: Literal["webhook"]
    url_env: EnvName
    authorization_env: EnvName | None = Field(
        default=None, description="environment variable whose value is sent as the Authorization header")

    @model_validator(mode="before")
    @classmethod
    def _no_secret(cls, data: Any) -> Any:
        return _refuse_secrets(data, {"url": "url_env", "authorization": "authorization_env"})

    def secret_envs(self) -> tuple[str, ...]:
        return (self.url_env, *([self.authorization_env] if self.authorization_env else []))


Channel = Annotated[SlackChannel | PagerDutyChannel | OpsgenieChannel | WebhookChannel, Field(discriminator="type")]


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a regular expression: {exc}") from None
    return value


class PagerDutyResponseSource(StrictModel):
    """Incidents from PagerDuty's REST API v2 (GET /incidents, then each incident's log entries for its first
    acknowledgement). Needs a REST API key (read-only is enough), not the Events API routing key."""

    token_env: EnvName = Field(description="environment variable holding a PagerDuty REST API key (a read-only "
                               "key is enough; not the Events API routing key)")
    service_ids: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list, description="only incidents of these services (e.g. the backup jobs' service); "
        "default: every service the key can see")
    title_match: Annotated[str, Field(min_length=1), AfterValidator(_regex)] | None = Field(
        default=None, description="only incidents whose title matches this regular expression "
        "(case-insensitive), e.g. \"backup (failed|failure)\"; default: every incident of those services")
    api_url: HttpUrl = Field(default=PAGERDUTY_API_URL, description="the REST API's base URL")

    @model_validator(mode="before")
    @classmethod
    def _no_secret(cls, data: Any) -> Any:
        return _refuse_secrets(data, {"token": "token_env", "api_key": "token_env"})


class OpsgenieResponseSource(StrictModel):
    """Alerts from Opsgenie's Alert API (GET /v2/alerts): `acknowledged` and `report.ackTime` give the time to
    acknowledge."""

    api_key_env: EnvName = Field(description="environment variable holding an Opsgenie API key with read access")
    query: str = Field(min_length=1, description="Opsgenie search query selecting the backup alerts, e.g. "
                       "\"tag:backup\"; restoreproof applies the period")
    api_url: HttpUrl = Field(default=OPSGENIE_API_URL, description="the API's base URL; EU accounts: "
                             "https://api.eu.opsgenie.com")

    @model_validator(mode="before")
    @classmethod
    def _no_secret(cls, data: Any) -> Any:
        return _refuse_secrets(data, {"api_key": "api_key_env"})


class ResponseSettings(StrictModel):
    """How fast backup alerts must be acknowledged: `share` percent of the incidents created in the period within
    `target` of their creation. An incident never acknowledged is not within target."""

    target: Seconds = Field(default=3600.0, gt=0, description="time to acknowledge an incident must stay within "
                            "(e.g. \"PT1H\", \"1h\")")
    share: float = Field(default=100.0, gt=0, le=100, description="percent of the period's incidents that must be "
                         "acknowledged within target")
    period: Seconds = Field(default=30 * 86400.0, gt=0, description="how far back to look: `alerts response` "
                            "without --since, and every run with --alert-response (e.g. \"P30D\")")
    resolve_counts: bool = Field(default=False, description="an incident resolved without being acknowledged "
                                 "counts as answered when it was resolved (default false: as never acknowledged, "
                                 "since an integration's auto-resolve is nobody's response)")
    pagerduty: PagerDutyResponseSource | None = None
    opsgenie: OpsgenieResponseSource | None = None


class AlertConfig(StrictModel):
    delivery: Delivery = Delivery()
    channels: list[Channel] = Field(default_factory=list)
    response: ResponseSettings | None = None

    @model_validator(mode="after")
    def _labels_unique(self) -> AlertConfig:
        labels = [c.label for c in self.channels]
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise ValueError(f"two channels are called {', '.join(twice)}: give each a distinct `name`")
        return self


def load_alert_config(path: Path, *, channels_required: bool = True) -> AlertConfig:
    """alerts.toml, validated; `channels_required` (sending alerts) refuses a file without a channel."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AlertConfigError(f"alert configuration {path} does not exist",
                               hint="pass --config PATH (see docs/ci.md: Alerts)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AlertConfigError(f"alert configuration {path} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise AlertConfigError(f"{path}: not valid TOML: {exc}", hint="fix the syntax at that line") from None
    return parse_alert_config(raw, path, channels_required=channels_required)


def parse_alert_config(raw: dict[str, Any], path: Path, *, channels_required: bool = True) -> AlertConfig:
    try:
        config = AlertConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{path}: {_where(err, raw)}: {_explain(err)}" for err in exc.errors()]
        raise AlertConfigError("\n".join(lines)) from None
    if channels_required and not config.channels:
        # a file with only [response] is enough to read alert response times, never to send alerts
        raise AlertConfigError(f"{path}: channels: no channel is configured; add (or uncomment) a [[channels]] "
                               "table")
    return config


def _where(err: Any, raw: Any) -> str:
    where = field_path(err["loc"], raw)
    return f"{where}.type" if err["type"] in ("union_tag_invalid", "union_tag_not_found") else where


def _explain(err: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return "required field is missing; add it"
    if kind == "extra_forbidden":
        return "unknown field; check its spelling against the alerts.toml example in docs/ci.md"
    if kind == "union_tag_invalid":
        return f"unsupported channel type {err['ctx']['tag']!r}; use one of {', '.join(CHANNEL_TYPES)}"
    if kind == "union_tag_not_found":
        return f"missing `type`; use one of {', '.join(CHANNEL_TYPES)}"
    if kind == "string_pattern_mismatch":
        return "not an environment variable name (letters, digits and _, not starting with a digit)"
    return str(err["msg"]).removeprefix("Value error, ")
