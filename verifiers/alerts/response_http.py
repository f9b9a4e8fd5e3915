"""Reading an alert service's REST API (PagerDuty, Opsgenie) with urllib3: a GET with a timeout, retried as
delivery.py retries (a 5xx, 408, 429, timeout or connection error; urllib3's Retry with backoff and Retry-After),
its JSON answer returned. Every failure is a ResponseSourceError naming the service and the URL, never the key:
a 401/403 says which key to fix.

Redirects are not followed: the key is sent only to the host it was configured for.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import urllib3
from urllib3.exceptions import MaxRetryError

from verifiers import __version__
from verifiers.alerts.delivery import RetryPolicy, Sleep, pool_for, redact
from verifiers.errors import RestoreproofError
from verifiers.redaction import register_secret

Params = Sequence[tuple[str, str | int]]


class ResponseSourceError(RestoreproofError):
    """An alert service's API could not be read: refused (a wrong key), unreachable, or answered nonsense."""


@dataclass(frozen=True)
class ApiReader:
    """GETs to one alert service. `key` is the secret the headers carry (masked in every message, and registered
    with verifiers.redaction so that no log shows it); `key_env` and `auth_fix` make a refusal actionable."""

    service: str  # PagerDuty | Opsgenie
    base_url: str
    headers: Mapping[str, str] = field(repr=False)  # carry the key: never in a repr
    key: str = field(repr=False)
    key_env: str
    auth_fix: str
    policy: RetryPolicy
    sleep: Sleep = field(default=time.sleep, compare=False)

    def __post_init__(self) -> None:
        if len(self.key) >= 8:  # shorter values would mask words (redaction refuses them); redact() still masks
            register_secret(self.key)

    def get(self, path: str, params: Params = ()) -> dict[str, Any]:
        """The JSON object at `path` (with `params`), after the retries; a ResponseSourceError otherwise."""
        url = f"{self.base_url}{path}" + (f"?{urlencode(list(params))}" if params else "")
        headers = {"Accept": "application/json", "User-Agent": f"restoreproof/{__version__}", **self.headers}
        with pool_for(url) as pool:
            try:
                response = pool.request("GET", url, headers=headers, retries=self.policy.retry(self.sleep),
                                        timeout=urllib3.Timeout(connect=self.policy.timeout,
                                                                read=self.policy.timeout),
                                        redirect=False)
            except MaxRetryError as exc:
                raise self._error(url, f"no answer after {self.policy.attempts} attempts: {exc.reason}") from None
            except urllib3.exceptions.HTTPError as exc:
                raise self._error(url, f"connection failed: {type(exc).__name__}: {exc}") from None
        body = response.data
        if response.status in (401, 403):
            raise self._error(url, f"HTTP {response.status} {response.reason}: the key was refused",
                              hint=f"check that environment variable {self.key_env} holds {self.auth_fix}")
        if not 200 <= response.status < 300:
            raise self._error(url, f"HTTP {response.status} {response.reason}: {_excerpt(body)}",
                              hint="see the service's status page, or try again later" if response.status >= 500
                              else None)
        try:
            answer = json.loads(body)
        except ValueError:
            raise self._error(url, f"the answer is not JSON: {_excerpt(body)}") from None
        if not isinstance(answer, dict):
            raise self._error(url, "the answer is not a JSON object")
        return answer

    def _error(self, url: str, problem: str, *, hint: str | None = None) -> ResponseSourceError:
        return ResponseSourceError(redact(f"{self.service} API: GET {url}: {problem}", (self.key,)), hint=hint)


def _excerpt(body: bytes) -> str:
    return " ".join(body.decode("utf-8", errors="replace").split())[:300]
