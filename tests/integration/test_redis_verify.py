"""The harness on real Redis/Valkey servers: a good RDB passes every check; each kind of damage fails the
right check, loudly, naming the store and the artifact, and leaves no server process or directory behind."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from fixtures import redis_demo
from tests.redis_support import RedisCapture, failed, manifest_claiming, redis_verify
from verifiers.checks import CheckSpec
from verifiers.stores.redis.installations import RedisInstallation

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("no_redis_leftovers")]
CHECKS = {"artifact", "engine", "restore", "corruption", "keyspace", "key_count", "types", "digest", "rto", "rpo"}


def test_good_backup_passes_every_check(rdb_dir: Path, system_redis: RedisInstallation) -> None:
    outcome = redis_verify(rdb_dir, "cache-*.rdb")
    assert outcome.status == "passed", failed(outcome)
    assert {c.check for c in outcome.checks} == CHECKS
    by_id = {(c.check, c.subject): c for c in outcome.checks}
    assert by_id["keyspace", "keyspace"].observed == ["db0", "db1"]
    count = by_id["key_count", "db0"]
    assert count.observed == count.expected == {"keys": 188, "with_ttl": 26}
    assert all(type(n) is int for n in [*count.observed.values(), *count.expected.values()])
    assert by_id["key_count", "db1"].message == "key count matches: keys 50, with_ttl 40"
    assert by_id["types", "db0"].observed == {"hash": 32, "list": 2, "set": 22, "stream": 1, "string": 129,
                                              "zset": 2}
    # the release that wrote it (Redis 7.0), though the wheel's Valkey 9 comes first in the search
    assert by_id["restore", "restore"].message == (f"redis-check-rdb ({system_redis.label}): RDB looks OK; "
                                                   f"{system_redis.label} loaded it")
    crc = by_id["corruption", "rdb"]  # the RDB's own CRC64, verified by check-rdb as it read the file
    assert crc.passed and crc.compared and crc.observed == "crc64 verified"
    assert crc.message.startswith(f"redis-check-rdb ({system_redis.label}) verified cache-")
    assert outcome.sandbox is not None
    assert {k: outcome.sandbox[k] for k in ("type", "engine", "version")} == {
        "type": "local", "engine": "redis", "version": system_redis.version}
    assert set(outcome.timer.seconds) == {"fetch", "provision", "restore", "verify", "teardown"}


def test_an_rdb_saved_without_a_checksum_says_so_never_a_pass(redis_capture: RedisCapture, tmp_path: Path) -> None:
    """rdbchecksum no writes zeros where the CRC64 goes (made here by zeroing a good RDB's: the server sets it
    only at start): the data still verifies, and the corruption check is recorded as not compared, saying why,
    instead of passing."""
    data = redis_capture.rdb.read_bytes()
    artifact = tmp_path / "nocrc.rdb"
    artifact.write_bytes(data[:-8] + bytes(8))
    manifest_claiming(redis_capture.manifest, artifact, tmp_path / "nocrc.manifest.json")
    outcome = redis_verify(tmp_path, artifact.name)
    assert outcome.status == "passed", failed(outcome)
    [crc] = [c for c in outcome.checks if c.check == "corruption"]
    assert not crc.compared and crc.observed == "no checksum"
    assert "saved without a checksum (rdbchecksum no)" in crc.message


def test_restores_on_redis_and_valkey_with_the_same_digests(rdb_dir: Path, valkey: RedisInstallation,
                                                          redis_capture: RedisCapture) -> None:
    """Captured from Redis 7.0 and measured for the manifest there (the release that wrote the RDB), verified on
    Valkey 9 when it is named: the digest is the data's, not a server's."""
    manifest = json.loads(redis_capture.manifest.read_text())
    assert manifest["measured_on"].startswith("Redis 7.0.")
    outcome = redis_verify(rdb_dir, "cache-*.rdb", sandbox={"bin_dir": str(valkey.server.parent)})
    assert outcome.status == "passed", failed(outcome)
    assert outcome.sandbox is not None
    assert outcome.sandbox["engine"] == "valkey"


def test_the_evidence_never_holds_values(rdb_dir: Path) -> None:
    outcome = redis_verify(rdb_dir, "cache-*.rdb")
    assert redis_demo.MARKER not in json.dumps(outcome.as_evidence(), default=str)


@pytest.mark.parametrize("keep", [0.3, 0.97])
def test_truncated_rdb_fails_the_restore_and_leaves_nothing(rdb_dir: Path, redis_capture: RedisCapture,
                                                            keep: float) -> None:
    rdb = rdb_dir / redis_capture.rdb.name
    rdb.write_bytes(rdb.read_bytes()[: int(rdb.stat().st_size * keep)])
    manifest_claiming(redis_capture.manifest, rdb, rdb_dir / redis_capture.manifest.name)
    outcome = redis_verify(rdb_dir, "cache-*.rdb")
    assert outcome.status == "failed"
    problems = failed(outcome)
    assert problems["restore:restore"].startswith("redis-check-rdb (Redis ")
    # check-rdb's wording depends on which object the cut lands in (EOF, or a stream's internal error)
    assert f"found the RDB damaged ({rdb.name})" in problems["restore:restore"]
    assert "key:" not in problems["restore:restore"]  # check-rdb names the key it was reading: cut
    assert problems["digest:db0"] == "not verified: the RDB is damaged"
    assert [c.check for c in outcome.checks].count("engine") == 1  # judged before check-rdb, not again after
    assert outcome.sandbox is None  # no server was started on it
    rto = outcome.result_for(CheckSpec("rto", "rto"))
    assert rto is not None and not rto.compared  # a failed restore times no recovery


def test_truncated_rdb_is_caught_by_its_sha256_first(rdb_dir: Path, redis_capture: RedisCapture) -> None:
    rdb = rdb_dir / redis_capture.rdb.name
    rdb.write_bytes(rdb.read_bytes()[:-100])
    problems = failed(redis_verify(rdb_dir, "cache-*.rdb"))
    assert problems[f"artifact:{rdb.name}"].startswith(f"{rdb.name}: sha256 differs from its manifest")


def test_flipped_bytes_fail_the_restore(rdb_dir: Path, redis_capture: RedisCapture) -> None:
    rdb = rdb_dir / redis_capture.rdb.name
    data = bytearray(rdb.read_bytes())
    for offset in range(len(data) // 2, len(data) // 2 + 32, 8):
        data[offset] ^= 0xFF
    rdb.write_bytes(bytes(data))
    manifest_claiming(redis_capture.manifest, rdb, rdb_dir / redis_capture.manifest.name)
    outcome = redis_verify(rdb_dir, "cache-*.rdb")
    assert outcome.status == "failed"
    assert "found the RDB damaged" in failed(outcome)["restore:restore"]


def test_flipped_byte_without_a_crc_is_caught_by_the_digest(rdb_dir: Path, redis_capture: RedisCapture) -> None:
    """An RDB saved with `rdbchecksum no` (a zero CRC) loads whatever it holds: only the digest can tell."""
    rdb = rdb_dir / redis_capture.rdb.name
    data = rdb.read_bytes()
    at = data.index(redis_demo.MARKER.encode())
    rdb.write_bytes(data[:at] + b"X" + data[at + 1:-8] + bytes(8))
    manifest_claiming(redis_capture.manifest, rdb, rdb_dir / redis_capture.manifest.name)
    outcome = redis_verify(rdb_dir, "cache-*.rdb")
    assert set(failed(outcome)) == {"digest:db0"}
    assert failed(outcome)["digest:db0"].startswith("digest differs: restored ")


def test_wrong_file_type_is_named(rdb_dir: Path, redis_capture: RedisCapture) -> None:
    rdb = rdb_dir / redis_capture.rdb.name
    rdb.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    outcome = redis_verify(rdb_dir, "cache-*.rdb")
    message = failed(outcome)["restore:restore"]
    assert message.startswith(f"store cache: {rdb}: not an RDB file (no REDIS/VALKEY signature; it is a PNG image)")
    assert outcome.sandbox is None


def test_rdb_the_check_passes_but_the_server_cannot_load_fails(rdb_variant: Callable[..., Path],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A key in db 2000: valid for check-rdb, refused by a server with fewer logical databases."""
    from verifiers.stores.redis import local_server as local_redis

    monkeypatch.setattr(local_redis, "DATABASES", 2001)
    rdb = rdb_variant(lambda client_for: client_for(2000).set("far", "away"))
    monkeypatch.setattr(local_redis, "DATABASES", 16)
    outcome = redis_verify(rdb.parent, rdb.name)
    assert outcome.status == "failed"
    message = failed(outcome)["restore:restore"]
    assert message.startswith(f"store cache: {rdb.name}: Redis ")
    assert "exited (code 1) while loading the RDB" in message
    assert "more than 16 databases" in message
    assert outcome.sandbox is None


@pytest.mark.parametrize(("header", "install"), [
    (b"REDIS0099", "install the newest Valkey"),
    (b"REDIS0012", "install Redis 7.4 or newer"),
    (b"VALKEY081", "install the newest Valkey"),
])
def test_rdb_too_new_for_every_server_names_the_version_and_the_fix(rdb_dir: Path, redis_capture: RedisCapture,
                                                                     header: bytes, install: str) -> None:
    rdb = rdb_dir / redis_capture.rdb.name
    rdb.write_bytes(header + rdb.read_bytes()[9:])
    manifest_claiming(redis_capture.manifest, rdb, rdb_dir / redis_capture.manifest.name)
    outcome = redis_verify(rdb_dir, "cache-*.rdb")
    assert outcome.status == "failed"
    assert outcome.sandbox is None
    message = failed(outcome)["restore:restore"]
    version = int(header[-3:])
    assert message.startswith(f"store cache: {rdb.name} is RDB version {version} (")
    assert f"no Redis/Valkey server here reads RDB version {version}" in message
    assert install in message


def test_missing_database_fails_keyspace_and_its_checks(rdb_variant: Callable[..., Path]) -> None:
    rdb = rdb_variant(lambda client_for: client_for(1).flushdb())
    problems = failed(redis_verify(rdb.parent, rdb.name))
    assert problems["keyspace:keyspace"] == "missing: db1"
    assert problems["key_count:db1"] == "db1 is missing after restore"
    assert set(problems) == {"keyspace:keyspace", "key_count:db1", "types:db1", "digest:db1"}


def test_one_changed_value_fails_that_dbs_digest_only(rdb_variant: Callable[..., Path]) -> None:
    rdb = rdb_variant(lambda client_for: client_for(0).zincrby("leaderboard", 1e-9, "player:3"))
    problems = failed(redis_verify(rdb.parent, rdb.name))
    assert set(problems) == {"digest:db0"}


def test_deleted_and_retyped_keys_are_counted_by_type(rdb_variant: Callable[..., Path]) -> None:
    def mutate(client_for: Callable[[int], redis.Redis]) -> None:
        db0 = client_for(0)
        db0.delete("tags:1", "tags:2")
        db0.delete("queue:emails")
        db0.set("queue:emails", "now a string")

    problems = failed(redis_verify(*_where(rdb_variant(mutate))))
    assert problems["key_count:db0"] == "key count differs: keys: 186 restored, expected 188 (-2)"
    assert problems["types:db0"] == ("keys per type differs: list: 1 restored, expected 2 (-1); "
                                     "set: 20 restored, expected 22 (-2); string: 130 restored, expected 129 (+1)")


def test_keys_with_a_ttl_may_expire_after_capture(rdb_variant: Callable[..., Path]) -> None:
    """Once the first TTL of a db has passed, its TTL keys may be gone (a loading server drops them); the
    keys without a TTL must still all be there, with their digest."""
    rdb = rdb_variant(lambda client_for: client_for(1).delete(*[f"cache:page:/docs/{i}" for i in range(30)]))
    manifest = json.loads(rdb.with_name("variant.manifest.json").read_text())
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    manifest["facts"]["databases"]["1"]["ttl"]["first_expiry"] = past
    rdb.with_name("variant.manifest.json").write_text(json.dumps(manifest))
    outcome = redis_verify(rdb.parent, rdb.name)
    assert outcome.status == "passed", failed(outcome)
    digest = next(c for c in outcome.checks if c.check == "digest" and c.subject == "db1")
    assert digest.message.startswith("digest of the 10 keys without a TTL (40 keys with a TTL may have expired")
    count = next(c for c in outcome.checks if c.check == "key_count" and c.subject == "db1")
    assert count.expected == {"keys": {"min": 10, "max": 50}, "with_ttl": {"min": 0, "max": 40}}
    assert count.observed == {"keys": 20, "with_ttl": 10}  # 30 of db1's 40 TTL keys were deleted


def test_expired_ttl_keys_do_not_excuse_a_missing_persistent_key(rdb_variant: Callable[..., Path]) -> None:
    rdb = rdb_variant(lambda client_for: client_for(1).delete("rate:3"))
    manifest = json.loads(rdb.with_name("variant.manifest.json").read_text())
    manifest["facts"]["databases"]["1"]["ttl"]["first_expiry"] = "2026-01-01T00:00:00Z"
    rdb.with_name("variant.manifest.json").write_text(json.dumps(manifest))
    problems = failed(redis_verify(rdb.parent, rdb.name))
    assert set(problems) == {"digest:db1"}
    assert problems["digest:db1"].startswith("digest of the 10 keys without a TTL")


def test_key_expectations_pass_and_fail(rdb_dir: Path) -> None:
    outcome = redis_verify(rdb_dir, "cache-*.rdb", keys=[
        {"pattern": "session:*", "db": 0, "min": 1},
        {"pattern": "user:[0-9]", "db": 0, "min": 10, "max": 10},
        {"pattern": "cache:page:*", "db": 1, "max": 5},
        {"pattern": "nothing:*", "db": 3},
    ])
    problems = failed(outcome)
    assert set(problems) == {"assertion:db1 cache:page:*", "assertion:db3 nothing:*"}
    assert problems["assertion:db1 cache:page:*"] == "returned 40, above the maximum 5"
    assert problems["assertion:db3 nothing:*"] == "returned 0, below the minimum 1"
    counts = {c.subject: c.observed for c in outcome.checks if c.check == "assertion"}
    assert counts == {"db0 session:*": 26, "db0 user:[0-9]": 10, "db1 cache:page:*": 40, "db3 nothing:*": 0}


def test_database_filter_limits_the_checks(rdb_dir: Path) -> None:
    outcome = redis_verify(rdb_dir, "cache-*.rdb", databases=[1])
    assert {c.subject for c in outcome.checks if c.check == "digest"} == {"db1"}
    assert outcome.status == "passed", failed(outcome)
    outcome = redis_verify(rdb_dir, "cache-*.rdb", databases=[5])
    assert outcome.status == "error"
    assert outcome.error is not None
    assert "`databases` lists db5, which the manifest" in outcome.error["message"]


def test_empty_dataset_passes(tmp_path: Path, valkey: RedisInstallation) -> None:
    from verifiers.stores.redis.capture import capture_redis
    from verifiers.stores.redis.local_server import RDB_NAME, local_redis

    with local_redis(valkey) as server:
        server.client().save()
        capture_redis(None, tmp_path, name="empty", from_rdb=server.workdir / RDB_NAME)
    outcome = redis_verify(tmp_path, "empty-*.rdb")
    assert outcome.status == "passed", failed(outcome)
    keyspace = next(c for c in outcome.checks if c.check == "keyspace")
    assert keyspace.message == "all 0 databases present, none unexpected"


def test_restore_timeout_is_an_error_in_restore(rdb_dir: Path) -> None:
    outcome = redis_verify(rdb_dir, "cache-*.rdb", restore_timeout="0.001s")
    assert outcome.status == "error" and outcome.error is not None
    assert outcome.error["phase"] == "restore"
    assert "did not finish restoring cache-" in outcome.error["message"]
    assert "within restore_timeout (0.001s)" in outcome.error["message"]
    assert "raise restore_timeout for store cache in the inventory" in outcome.error["message"]
    message = failed(outcome)["restore:restore"]
    assert message.startswith("redis-check-rdb (Redis ")
    assert message.endswith("did not finish within restore_timeout (0.001s)")


def test_rto_and_rpo_are_measured_and_judged(rdb_dir: Path) -> None:
    outcome = redis_verify(rdb_dir, "cache-*.rdb", rto="0.001s", rpo="1s")
    problems = failed(outcome)
    assert "is over the target" in problems["rto:rto"]
    assert problems["rpo:rpo"].startswith("backup age (RPO) ")
    assert outcome.rpo_seconds is not None
    assert outcome.rpo_seconds > 0


def test_missing_manifest_is_an_error(tmp_path: Path, redis_capture: RedisCapture) -> None:
    (tmp_path / "lonely.rdb").write_bytes(redis_capture.rdb.read_bytes())
    outcome = redis_verify(tmp_path, "lonely.rdb")
    assert outcome.status == "error"
    assert outcome.error is not None
    assert "no manifest beside" in outcome.error["message"]
    assert "restoreproof capture redis" in outcome.error["message"]


def _where(rdb: Path) -> tuple[Path, str]:
    return rdb.parent, rdb.name
