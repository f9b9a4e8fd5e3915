"""Delivering one HTTP request to a channel with urllib3: a timeout per attempt, and urllib3's Retry for the
rest: a 5xx, a 408, a 429, a timeout or a connection error is retried, the first time at once, then after the
backoff, doubled each time, or as long as a Retry-After asks, never longer than max_wait; any other 4xx is final.
Every outcome comes back as a DeliveryResult (nothing is swallowed), its text free of the secrets the request
carries.

Redirects are not followed: a secret URL or key is sent only to the host it was configured for.
"""

from __future__ import annotations

import json
import math
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    InvalidHeader,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from verifiers import __version__

REDACTED = "***"
Sleep = Callable[[float], None]
# Answers worth another attempt: a timeout or rate limit on the channel's side, or any server error.
RETRY_STATUSES = frozenset({408, 429, *range(500, 600)})


@dataclass(frozen=True)
class RetryPolicy:
    timeout: float = 10.0
    attempts: int = 4
    backoff: float = 2.0
    max_wait: float = 60.0

    def retry(self, wait: Sleep = time.sleep) -> Retry:
        """This policy as urllib3's Retry. urllib3 waits backoff_factor * 2 ** (n - 1) before retry n (none before
        the first), so half of `backoff` makes the waits backoff, twice that, ...; a POST is retried too, and the
        last answer comes back instead of an exception, so its status is reported."""
        return _PacedRetry(total=self.attempts - 1, allowed_methods=Retry.DEFAULT_ALLOWED_METHODS | {"POST"},
                           status_forcelist=RETRY_STATUSES, backoff_factor=self.backoff / 2, backoff_max=self.max_wait,
                           retry_after_max=math.ceil(self.max_wait), redirect=False, raise_on_status=False, wait=wait)


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


def deliver(request: OutboundRequest, policy: RetryPolicy, *, sleep: Sleep = time.sleep) -> DeliveryResult:
    """Send `request` until it is accepted, a final answer comes, or the attempts are used up (urllib3's Retry)."""
    retry = policy.retry(sleep)
    headers = {"Content-Type": "application/json", "User-Agent": f"restoreproof/{__version__}", **request.headers}
    with pool_for(request.url) as pool:
        try:
            # The URL's scheme is http(s), checked when the channel was configured (config.py, secret_url above).
            response = pool.request("POST", request.url, body=json.dumps(request.body).encode(), headers=headers,
                                    timeout=urllib3.Timeout(connect=policy.timeout, read=policy.timeout),
                                    retries=retry, redirect=False, preload_content=False)
        except MaxRetryError as exc:  # every attempt ended without an answer
            detail = _no_answer(exc.reason, policy.timeout)
            return DeliveryResult(request, False, None, policy.attempts, redact(detail, request.secrets))
        except urllib3.exceptions.HTTPError as exc:  # an error urllib3 does not retry: one attempt
            detail = _no_answer(exc, policy.timeout)
            return DeliveryResult(request, False, None, 1, redact(detail, request.secrets))
        try:
            body = _excerpt(response.read(2048))
        except urllib3.exceptions.HTTPError:
            body = ""
        finally:
            response.close()
    attempts = len(response.retries.history) + 1 if response.retries is not None else 1
    delivered = 200 <= response.status < 300
    detail = body if delivered else _refusal(response, body, policy)
    return DeliveryResult(request, delivered, response.status, attempts, redact(detail, request.secrets))


class _PacedRetry(Retry):
    """urllib3's Retry, its waits made through `wait` (time.sleep; the tests pass one that records them), and a
    Retry-After that is not a number or a date ignored for the backoff instead of failing the delivery."""

    def __init__(self, *args: Any, wait: Sleep = time.sleep, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wait = wait

    def new(self, **kw: Any) -> Self:
        return super().new(wait=self.wait, **kw)

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        asked = _retry_after(response, self) if response is not None and self.respect_retry_after_header else None
        seconds = asked or self.get_backoff_time()
        if seconds > 0:
            self.wait(seconds)


def pool_for(url: str) -> urllib3.PoolManager:
    """A pool through the environment's proxy for this URL (http_proxy, https_proxy, no_proxy), if it names one."""
    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.netloc):
        return urllib3.ProxyManager(proxy)
    return urllib3.PoolManager()


def _no_answer(error: Exception | None, timeout: float) -> str:
    if isinstance(error, NewConnectionError):  # before the timeouts: urllib3 makes it a ConnectTimeoutError
        return f"cannot connect: {error.__cause__ or error}"
    if isinstance(error, ReadTimeoutError | ConnectTimeoutError):
        return f"no answer within the {timeout:g}s timeout"
    return f"connection failed: {type(error).__name__}: {error}"


def _refusal(response: BaseHTTPResponse, body: str, policy: RetryPolicy) -> str:
    status = response.status
    detail = f"{response.reason}" + (f": {body}" if body else "")
    if status == 429:
        asked = _retry_after(response, Retry())  # not capped by max_wait: what the channel really asked
        longer = (f"; it asked for {asked:.0f}s (Retry-After), longer than max_wait {policy.max_wait:g}s, so the "
                  "waits were cut to max_wait" if asked is not None and asked > policy.max_wait else "")
        return f"rate limited: {detail}{longer}"
    if 300 <= status < 400:
        return f"redirected: {detail}; alerts are not sent on to another URL, configure the final one"
    if status >= 500 or status == 408:
        return detail
    return f"refused: {detail}"


def _retry_after(response: BaseHTTPResponse, retry: Retry) -> float | None:
    """Retry-After in seconds (a number or an HTTP date, as `retry` caps it), None when absent or unreadable."""
    try:
        return retry.get_retry_after(response)
    except InvalidHeader:
        return None


def _excerpt(body: bytes) -> str:
    return " ".join(body.decode("utf-8", errors="replace").split())[:300]
