"""A pytest plugin for a run under test (loaded with PYTEST_PLUGINS by tests/faults/test_interruptions.py):
holds a Redis verification in its verify phase, so that a signal lands there for sure, not by timing luck.

A Redis backup has no SQL assertion that could sleep (as the MySQL and PostgreSQL verify scenarios use), so
the measurement starts with a real blocking read on the sandbox server — BLPOP on a key nobody pushes, as the
harness would sit on a huge dataset. The test sees it arrive as `blocked_clients:1` on the sandbox server.
Everything else (the signal, the teardown, the evidence) is the real run's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

import verifiers.stores.redis.kind as redis_kind
from verifiers.stores.redis.measure import measure_dataset as _measure

HELD_KEY = "restoreproof-test:never-pushed"


def _held_first(client_for: Callable[[int], redis.Redis]) -> Any:
    client_for(0).blpop([HELD_KEY], timeout=0)  # 0: wait forever
    return _measure(client_for)


# as the kind calls it (verifiers/stores/redis/__init__.py imports the name)
redis_kind.measure_dataset = _held_first  # type: ignore[attr-defined]
