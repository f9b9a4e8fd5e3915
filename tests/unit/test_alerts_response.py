"""The alert-response KPI (verifiers/alerts/response.py) and its settings (alerts.toml [response]): what counts as
within target (an acknowledgement at exactly the target does; never acknowledged does not; resolved without an
acknowledgement as configured; a young unacknowledged incident is pending), not compared with the reason, and
the run-level check valid against the evidence schema."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from verifiers.alerts.config import AlertConfig, AlertConfigError, parse_alert_config
from verifiers.alerts.response import AlertIncident, ResponseReport, judge_response, response_check
from verifiers.evidence import SCHEMA_PATH

SINCE = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = datetime(2026, 12, 1, tzinfo=UTC)
AS_OF = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
CHECK_SCHEMA = {"$defs": json.loads(SCHEMA_PATH.read_text())["$defs"], "$ref": "#/$defs/run_check"}


def incident(n: int, ack: timedelta | None, resolved: timedelta | None = None, *,
             created: datetime | None = None) -> AlertIncident:
    at = created or SINCE + timedelta(days=n)
    return AlertIncident("pagerduty", f"Q{n}", at, None if ack is None else at + ack,
                         None if resolved is None else at + resolved)


def judge(incidents: list[AlertIncident], *, share: float = 100.0, resolve_counts: bool = False,
          sources: tuple[str, ...] = ("pagerduty",)) -> ResponseReport:
    return judge_response(incidents, since=SINCE, until=UNTIL, as_of=AS_OF, target_seconds=3600.0,
                          target_share=share, sources=sources, resolve_counts=resolve_counts)


def test_ten_minutes_two_hours_and_never() -> None:
    report = judge([incident(1, timedelta(minutes=10)), incident(2, 2 * HOUR), incident(3, None),
                    incident(4, HOUR)])  # exactly the target is within it
    assert (len(report.counted), report.within_target, report.share, report.passed) == (4, 2, 50.0, False)
    assert [(j.incident.id, j.seconds, j.by) for j in report.slow] == [("Q3", None, "never"), ("Q2", 7200.0,
                                                                                              "acknowledged")]
    assert judge([incident(1, timedelta(minutes=10)), incident(4, HOUR)]).passed is True
    assert judge([incident(1, timedelta(minutes=10)), incident(2, 2 * HOUR)], share=50).passed is True
    assert judge([incident(1, timedelta(minutes=10)), incident(2, 2 * HOUR)], share=50.1).passed is False


def test_resolved_without_acknowledgement_counts_as_configured() -> None:
    quick, slow = incident(1, None, timedelta(minutes=20)), incident(2, None, 3 * HOUR)
    counted = judge([quick, slow], resolve_counts=True)
    assert [(j.by, j.within) for j in counted.incidents] == [("resolved", True), ("resolved", False)]
    strict = judge([quick, slow])  # the default: an auto-resolve is nobody's response
    assert [(j.by, j.within, j.seconds) for j in strict.incidents] == [("never", False, None), ("never", False, None)]
    assert "never acknowledged (resolved without acknowledgement): NOT within target" in strict.incidents[0].describe()


def test_a_young_unacknowledged_incident_is_pending_not_counted() -> None:
    young = incident(0, None, created=UNTIL - timedelta(minutes=5))  # read 35 minutes after it was created
    report = judge([incident(1, timedelta(minutes=10)), young])
    assert (len(report.counted), len(report.pending), report.passed) == (1, 1, True)
    assert "not acknowledged yet (younger than the target): not counted" in report.pending[0].describe()
    assert report.summary().endswith("met; 1 pending")
    only_young = judge([young])
    assert only_young.passed is None
    assert only_young.not_compared == "every incident of the period is younger than the target and not " \
                                      "acknowledged yet"


def test_outside_the_period_is_ignored() -> None:
    before = incident(0, None, created=SINCE - timedelta(seconds=1))
    at_until = incident(0, None, created=UNTIL)  # the end is excluded
    report = judge([before, at_until, incident(1, timedelta(minutes=1))])
    assert [j.incident.created for j in report.incidents] == [SINCE + timedelta(days=1)]


@pytest.mark.parametrize(("sources", "incidents", "reason"), [
    ((), [], "no alert source is configured ([response.pagerduty] or [response.opsgenie] in alerts.toml)"),
    (("pagerduty", "opsgenie"), [], "no backup alert was created from 2026-11-01T00:00:00Z to 2026-12-01T00:00:00Z "
                                    "in pagerduty, opsgenie"),
])
def test_nothing_to_judge_is_not_compared(sources: tuple[str, ...], incidents: list[AlertIncident],
                                          reason: str) -> None:
    report = judge(incidents, sources=sources)
    assert (report.passed, report.share, report.not_compared) == (None, None, reason)
    check = response_check(report)
    assert (check.status, check.passed, check.expected) == ("not compared", None, None)
    assert check.detail == f"not compared: {reason}"
    jsonschema.validate(check.as_evidence(), CHECK_SCHEMA)


def test_the_check_carries_counts_share_and_slow_incidents() -> None:
    failed = response_check(judge([incident(1, timedelta(minutes=10)), incident(2, 2 * HOUR), incident(3, None)]))
    assert (failed.check, failed.subject, failed.passed, failed.status) == ("alert_response", "backup alerts",
                                                                           False, "failed")
    assert failed.observed == {"incidents": 3, "within_target": 1, "share_percent": 33.33,
                               "slow": [["pagerduty:Q3", None], ["pagerduty:Q2", 7200]]}
    assert failed.expected == {"within_seconds": 3600.0, "share_percent": 100.0}
    assert failed.detail == ("1 of 3 acknowledged within 1h00m (33.3%), target 100% within 1h00m: NOT met; slow: "
                              "pagerduty:Q3 (never), pagerduty:Q2 (2h00m)")
    jsonschema.validate(failed.as_evidence(), CHECK_SCHEMA)
    passed = response_check(judge([incident(1, timedelta(minutes=10))]))
    assert (passed.passed, passed.observed) == (True, {"incidents": 1, "within_target": 1, "share_percent": 100.0})
    jsonschema.validate(passed.as_evidence(), CHECK_SCHEMA)


# --- settings ---------------------------------------------------------------------------------------------------

def config(text: str, *, channels_required: bool = False) -> AlertConfig:
    return parse_alert_config(tomllib.loads(text), Path("alerts.toml"), channels_required=channels_required)


def test_response_settings_and_their_defaults() -> None:
    settings = config('[response.pagerduty]\ntoken_env = "PD_TOKEN"\n').response
    assert settings is not None and settings.pagerduty is not None and settings.opsgenie is None
    assert (settings.target, settings.share, settings.period, settings.resolve_counts) == (3600.0, 100.0,
                                                                                          2592000.0, False)
    assert (settings.pagerduty.api_url, settings.pagerduty.service_ids, settings.pagerduty.title_match) == (
        "https://api.pagerduty.com", [], None)
    full = config('[response]\ntarget = "PT30M"\nshare = 95\nperiod = "P7D"\n[response.opsgenie]\n'
                  'api_key_env = "OG_KEY"\nquery = "tag:backup"\napi_url = "https://api.eu.opsgenie.com/"\n').response
    assert full is not None and full.opsgenie is not None
    assert (full.target, full.share, full.period, full.opsgenie.api_url) == (1800.0, 95.0, 604800.0,
                                                                             "https://api.eu.opsgenie.com")


def test_a_response_only_file_reads_but_does_not_send() -> None:
    text = '[response.opsgenie]\napi_key_env = "OG_KEY"\nquery = "tag:backup"\n'
    assert config(text).channels == []
    with pytest.raises(AlertConfigError, match=r"alerts.toml: channels: no channel is configured; add \(or "
                                               r"uncomment\) a \[\[channels\]\] table"):
        config(text, channels_required=True)


@pytest.mark.parametrize(("text", "expected"), [
    ('[response.pagerduty]\ntoken = "u+abcdef"\n', "response.pagerduty: `token` is a secret and does not belong in "
                                                   "this file: put it in an environment variable and name that "
                                                   "variable with `token_env`"),
    ('[response.opsgenie]\napi_key = "k"\nquery = "tag:backup"\n', "response.opsgenie: `api_key` is a secret"),
    ('[response.opsgenie]\napi_key_env = "K"\n', "response.opsgenie.query: required field is missing"),
    ('[response.pagerduty]\ntoken_env = "K"\ntitle_match = "backup ("\n',
     "response.pagerduty.title_match: 'backup (' is not a regular expression"),
    ('[response]\nshare = 120\n', "response.share: "),
    ('[response]\ntarget = "P1M"\n', "response.target: invalid duration 'P1M': years and months"),
    ('[response.pagerduty]\ntoken_env = "K"\napi_url = "ftp://x"\n', "response.pagerduty.api_url: 'ftp://x' is not"),
    ('[response.pagerduty]\ntoken_env = "K"\nservices = ["P1"]\n', "response.pagerduty.services: unknown field"),
])
def test_bad_response_settings_name_the_field(text: str, expected: str) -> None:
    with pytest.raises(AlertConfigError) as raised:
        config(text)
    assert expected in raised.value.message


def test_the_documented_example_is_valid() -> None:
    ci_page = (Path(__file__).resolve().parents[2] / "docs" / "ci.md").read_text()
    (example,) = [block for block in re.findall(r"```toml\n(.*?)```", ci_page, re.DOTALL) if "[response]" in block]
    settings = config(example).response
    assert settings is not None and settings.pagerduty is not None and settings.opsgenie is not None
    assert settings.pagerduty.title_match == "backup (failed|failure)"
