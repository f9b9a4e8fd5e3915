"""The restored-data checks (verifiers/compliance/: canary, GDPR presence) in a Redis/Valkey sandbox, and
`restoreproof canary write` into a live Redis/Valkey: the keys they look for, and what a lost server looks like.
There is no erasure replay (gdpr.erase_sql is SQL) and no migration here."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from verifiers.compliance.canary import Canary, new_token
from verifiers.compliance.gdpr import Finder
from verifiers.compliance.restored import CanaryProbe, SandboxLost
from verifiers.compliance.settings import SUBJECT_PLACEHOLDER, CanarySettings, KeyPlace, Place
from verifiers.errors import SourceError

PASSWORD_ENV = "RESTOREPROOF_REDIS_PASSWORD"  # noqa: S105 - the variable's name, not a password
_GLOB = re.compile(r"([*?\[\]\\])")


@dataclass(frozen=True)
class RestoredRedis:
    """The restored server, as verifiers/compliance/restored.py's RestoredData and its session (no connection of
    its own: `client_for(db)` gives the sandbox's client of a logical db)."""

    client_for: Callable[[int], redis.Redis]

    @contextmanager
    def session(self) -> Iterator[RestoredRedis]:
        try:
            yield self
        except redis.ConnectionError as exc:
            raise SandboxLost(str(exc), hint="the server may have been killed or run out of memory") from None

    def migration_target(self) -> None:
        return None

    def canary_probe(self, settings: CanarySettings) -> CanaryProbe:
        client = self.client_for(settings.db)
        times = []
        for key in client.scan_iter(match=settings.key_prefix.replace("*", r"\*") + "*", count=1000):
            value = client.get(key)
            try:
                times.append(datetime.fromisoformat(value.decode() if isinstance(value, bytes) else str(value)))
            except ValueError:
                continue
        return (lambda token: bool(client.exists(settings.key_prefix + token))), max(times, default=None)

    def gdpr_finder(self, places: Sequence[Place]) -> Finder:
        """Subjects with a key in any of the patterns: EXISTS for exact keys (pipelined), SCAN MATCH for globs."""
        patterns = [p for p in places if isinstance(p, KeyPlace)]

        def find(subjects: set[str]) -> set[str]:
            found: set[str] = set()
            for place in patterns:
                client = self.client_for(place.db)
                ordered = sorted(subjects - found)
                if _GLOB.search(place.pattern.replace(SUBJECT_PLACEHOLDER, "")) is None:
                    pipe = client.pipeline(transaction=False)
                    for subject in ordered:
                        pipe.exists(place.pattern.replace(SUBJECT_PLACEHOLDER, subject))
                    found.update(s for s, hit in zip(ordered, pipe.execute(), strict=True) if hit)
                    continue
                for subject in ordered:
                    match = place.pattern.replace(SUBJECT_PLACEHOLDER, _GLOB.sub(r"\\\1", subject))
                    if next(iter(client.scan_iter(match=match, count=1000)), None) is not None:
                        found.add(subject)
            return found

        return find

    def gdpr_eraser(self, statements: Sequence[str]) -> None:
        return None


class RedisCanaryWriter:
    """A key `key_prefix` + token holding the server's TIME; the password, if any, from env PASSWORD_ENV."""

    option = "url"

    def write(self, target: str, settings: CanarySettings, *, store: str, create: bool) -> Canary:
        password = os.environ.get(PASSWORD_ENV)
        token = new_token(store)
        try:
            client = redis.Redis.from_url(target, db=settings.db, **({"password": password} if password else {}))
            seconds, micros = client.time()
            written = datetime.fromtimestamp(seconds + micros / 1e6, tz=UTC)
            client.set(settings.key_prefix + token, written.isoformat())
        except redis.RedisError as exc:
            raise SourceError(f"store {store}: cannot write the canary key: {type(exc).__name__}: {exc}",
                              hint="check the URL and that the user may SET keys under the canary prefix") from None
        return Canary(token, written)


CANARY_WRITER = RedisCanaryWriter()
