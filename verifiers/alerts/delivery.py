"""Delivering one HTTP request to a channel: a timeout per attempt, retries with exponential backoff on a 5xx,
a 408, a timeout or a connection error, a 429's Retry-After honoured; any other 4xx is final. Every outcome
comes back as a DeliveryResult (nothing is swallowed), its text free of the secrets the request carries.

The standard library's urllib is enough for one JSON POST at a time, so alerting adds no dependency. Redirects
are not followed: a secret URL or key is sent only to the host it was configured for.
"""

from __future__ import annotations

import http.client
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from verifiers import __version__

REDACTED = "***"
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class RetryPolicy:
    timeout: float = 10.0
    attempts: int = 4
    backoff: float = 2.0
    max_wait: float = 60.0

    def wait_before(self, attempt: int) -> float:
        """Seconds to wait before attempt number `attempt` (2, 3, ...): backoff, doubled each time, capped."""
        return float(min(self.backoff * 2 ** (attempt - 2), self.max_wait))


@dataclass(frozen=True)
class OutboundRequest:
    """One JSON POST to one channel about one store. `secrets` are the values that must never be shown: the
    secret URL, routing key or API key; `url_is_secret` when the URL itself is one (webhooks)."""

    channel: str
    store: str
    action: str  # trigger | resolve | close
    url: str
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    url_is_secret: bool = False

    @property
    def shown_url(self) -> str:
        """The URL as it may be printed: a secret URL shows its scheme and host only."""
        if not self.url_is_secret:
            return redact(self.url, self.secrets)
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}/{REDACTED}"

    def shown_headers(self) -> dict[str, str]:
        return {name: redact(value, self.secrets) for name, value in self.headers.items()}

    def shown_body(self) -> str:
        return redact(json.dumps(self.body, indent=2, ensure_ascii=False), self.secrets)

    def describe(self) -> str:
        return f"{self.channel}: {self.action} {self.store}"


@dataclass(frozen=True)
class DeliveryResult:
    request: OutboundRequest
    delivered: bool
    status: int | None  # the last HTTP status, None when no response came
    attempts: int
    detail: str  # free of secrets

    def describe(self) -> str:
        http_status = f"HTTP {self.status}" if self.status is not None else "no HTTP response"
        tries = f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}"
        if self.delivered:
            return f"sent: {self.request.describe()} ({http_status}, {tries})"
        return (f"FAILED: {self.request.describe()} not delivered to {self.request.shown_url}: {http_status} after "
                f"{tries}: {self.detail}")


def secret_url(value: str, env: str) -> str:
    """A URL read from environment variable `env`, checked without ever showing it."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"environment variable {env} does not hold an http(s) URL")
    return value.strip()


def redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


@dataclass(frozen=True)
class _Attempt:
    status: int | None
    detail: str
    retry: bool
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def deliver(request: OutboundRequest, policy: RetryPolicy, *, sleep: Sleep = time.sleep) -> DeliveryResult:
    """Send `request` until it is accepted, a final answer comes, or the attempts are used up."""
    attempt = _Attempt(None, "not sent", retry=False)
    number = 0
    for number in range(1, policy.attempts + 1):
        if number > 1:
            sleep(attempt.retry_after if attempt.retry_after is not None else policy.wait_before(number))
        attempt = _send(request, policy.timeout)
        if attempt.ok or not attempt.retry:
            break
        if attempt.retry_after is not None and attempt.retry_after > policy.max_wait:
            attempt = _Attempt(attempt.status, f"{attempt.detail}; Retry-After {attempt.retry_after:.0f}s is longer "
                               f"than max_wait {policy.max_wait:.0f}s, so no retry", retry=False)
            break
    return DeliveryResult(request, attempt.ok, attempt.status, number, redact(attempt.detail, request.secrets))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Message,
                         newurl: str) -> None:
        return None  # the 3xx comes back as an HTTPError: reported, not followed


def _send(request: OutboundRequest, timeout: float) -> _Attempt:
    data = json.dumps(request.body).encode()
    headers = {"Content-Type": "application/json", "User-Agent": f"restoreproof/{__version__}",
               **request.headers}
    # The URL's scheme is http(s), checked when the channel was configured (config.py, secret_url above).
    http_request = urllib.request.Request(request.url, data=data, headers=headers, method="POST")  # noqa: S310
    opener = urllib.request.build_opener(_NoRedirects)  # per call: it reads the proxy settings of the environment
    try:
        with opener.open(http_request, timeout=timeout) as response:
            return _Attempt(response.status, _excerpt(response.read(2048)), retry=False)
    except urllib.error.HTTPError as exc:
        return _answer(exc)
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return _Attempt(None, f"no answer within the {timeout:g}s timeout", retry=True)
        return _Attempt(None, f"cannot connect: {reason}", retry=True)
    except TimeoutError:
        return _Attempt(None, f"no answer within the {timeout:g}s timeout", retry=True)
    except (http.client.HTTPException, OSError) as exc:
        return _Attempt(None, f"connection failed: {type(exc).__name__}: {exc}", retry=True)


def _answer(exc: urllib.error.HTTPError) -> _Attempt:
    status = exc.code
    try:
        body = _excerpt(exc.read(2048))
    except (OSError, http.client.HTTPException):
        body = ""
    finally:
        exc.close()
    detail = f"{exc.reason}" + (f": {body}" if body else "")
    if status == 429:
        return _Attempt(status, f"rate limited: {detail}", retry=True, retry_after=_retry_after(exc.headers))
    if status >= 500 or status == 408:
        return _Attempt(status, detail, retry=True)
    if 300 <= status < 400:
        return _Attempt(status, f"redirected: {detail}; alerts are not sent on to another URL, configure the final "
                        "one", retry=False)
    return _Attempt(status, f"refused: {detail}", retry=False)


def _retry_after(headers: Message) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _excerpt(body: bytes) -> str:
    return " ".join(body.decode("utf-8", errors="replace").split())[:300]
