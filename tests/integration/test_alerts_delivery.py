"""Delivery against a local HTTP server that records requests and answers from a script: retries on 5xx and
timeouts (urllib3's Retry: the first at once, then the backoff doubled), Retry-After on 429 and 503 up to
max_wait, 4xx final, redirects not followed, secrets never in the outcome. Waits between attempts go to an
injected sleep that records them, so no test waits on a clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.alerts_support import AlertServer, Reply, alert_server
from verifiers.alerts.delivery import DeliveryResult, OutboundRequest, RetryPolicy, deliver

SECRET = "s3cret-t0ken"
POLICY = RetryPolicy(timeout=5.0, attempts=4, backoff=2.0, max_wait=60.0)


@pytest.fixture
def server() -> Iterator[AlertServer]:
    with alert_server() as running:
        yield running


def request_to(server: AlertServer, path: str = "/hook") -> OutboundRequest:
    return OutboundRequest("webhook", "saas", "trigger", server.url(f"{path}?token={SECRET}"), {"store": "saas"},
                           headers={"Authorization": f"Bearer {SECRET}"}, secrets=(server.url(f"{path}?token={SECRET}"),
                                                                                    f"Bearer {SECRET}"),
                           url_is_secret=True)


def send(request: OutboundRequest, policy: RetryPolicy = POLICY) -> tuple[DeliveryResult, list[float]]:
    waits: list[float] = []
    return deliver(request, policy, sleep=waits.append), waits


def test_delivered_first_time_with_json_body_and_headers(server: AlertServer) -> None:
    result, waits = send(request_to(server))
    assert (result.delivered, result.status, result.attempts, waits) == (True, 200, 1, [])
    (received,) = server.received
    assert received.method == "POST" and received.path == f"/hook?token={SECRET}"
    assert received.json() == {"store": "saas"}
    assert received.headers["content-type"] == "application/json"
    assert received.headers["authorization"] == f"Bearer {SECRET}"
    assert received.headers["user-agent"].startswith("restoreproof/")


def test_503_is_retried_then_delivered(server: AlertServer) -> None:
    server.script(f"/hook?token={SECRET}", Reply(503, b"busy"), Reply(200))
    result, waits = send(request_to(server))
    assert (result.delivered, result.status, result.attempts, waits) == (True, 200, 2, [])
    assert result.describe() == "sent: webhook: trigger saas (HTTP 200, 2 attempts)"
    assert [r.json() for r in server.received] == [{"store": "saas"}] * 2


def test_500_then_200_is_retried_at_once_then_after_the_backoff(server: AlertServer) -> None:
    server.script(f"/hook?token={SECRET}", Reply(500, b"oops"), Reply(503, b"busy"), Reply(202))
    result, waits = send(request_to(server))
    assert (result.delivered, result.status, result.attempts) == (True, 202, 3)
    assert waits == [2.0]
    assert len(server.received) == 3 and all(r.json() == {"store": "saas"} for r in server.received)


def test_429_waits_as_long_as_retry_after_says(server: AlertServer) -> None:
    server.script(f"/hook?token={SECRET}", Reply(429, b"slow down", headers=(("Retry-After", "7"),)), Reply(200))
    result, waits = send(request_to(server))
    assert (result.delivered, result.attempts, waits) == (True, 2, [7.0])


def test_429_retry_after_as_an_http_date(server: AlertServer) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    server.script(f"/hook?token={SECRET}", Reply(429, headers=(("Retry-After", later),)), Reply(200))
    result, waits = send(request_to(server))
    assert result.delivered and len(waits) == 1 and 25 <= waits[0] <= 30


def test_503_with_retry_after_waits_as_asked(server: AlertServer) -> None:
    server.script(f"/hook?token={SECRET}", Reply(503, headers=(("Retry-After", "3"),)), Reply(200))
    result, waits = send(request_to(server))
    assert (result.delivered, result.attempts, waits) == (True, 2, [3.0])


def test_429_without_retry_after_backs_off(server: AlertServer) -> None:
    server.script(f"/hook?token={SECRET}", Reply(429), Reply(429), Reply(200))
    result, waits = send(request_to(server))
    assert (result.delivered, result.attempts, waits) == (True, 3, [2.0])


def test_an_unreadable_retry_after_falls_back_to_the_backoff(server: AlertServer) -> None:
    server.script(f"/hook?token={SECRET}", *[Reply(429, headers=(("Retry-After", "soon"),))] * 2, Reply(200))
    result, waits = send(request_to(server))
    assert (result.delivered, result.attempts, waits) == (True, 3, [2.0])


def test_429_asking_longer_than_max_wait_waits_max_wait_and_says_so(server: AlertServer) -> None:
    server.script(f"/hook?token={SECRET}", *[Reply(429, b"quota", headers=(("Retry-After", "3600"),))] * 4)
    result, waits = send(request_to(server))
    assert (result.delivered, result.status, result.attempts, waits) == (False, 429, 4, [60.0, 60.0, 60.0])
    assert result.detail == ("rate limited: Too Many Requests: quota; it asked for 3600s (Retry-After), longer than "
                             "max_wait 60s, so the waits were cut to max_wait")


def test_400_is_final_and_reported_with_status_and_body(server: AlertServer) -> None:
    server.script(f"/hook?token={SECRET}", Reply(400, b'{"message": "Event object is invalid"}'))
    result, waits = send(request_to(server))
    assert (result.delivered, result.status, result.attempts, waits) == (False, 400, 1, [])
    assert result.detail == 'refused: Bad Request: {"message": "Event object is invalid"}'
    line = result.describe()
    assert line.startswith("FAILED: webhook: trigger saas not delivered to http://127.0.0.1/***: HTTP 400 after "
                           "1 attempt: refused")
    assert SECRET not in line


def test_a_slow_answer_times_out_and_is_retried(server: AlertServer) -> None:
    server.script(f"/hook?token={SECRET}", Reply(hold=True), Reply(200))
    result, waits = send(request_to(server), RetryPolicy(timeout=0.2, attempts=3, backoff=1.0))
    assert (result.delivered, result.status, result.attempts, waits) == (True, 200, 2, [])


def test_always_slow_fails_after_every_attempt(server: AlertServer) -> None:
    server.script(f"/hook?token={SECRET}", Reply(hold=True), Reply(hold=True))
    result, waits = send(request_to(server), RetryPolicy(timeout=0.2, attempts=2, backoff=1.0))
    assert (result.delivered, result.status, result.attempts, waits) == (False, None, 2, [])
    assert result.detail == "no answer within the 0.2s timeout"
    assert result.describe().startswith("FAILED: webhook: trigger saas not delivered to http://127.0.0.1/***: "
                                        "no HTTP response after 2 attempts: no answer within the 0.2s timeout")


def test_5xx_every_time_gives_up_after_every_attempt_with_doubling_waits(server: AlertServer) -> None:
    server.script(f"/hook?token={SECRET}", *[Reply(502, b"bad gateway")] * 5)
    result, waits = send(request_to(server), RetryPolicy(timeout=5.0, attempts=5, backoff=2.0))
    assert (result.delivered, result.status, result.attempts, waits) == (False, 502, 5, [2.0, 4.0, 8.0])
    assert len(server.received) == 5
    assert result.describe() == ("FAILED: webhook: trigger saas not delivered to http://127.0.0.1/***: HTTP 502 after "
                                 "5 attempts: Bad Gateway: bad gateway")


def test_waits_are_capped_by_max_wait(server: AlertServer) -> None:
    server.script(f"/hook?token={SECRET}", *[Reply(500)] * 5)
    _, waits = send(request_to(server), RetryPolicy(timeout=5, attempts=5, backoff=10.0, max_wait=15.0))
    assert waits == [10.0, 15.0, 15.0]


def test_redirect_is_not_followed(server: AlertServer) -> None:
    server.script(f"/hook?token={SECRET}", Reply(302, headers=(("Location", server.url("/elsewhere")),)))
    result, _ = send(request_to(server))
    assert (result.delivered, result.status, result.attempts) == (False, 302, 1)
    assert "redirected" in result.detail
    assert [r.path for r in server.received] == [f"/hook?token={SECRET}"]


def test_connection_refused_is_retried_then_reported(server: AlertServer) -> None:
    with alert_server() as gone:
        url = gone.url("/hook")
    request = OutboundRequest("slack", "saas", "trigger", url, {}, secrets=(url,), url_is_secret=True)
    result, waits = send(request, RetryPolicy(timeout=1, attempts=3, backoff=1.0))
    assert (result.delivered, result.status, result.attempts, waits) == (False, None, 3, [1.0])
    assert result.detail.startswith("cannot connect: ") and "refused" in result.detail


def test_a_secret_echoed_by_the_server_is_masked(server: AlertServer) -> None:
    server.script(f"/hook?token={SECRET}", Reply(403, f"bad token Bearer {SECRET}".encode()))
    result, _ = send(request_to(server))
    assert result.detail == "refused: Forbidden: bad token ***"


def test_no_secret_in_any_outcome_after_retries(server: AlertServer) -> None:
    server.script(f"/hook?token={SECRET}", *[Reply(503, f"down; got Bearer {SECRET}".encode())] * 2)
    result, _ = send(request_to(server), RetryPolicy(timeout=5.0, attempts=2, backoff=1.0))
    assert (result.delivered, result.status, result.attempts) == (False, 503, 2)
    assert SECRET not in result.describe() and SECRET not in repr(result.detail)
    assert result.describe().endswith("HTTP 503 after 2 attempts: Service Unavailable: down; got ***")
