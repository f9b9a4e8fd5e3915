"""Each run proves its checks can fail, for Redis (issue 21): on a passing restore a removed key and a changed
value are each detected and put back exactly; a blinded measurement is caught as a check that cannot fail; a store
whose checks already failed has nothing to prove."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.redis_support import RedisCapture, failed, redis_verify
from verifiers.checks import CheckResult
from verifiers.runner import StoreOutcome
from verifiers.stores.redis import self_test
from verifiers.stores.redis.facts import KeyspaceFacts
from verifiers.stores.redis.installations import RedisInstallation
from verifiers.stores.redis.kind import judge_db
from verifiers.stores.redis.local_server import local_redis
from verifiers.stores.redis.manifest import load_manifest
from verifiers.stores.redis.measure import measure_dataset
from verifiers.stores.self_test import CHECK as SELF_TEST

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("no_redis_leftovers")]


def results(outcome: StoreOutcome) -> dict[str, CheckResult]:
    return {c.subject: c for c in outcome.checks if c.check == SELF_TEST}


def test_each_change_is_detected(rdb_dir: Path) -> None:
    outcome = redis_verify(rdb_dir, "cache-*.rdb", self_test=True)
    assert outcome.status == "passed", failed(outcome)
    found = results(outcome)
    assert set(found) == {"key removed", "value changed"}
    removed, changed = found["key removed"], found["value changed"]
    assert removed.passed and removed.observed == "detected by key_count, types, digest", removed.observed
    assert changed.passed and changed.observed == "detected by digest", changed.observed
    assert removed.message.startswith("one key of db0 removed (put back)")


def test_every_change_is_put_back(redis_capture: RedisCapture, system_redis: RedisInstallation) -> None:
    manifest = load_manifest(redis_capture.manifest, store="cache")
    with local_redis(system_redis, redis_capture.rdb) as server:
        before = measure_dataset(server.client)
        checks = self_test.run(server.client, [0, 1], manifest.facts, [], judge_db)
        assert [c.passed for c in checks] == [True, True]
        assert measure_dataset(server.client) == before


def test_a_blind_measurement_fails_the_store(rdb_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A measurement that no longer sees changes (here: it answers with the manifest's own facts) makes checks
    that cannot fail: the self-test says so and the store fails."""
    manifest = load_manifest(next(rdb_dir.glob("*.manifest.json")), store="cache")

    def blind(client: object) -> KeyspaceFacts:
        return manifest.facts.databases[0]

    monkeypatch.setattr(self_test, "measure_db", blind)
    outcome = redis_verify(rdb_dir, "cache-*.rdb", self_test=True)
    assert outcome.status == "failed"
    assert set(failed(outcome)) == {"self_test:key removed", "self_test:value changed"}
    assert "these checks cannot fail on this store" in failed(outcome)["self_test:key removed"]


def test_nothing_to_prove_when_the_checks_already_failed(rdb_variant: Callable[..., Path]) -> None:
    artifact = rdb_variant(lambda client_for: client_for(0).set("extra:key", "x"))
    outcome = redis_verify(artifact.parent, artifact.name, self_test=True)
    assert outcome.status == "failed"
    for check in results(outcome).values():
        assert not check.compared and "did not all pass" in check.message
