"""alerts.toml: defaults, the field path in every error, and secrets refused in the file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from verifiers.alerts.config import (
    OPSGENIE_API_URL,
    PAGERDUTY_EVENTS_URL,
    AlertConfigError,
    OpsgenieChannel,
    PagerDutyChannel,
    load_alert_config,
)
from verifiers.alerts.notify import retry_policy

EXAMPLE = """
[delivery]
timeout = "5s"
attempts = 3
backoff = "1s"

[[channels]]
type = "slack"
url_env = "SLACK_WEBHOOK_URL"

[[channels]]
type = "pagerduty"
routing_key_env = "PAGERDUTY_ROUTING_KEY"
severity = "error"

[[channels]]
type = "opsgenie"
api_key_env = "OPSGENIE_API_KEY"
url = "https://api.eu.opsgenie.com/"

[[channels]]
type = "webhook"
name = "ticketing"
url_env = "TICKETS_WEBHOOK_URL"
"""


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(AlertConfigError) as caught:
        load_alert_config(_write(tmp_path, text))
    return caught.value.describe()


def test_example_loads_with_defaults(tmp_path: Path) -> None:
    config = load_alert_config(_write(tmp_path, EXAMPLE))
    assert [c.label for c in config.channels] == ["slack", "pagerduty", "opsgenie", "ticketing"]
    pd, og = config.channels[1], config.channels[2]
    assert isinstance(pd, PagerDutyChannel) and isinstance(og, OpsgenieChannel)
    assert (pd.url, pd.severity, pd.source, pd.resolve) == (PAGERDUTY_EVENTS_URL, "error", "restoreproof", True)
    assert og.url == "https://api.eu.opsgenie.com" and og.priority == "P2"
    policy = retry_policy(config)
    assert (policy.timeout, policy.attempts, policy.backoff, policy.max_wait) == (5.0, 3, 1.0, 60.0)
    retry = policy.retry()
    assert (retry.total, retry.backoff_factor, retry.backoff_max, retry.raise_on_status) == (2, 0.5, 60.0, False)
    assert "POST" in (retry.allowed_methods or ()) and {408, 429, 500, 503, 599} <= set(retry.status_forcelist)


def test_defaults_point_at_the_public_apis(tmp_path: Path) -> None:
    config = load_alert_config(_write(tmp_path, '[[channels]]\ntype = "opsgenie"\napi_key_env = "K"\n'))
    (opsgenie,) = config.channels
    assert isinstance(opsgenie, OpsgenieChannel)
    assert opsgenie.url == OPSGENIE_API_URL == "https://api.opsgenie.com"
    assert config.delivery.timeout == 10.0 and config.delivery.attempts == 4


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alerts.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "expected"), [
    ('[[channels]]\ntype = "slack"\nurl = "https://hooks.slack.com/services/T/B/x"\n',
     "channels[0]: `url` is a secret and does not belong in this file: put it in an environment variable and name "
     "that variable with `url_env`"),
    ('[[channels]]\ntype = "pagerduty"\nrouting_key = "R0123"\n',
     "channels[0]: `routing_key` is a secret and does not belong in this file"),
    ('[[channels]]\ntype = "slack"\n', "channels[0].url_env: required field is missing; add it"),
    ('[[channels]]\ntype = "slack"\nurl_env = "SLACK-URL"\n',
     "channels[0].url_env: not an environment variable name"),
    ('[[channels]]\ntype = "slack"\nurl_env = "A"\n[[channels]]\ntype = "teams"\n',
     "channels[1].type: unsupported channel type 'teams'; use one of slack, pagerduty, opsgenie, webhook"),
    ('[[channels]]\nurl_env = "A"\n', "channels[0].type: missing `type`"),
    ('[[channels]]\ntype = "pagerduty"\nrouting_key_env = "K"\nseverity = "high"\n', "channels[0].severity: "),
    ('[[channels]]\ntype = "opsgenie"\napi_key_env = "K"\nurl = "ftp://x"\n',
     "channels[0].url: 'ftp://x' is not an http(s) URL"),
    ('[delivery]\nattempts = 0\n[[channels]]\ntype = "slack"\nurl_env = "A"\n', "delivery.attempts: "),
    ('[delivery]\ntimeout = "soon"\n[[channels]]\ntype = "slack"\nurl_env = "A"\n',
     "delivery.timeout: invalid duration 'soon'"),
    ('[[channels]]\ntype = "slack"\nurl_env = "A"\nchanel = "#ops"\n', "channels[0].chanel: unknown field"),
    ('[[channels]]\ntype = "slack"\nurl_env = "A"\n[[channels]]\ntype = "slack"\nurl_env = "B"\n',
     "(top level): two channels are called slack: give each a distinct `name`"),
    ("channels = []\n", "channels: no channel is configured; add (or uncomment) a [[channels]] table"),
    ('[delivery]\nattempts = 2\n', "channels: no channel is configured"),
    ("[[channels]\n", "not valid TOML"),
])
def test_errors_name_the_file_and_field(tmp_path: Path, text: str, expected: str) -> None:
    message = error_of(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'alerts.toml'}: ")
    assert expected in message


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(AlertConfigError, match="does not exist — pass --config PATH"):
        load_alert_config(tmp_path / "nope.toml")


def test_the_documented_example_is_valid(tmp_path: Path) -> None:
    ci_page = (Path(__file__).resolve().parents[2] / "docs" / "ci.md").read_text()
    (example,) = [block for block in re.findall(r"```toml\n(.*?)```", ci_page, re.DOTALL) if "[[channels]]" in block]
    config = load_alert_config(_write(tmp_path, example))
    assert [c.type for c in config.channels] == ["slack", "pagerduty", "opsgenie", "webhook"]
