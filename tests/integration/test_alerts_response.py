"""`restoreproof alerts response` against fake PagerDuty and Opsgenie APIs on a local server
(tests/alert_services_support.py): paging past 100 incidents (and past 100 log entries), incidents acknowledged in
10 minutes, 2 hours or never, the filters (services, title, search query, period), a refused key, a missing key
variable, a rate limit and a server error retried, and the key never printed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.alert_services_support import T0, FakeOpsgenie, FakePagerDuty, OpsgenieAlert, PagerDutyIncident
from tests.alerts_support import AlertServer, Reply, alert_server
from verifiers.alerts.config import load_alert_config
from verifiers.alerts.delivery import RetryPolicy
from verifiers.alerts.response_http import ResponseSourceError
from verifiers.alerts.response_read import read_response
from verifiers.cli import main
from verifiers.redaction import redact_secrets

PD_TOKEN = "pd-rest-t0ken-5ecret"
OG_KEY = "og-read-k3y-5ecret"
PERIOD = ["--since", "2026-11-01T00:00:00Z", "--until", "2026-12-01T00:00:00Z"]
MIN = timedelta(minutes=1)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[AlertServer]:
    with alert_server() as running:
        monkeypatch.setenv("PAGERDUTY_API_TOKEN", PD_TOKEN)
        monkeypatch.setenv("OPSGENIE_API_KEY", OG_KEY)
        yield running


def pagerduty_incidents() -> list[PagerDutyIncident]:
    """130 backup incidents of November on service PBACKUP: #0 acknowledged in 10 min, #1 in 2 h, #2 never, #3
    resolved in 20 min without an acknowledgement, #4 acknowledged in 10 min and again after 2 h with 150
    notifications between (listed newest first, its first acknowledgement is on the log entries' second page),
    the rest in 5 min; and incidents the filters leave out: another title, another service, October's."""
    def at(n: int) -> datetime:
        return T0 + n * timedelta(hours=3)

    backup = [PagerDutyIncident("Q0", "Backup failed: db-0", at(0), 10 * MIN),
              PagerDutyIncident("Q1", "Backup failed: db-1", at(1), 120 * MIN, 150 * MIN),
              PagerDutyIncident("Q2", "BACKUP FAILURE: db-2", at(2)),
              PagerDutyIncident("Q3", "Backup failed: db-3", at(3), None, 20 * MIN),
              PagerDutyIncident("Q4", "Backup failed: db-4", at(4), 10 * MIN, 3 * 60 * MIN,
                                reacknowledged_after=120 * MIN, notifications=150,
                                notified_after=15 * MIN)]
    backup += [PagerDutyIncident(f"Q{n}", f"Backup failed: db-{n}", at(n), 5 * MIN, 30 * MIN) for n in range(5, 130)]
    others = [PagerDutyIncident("C1", "CPU high on web-1", at(7)),
              PagerDutyIncident("S1", "Backup failed: other team", at(8), service="POTHER"),
              PagerDutyIncident("OCT", "Backup failed: db-9", T0 - timedelta(days=5))]
    return backup + others


def opsgenie_alerts() -> list[OpsgenieAlert]:
    """130 `backup` alerts of November: #0 acknowledged in 10 min, #1 in 2 h, #2 never, #3 closed in 30 min
    without an acknowledgement, #4 acknowledged in 10 min then unacknowledged, the rest in 1 min; a `cpu` alert,
    and 150 `backup` alerts of September (listed after November's, newest first: never asked for)."""
    def at(n: int) -> datetime:
        return T0 + n * timedelta(hours=3) + timedelta(milliseconds=123)

    alerts = [OpsgenieAlert("a-0", ("backup",), at(0), 10 * MIN),
              OpsgenieAlert("a-1", ("backup", "db"), at(1), 120 * MIN),
              OpsgenieAlert("a-2", ("backup",), at(2)),
              OpsgenieAlert("a-3", ("backup",), at(3), None, 30 * MIN),
              OpsgenieAlert("a-4", ("backup",), at(4), 10 * MIN, unacknowledged=True)]
    alerts += [OpsgenieAlert(f"a-{n}", ("backup",), at(n), MIN, 2 * MIN) for n in range(5, 130)]
    september = [OpsgenieAlert(f"sep-{n}", ("backup",), at(-240 + n)) for n in range(150)]
    return [*alerts, OpsgenieAlert("cpu-1", ("cpu",), at(6)), *september]


def write_config(tmp_path: Path, server: AlertServer, *, sources: str = "pagerduty", share: float = 100,
                 extra: str = "") -> Path:
    blocks = {
        "pagerduty": f'[response.pagerduty]\ntoken_env = "PAGERDUTY_API_TOKEN"\nservice_ids = ["PBACKUP"]\n'
                     f'title_match = "backup fail"\napi_url = "{server.url()}"\n',
        "opsgenie": f'[response.opsgenie]\napi_key_env = "OPSGENIE_API_KEY"\nquery = "tag:backup"\n'
                    f'api_url = "{server.url()}"\n',
    }
    path = tmp_path / "alerts.toml"
    path.write_text(f'[delivery]\ntimeout = "5s"\nattempts = 3\nbackoff = 0.01\n\n[response]\ntarget = "PT1H"\n'
                    f'share = {share}\n{extra}\n' + "\n".join(blocks[name] for name in sources.split()))
    return path


def response(config: Path, *args: str) -> int:
    return main(["alerts", "response", "--alerts", str(config), *PERIOD, *args])


def test_pagerduty_pages_to_the_end_and_judges_each_incident(tmp_path: Path, server: AlertServer,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    FakePagerDuty(PD_TOKEN, pagerduty_incidents()).install(server)

    assert response(write_config(tmp_path, server)) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 131  # 130 incidents (the filters left out the other title, service and month) + the KPI
    assert lines[-1] == ("alert response: 127 of 130 acknowledged within 1h00m (97.7%), target 100% within 1h00m: "
                         "NOT met")
    assert "pagerduty:Q0: created 2026-11-02T06:00:00+00:00: acknowledged after 10m00s: within target" in lines
    assert "pagerduty:Q1: created 2026-11-02T09:00:00+00:00: acknowledged after 2h00m: NOT within target" in lines
    assert "pagerduty:Q2: created 2026-11-02T12:00:00+00:00: never acknowledged: NOT within target" in lines
    # resolved without an acknowledgement (by default): nobody's response
    assert ("pagerduty:Q3: created 2026-11-02T15:00:00+00:00: never acknowledged (resolved without "
            "acknowledgement): NOT within target") in lines
    # the first acknowledgement, found on the log entries' last page, not the later one on the first
    assert "pagerduty:Q4: created 2026-11-02T18:00:00+00:00: acknowledged after 10m00s: within target" in lines
    assert not any(name in out for name in ("C1", "S1", "OCT"))
    assert PD_TOKEN not in out
    assert redact_secrets(f"token {PD_TOKEN}", environ={}) == "token ***"  # registered: no log can show it

    pages = server.gets("/incidents")
    assert [(p.query["offset"], p.query["limit"]) for p in pages] == [(["0"], ["100"]), (["100"], ["100"])]
    first = pages[0]
    assert first.query["service_ids[]"] == ["PBACKUP"]
    assert first.query["since"] == ["2026-11-01T00:00:00Z"] and first.query["until"] == ["2026-12-01T00:00:00Z"]
    assert first.headers["authorization"] == f"Token token={PD_TOKEN}"
    assert first.headers["accept"] == "application/vnd.pagerduty+json;version=2"
    assert [p.query["offset"] for p in server.gets("/incidents/Q4/log_entries")] == [["0"], ["100"]]
    assert len(server.gets("/incidents/Q129/log_entries")) == 1


def test_the_target_share_decides_the_exit_code(tmp_path: Path, server: AlertServer,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    FakePagerDuty(PD_TOKEN, pagerduty_incidents()).install(server)
    # a resolution without an acknowledgement counted as answered when resolved (opted in): 128 of 130
    assert response(write_config(tmp_path, server, share=98, extra="resolve_counts = true")) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("target 98% within 1h00m: met")
    # by default it counts as never acknowledged: 127 of 130, under 98%
    assert response(write_config(tmp_path, server, share=98)) == 1
    out = capsys.readouterr().out
    assert "pagerduty:Q3: created 2026-11-02T15:00:00+00:00: never acknowledged (resolved without " \
           "acknowledgement): NOT within target" in out
    assert out.splitlines()[-1].startswith("alert response: 127 of 130 acknowledged within 1h00m (97.7%)")


def test_opsgenie_pages_with_its_query_and_reads_the_ack_time(tmp_path: Path, server: AlertServer,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    FakeOpsgenie(OG_KEY, server.url(), opsgenie_alerts()).install(server)

    # resolve_counts on: a closing without an acknowledgement counts, at report.closeTime
    assert response(write_config(tmp_path, server, sources="opsgenie", extra="resolve_counts = true"), "--json") == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["counted"], report["within_target"], report["passed"]) == (130, 128, False)
    assert report["sources"] == ["opsgenie"]
    by_id = {i["id"]: i for i in report["incidents"]}
    assert set(by_id) == {f"a-{n}" for n in range(130)}  # not the cpu alert nor September's
    assert (by_id["a-0"]["seconds_to_acknowledge"], by_id["a-0"]["within_target"]) == (600.0, True)
    assert (by_id["a-1"]["seconds_to_acknowledge"], by_id["a-1"]["within_target"]) == (7200.0, False)
    assert (by_id["a-2"]["answered_by"], by_id["a-2"]["acknowledged"], by_id["a-2"]["within_target"]) == (
        "never", None, False)
    assert (by_id["a-3"]["answered_by"], by_id["a-3"]["seconds_to_acknowledge"]) == ("resolved", 1800.0)
    assert (by_id["a-4"]["answered_by"], by_id["a-4"]["acknowledged"]) == ("acknowledged",
                                                                          "2026-11-02T18:10:00.123000Z")

    pages = server.gets("/v2/alerts")
    # newest first: the second page reaches back into September, so the rest is not asked for
    assert [p.query["offset"] for p in pages] == [["0"], ["100"]]
    assert pages[0].query["query"] == ["tag:backup"]
    assert (pages[0].query["sort"], pages[0].query["order"], pages[0].query["limit"]) == (["createdAt"], ["desc"],
                                                                                        ["100"])
    assert pages[0].headers["authorization"] == f"GenieKey {OG_KEY}"


def test_both_sources_together(tmp_path: Path, server: AlertServer, capsys: pytest.CaptureFixture[str]) -> None:
    FakePagerDuty(PD_TOKEN, pagerduty_incidents()[:3]).install(server)
    FakeOpsgenie(OG_KEY, server.url(), opsgenie_alerts()[:1]).install(server)
    assert response(write_config(tmp_path, server, sources="pagerduty opsgenie")) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("alert response: 2 of 4 acknowledged within 1h00m")


def test_a_period_without_incident_is_not_compared(tmp_path: Path, server: AlertServer,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    FakePagerDuty(PD_TOKEN, pagerduty_incidents()).install(server)
    config = write_config(tmp_path, server)
    assert main(["alerts", "response", "--alerts", str(config), "--since", "2026-09-01", "--until",
                 "2026-10-01"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "alert response: not compared: no backup alert was created from 2026-09-01T00:00:00Z to "
        "2026-10-01T00:00:00Z in pagerduty (target 100% within 1h00m)"]


def test_a_refused_key_names_the_service_url_and_fix(tmp_path: Path, server: AlertServer,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    FakePagerDuty("the-right-t0ken", pagerduty_incidents()).install(server)
    assert response(write_config(tmp_path, server)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"restoreproof: error: PagerDuty API: GET {server.url('/incidents')}?since=" in captured.err
    assert "HTTP 401 Unauthorized: the key was refused — check that environment variable PAGERDUTY_API_TOKEN " \
           "holds a PagerDuty REST API key" in captured.err
    assert PD_TOKEN not in captured.err
    assert len(server.gets("/incidents")) == 1  # a refusal is final: not retried

    FakeOpsgenie("the-right-k3y", server.url(), opsgenie_alerts()).install(server)
    assert response(write_config(tmp_path, server, sources="opsgenie")) == 2
    err = capsys.readouterr().err
    assert f"Opsgenie API: GET {server.url('/v2/alerts')}?query=" in err
    assert "HTTP 401 Unauthorized: the key was refused — check that environment variable OPSGENIE_API_KEY" in err
    assert "EU accounts: api_url https://api.eu.opsgenie.com" in err and OG_KEY not in err


def test_a_missing_key_variable_is_named_before_any_request(tmp_path: Path, server: AlertServer,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("OPSGENIE_API_KEY")
    FakePagerDuty(PD_TOKEN, pagerduty_incidents()).install(server)
    assert response(write_config(tmp_path, server, sources="pagerduty opsgenie")) == 2
    assert ("restoreproof: error: alert response: environment variable OPSGENIE_API_KEY is not set or empty"
            in capsys.readouterr().err)
    assert server.received == []


def test_a_rate_limit_and_a_server_error_are_retried(tmp_path: Path, server: AlertServer) -> None:
    FakePagerDuty(PD_TOKEN, pagerduty_incidents()[:2]).install(server)
    server.script("/incidents", Reply(429, b'{"error": "rate limited"}', (("Retry-After", "3"),)),
                  Reply(503, b"upstream down"))
    config = load_alert_config(write_config(tmp_path, server), channels_required=False)
    assert config.response is not None
    waits: list[float] = []
    report = read_response(config.response, {"PAGERDUTY_API_TOKEN": PD_TOKEN},
                           RetryPolicy(timeout=5, attempts=3, backoff=0.5, max_wait=10),
                           since=T0, until=T0 + timedelta(days=1), as_of=datetime.now(UTC), sleep=waits.append)
    assert (len(report.counted), report.within_target) == (2, 1)
    assert len(server.gets("/incidents")) == 3
    assert waits == [3.0, 0.5]  # as the 429's Retry-After asked, then the backoff

    # every attempt refused by the server: the last status, with the URL, as an error
    server.script("/incidents", *[Reply(502, b"bad gateway")] * 3)
    with pytest.raises(ResponseSourceError, match=r"PagerDuty API: GET http://127\.0\.0\.1:\d+/incidents\?.*: "
                                                  r"HTTP 502 Bad Gateway: bad gateway"):
        read_response(config.response, {"PAGERDUTY_API_TOKEN": PD_TOKEN},
                      RetryPolicy(timeout=5, attempts=3, backoff=0.5, max_wait=10),
                      since=T0, until=T0 + timedelta(days=1), as_of=datetime.now(UTC), sleep=waits.append)


@pytest.mark.parametrize(("args", "expected"), [
    (["--since", "yesterday"], "--since 'yesterday' is not an ISO 8601 date or time"),
    (["--since", "2026-12-01", "--until", "2026-11-01"], "is not before --until"),
])
def test_a_bad_period_is_bad_input(tmp_path: Path, server: AlertServer, capsys: pytest.CaptureFixture[str],
                                   args: list[str], expected: str) -> None:
    config = write_config(tmp_path, server)
    assert main(["alerts", "response", "--alerts", str(config), *args]) == 2
    assert expected in capsys.readouterr().err
    assert server.received == []


def test_a_file_without_a_response_source_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text('[[channels]]\ntype = "slack"\nurl_env = "SLACK_WEBHOOK_URL"\n')
    assert main(["alerts", "response", "--alerts", str(path)]) == 2
    assert "response: no alert source to read — add a [response.pagerduty] or [response.opsgenie] table" in (
        capsys.readouterr().err)


def test_a_year_is_read_in_windows_pagerduty_accepts(tmp_path: Path, server: AlertServer,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """PagerDuty's since..until spans at most six months: a year is asked in windows, each incident counted once."""
    incidents = [PagerDutyIncident("J1", "Backup failed", datetime(2026, 1, 10, tzinfo=UTC), 5 * MIN),
                 PagerDutyIncident("E1", "Backup failed", datetime(2026, 6, 30, tzinfo=UTC), 5 * MIN),  # on an edge
                 PagerDutyIncident("D1", "Backup failed", datetime(2026, 12, 20, tzinfo=UTC), 90 * MIN)]
    FakePagerDuty(PD_TOKEN, incidents).install(server)
    config = write_config(tmp_path, server)
    assert main(["alerts", "response", "--alerts", str(config), "--since", "2026-01-01", "--until",
                 "2027-01-01"]) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("alert response: 2 of 3 acknowledged within 1h00m")
    windows = [(p.query["since"][0], p.query["until"][0]) for p in server.gets("/incidents")]
    assert windows == [("2026-01-01T00:00:00Z", "2026-06-30T00:00:00Z"), ("2026-06-30T00:00:00Z",
                                                                          "2026-12-27T00:00:00Z"),
                       ("2026-12-27T00:00:00Z", "2027-01-01T00:00:00Z")]
    assert len(server.gets("/incidents/E1/log_entries")) == 1  # listed by two windows, read and counted once


@pytest.mark.parametrize("status", [401, 403])
def test_a_forbidden_key_is_named_too(tmp_path: Path, server: AlertServer, capsys: pytest.CaptureFixture[str],
                                      status: int) -> None:
    FakeOpsgenie(OG_KEY, server.url(), opsgenie_alerts()).install(server)
    server.script("/v2/alerts", Reply(status, b'{"message": "Key has no access to the requested resource"}'))
    assert response(write_config(tmp_path, server, sources="opsgenie")) == 2
    err = capsys.readouterr().err
    assert f"HTTP {status} " in err and "the key was refused — check that environment variable OPSGENIE_API_KEY" in err
    assert len(server.gets("/v2/alerts")) == 1
