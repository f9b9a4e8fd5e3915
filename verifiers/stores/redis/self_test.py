"""Each run proves its checks can fail, for Redis (issue 21): after a store's checks pass, one key without a TTL
is removed and one string value changed in the restored sandbox, the db is measured and judged again with the
run's own code (`judge_db`: key count, types, digest against the manifest), and the key is put back as it was
(DUMP, then RESTORE ... REPLACE). A change not detected fails its `self_test` check and the store. Key names and
values never leave the server: a check names the db only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import redis

from verifiers import checks
from verifiers.checks import CheckResult, CheckSpec
from verifiers.errors import SandboxError
from verifiers.stores.redis.facts import DatasetFacts, KeyspaceFacts
from verifiers.stores.redis.measure import measure_db
from verifiers.stores.self_test import CHECK, nothing_to_prove, verdict

KEY_REMOVED, VALUE_CHANGED = "key removed", "value changed"
SPECS = (CheckSpec(CHECK, KEY_REMOVED), CheckSpec(CHECK, VALUE_CHANGED))
SCAN_LIMIT = 10_000  # keys looked at per db for one to change

JudgeDb = Callable[[str, KeyspaceFacts, KeyspaceFacts | None, datetime], list[CheckResult]]


def run(client_for: Callable[[int], redis.Redis], databases: Sequence[int], expected: DatasetFacts,
        judged: Sequence[CheckResult], judge_db: JudgeDb, *, store: str = "") -> list[CheckResult]:
    """The self-test checks over `databases` (those the store verifies), once its `judged` checks all passed."""
    if not all(c.passed for c in judged):
        return nothing_to_prove(SPECS)
    try:
        return [_changed(client_for, databases, expected, judge_db, KEY_REMOVED, string=False),
                _changed(client_for, databases, expected, judge_db, VALUE_CHANGED, string=True)]
    except redis.RedisError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SandboxError(f"store {store}: the sandbox server failed during the self-test: {first}",
                           hint="the server may have been killed or run out of memory") from None


def _changed(client_for: Callable[[int], redis.Redis], databases: Sequence[int], expected: DatasetFacts,
             judge_db: JudgeDb, subject: str, *, string: bool) -> CheckResult:
    for db in databases:
        client = client_for(db)
        key = _persistent_key(client, string=string)
        if key is None:
            continue
        saved = client.dump(key)
        assert isinstance(saved, bytes)
        try:
            if string:
                client.set(key, b"~~" if client.get(key) == b"~" else b"~")
            else:
                client.delete(key)
            judged = judge_db(f"db{db}", expected.databases[db], measure_db(client), datetime.now(UTC))
        finally:
            client.restore(key, 0, saved, replace=True)
        change = f"one key of db{db} removed" if not string else f"one string value of db{db} changed"
        return verdict(subject, change, judged, undone="put back")
    what = "a string key" if string else "a key"
    return checks.not_compared(CHECK, subject, None, f"no verified db holds {what} without a TTL to change")


def _persistent_key(client: redis.Redis, *, string: bool) -> bytes | None:
    """A key without a TTL (one with a TTL may have expired since capture: its absence proves nothing)."""
    for seen, key in enumerate(client.scan_iter(count=500)):
        if seen >= SCAN_LIMIT:
            return None
        if client.pttl(key) == -1 and (not string or client.type(key) == b"string"):
            return bytes(key)
    return None
