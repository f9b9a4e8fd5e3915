"""Redis pieces without a server: the RDB header, the version table, readiness, redaction, the judges,
the inventory model and the manifest loader."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from verifiers import checks
from verifiers.errors import ArtifactFormatError, InventoryError, ManifestError, NoSuitableServerError
from verifiers.inventory import parse_inventory
from verifiers.sandboxes.installation_search import Installations
from verifiers.stores.redis.digest import ZERO, combine
from verifiers.stores.redis.facts import KeyspaceFacts, VolatileKeys
from verifiers.stores.redis.installations import RedisInstallation, choose_installation, install_hint
from verifiers.stores.redis.kind import judge_db
from verifiers.stores.redis.local_server import load_errors, loaded, redact_log
from verifiers.stores.redis.manifest import load_manifest
from verifiers.stores.redis.rdb import parse_header
from verifiers.stores.redis.settings import RedisStore

AUX_REDIS_VER = b"\xfa\x09redis-ver\x067.0.15"
T0 = datetime(2026, 11, 26, tzinfo=UTC)


def server(flavor: str, version: str) -> RedisInstallation:
    return RedisInstallation(server=Path(f"/x/{flavor}-server"), flavor=flavor, version=version, origin="test")


def header(data: bytes) -> object:
    return parse_header(io.BytesIO(data), "a.rdb")


def test_header_version_and_writer() -> None:
    parsed = parse_header(io.BytesIO(b"REDIS0010" + AUX_REDIS_VER + b"\xfe\x00"), "a.rdb")
    assert (parsed.magic, parsed.version, parsed.written_by) == ("REDIS", 10, "7.0.15")
    assert parsed.describe == "RDB version 10 (REDIS0010, written by 7.0.15)"
    valkey = parse_header(io.BytesIO(b"VALKEY080\xfa\x0avalkey-ver\x059.1.2"), "a.rdb")
    assert (valkey.magic, valkey.version, valkey.written_by) == ("VALKEY", 80, "9.1.2")
    assert parse_header(io.BytesIO(b"REDIS0006\xfe\x00"), "a.rdb").written_by is None


@pytest.mark.parametrize(("data", "message"), [
    (b"REDIS00", "a.rdb: the RDB header is truncated"),
    (b"VALK", "a.rdb: the RDB header is truncated"),
    (b"", "a.rdb: not an RDB file (empty file)"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "a.rdb: not an RDB file (no REDIS/VALKEY signature; it is a PNG image)"),
    (b"REDISABCD", "a.rdb: not an RDB file"),
])
def test_bad_headers_are_named(data: bytes, message: str) -> None:
    with pytest.raises(ArtifactFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        header(data)


@pytest.mark.parametrize(("flavor", "version", "writes"), [
    ("redis", "2.8.24", 6), ("redis", "3.2.12", 7), ("redis", "4.0.14", 8), ("redis", "6.2.14", 9),
    ("redis", "7.0.15", 10), ("redis", "7.2.4", 11), ("redis", "7.4.1", 12), ("redis", "8.2.0", 12),
    ("valkey", "7.2.5", 11), ("valkey", "8.1.1", 11), ("valkey", "9.0.0", 80), ("valkey", "9.1.2", 80),
])
def test_rdb_version_table(flavor: str, version: str, writes: int) -> None:
    assert server(flavor, version).writes_rdb == writes


def test_valkey_refuses_redis_ce_formats_and_redis_refuses_valkeys() -> None:
    valkey9, redis74 = server("valkey", "9.1.2"), server("redis", "7.4.1")
    assert [v for v in (9, 10, 11, 12, 13, 79, 80, 81) if valkey9.reads(v)] == [9, 10, 11, 80]
    assert [v for v in (9, 10, 11, 12, 13, 80) if redis74.reads(v)] == [9, 10, 11, 12]
    assert not server("valkey", "8.1.1").reads(12)


def test_choice_takes_the_nearest_reader_and_names_the_version_and_the_fix() -> None:
    """Which server a file of unknown writer loads on: the oldest format that reads it (more in
    tests/unit/test_redis_installation_choice.py); none that reads it is an error with the fix."""
    found = Installations((server("valkey", "9.1.2"), server("redis", "7.0.15")))
    assert choose_installation(found, 10) == found.found[1]
    assert choose_installation(found, 11) == found.found[0]  # Redis 7.0 reads 10 at most
    assert choose_installation(Installations((server("redis", "7.4.1"), *found)), 11).flavor == "redis"
    with pytest.raises(NoSuitableServerError) as info:
        choose_installation(found, 12)
    message = info.value.describe()
    assert message.startswith("no Redis/Valkey server here reads RDB version 12 (written by Redis 7.4 or newer); "
                              "available: Valkey 9.1.2 (test, /x/valkey-server, reads RDB <= 11 and 80); "
                              "Redis 7.0.15 (test, /x/redis-server, reads RDB <= 10)")
    assert "install Redis 7.4 or newer" in message
    assert "install Valkey 9.0 or newer" in install_hint(80)
    assert "newest" in install_hint(99)


def test_ready_means_a_loading_0_line() -> None:
    assert loaded("# Persistence\r\nloading:0\r\nasync_loading:0\r\n")
    assert not loaded("# Persistence\r\nloading:1\r\nasync_loading:0\r\n")
    assert not loaded("async_loading:0\r\nloading:1\r\n")
    assert not loaded("")


CHECK_OUTPUT = """[offset 0] Checking RDB file dump.rdb
[offset 27] AUX FIELD redis-ver = '7.0.15'
--- RDB ERROR DETECTED ---
[offset 1858] Unexpected EOF reading RDB file
[additional info] While doing: read-object-value
[additional info] Reading key 'customer:alice@example.com'
[additional info] Reading type 0 (string)
[info] 99 keys read
[offset 1858] Check RDB returned error code 1 (0 means success)
1234:M 26 Nov 2026 23:56:56.391 # WARNING Memory overcommit must be enabled! Without it, a background save
1234:M 26 Nov 2026 23:56:56.391 # Short read or OOM loading DB. Unrecoverable error, aborting now.
1234:M 26 Nov 2026 23:56:56.391 * RDB age 7 seconds
"""


def test_check_and_load_errors_are_kept_and_key_names_cut() -> None:
    assert load_errors(CHECK_OUTPUT) == [
        "[offset 1858] Unexpected EOF reading RDB file",
        "[additional info] While doing: read-object-value",
        "[additional info] Reading type 0 (string)",
        "Short read or OOM loading DB. Unrecoverable error, aborting now.",
    ]
    assert "alice" not in redact_log(CHECK_OUTPUT)
    assert "AUX FIELD redis-ver = '<redacted>'" in redact_log(CHECK_OUTPUT)


def test_histogram_names_each_bucket_and_allows_what_may_be_gone() -> None:
    result = checks.histogram("types", "db0", {"hash": 3, "set": 1}, {"hash": 3, "list": 2}, what="keys per type")
    assert not result.passed
    assert result.message == ("keys per type differs: list: 0 restored, expected 2 (-2); "
                              "set: 1 restored, expected 0 (+1)")
    relaxed = checks.histogram("types", "db0", {"string": 8}, {"string": 10}, may_lack={"string": 3})
    assert relaxed.passed
    assert relaxed.expected == {"string": {"min": 7, "max": 10}} and relaxed.observed == {"string": 8}
    assert not checks.histogram("types", "db0", {"string": 6}, {"string": 10}, may_lack={"string": 3}).passed
    assert not checks.histogram("types", "db0", None, {"string": 1}).passed


def test_members_and_digest_judges() -> None:
    assert checks.members("keyspace", "keyspace", {"db0"}, {"db0", "db1"}, noun="databases").message == "missing: db1"
    assert checks.members("keyspace", "keyspace", {"db0"}, {"db0", "db1"}, noun="databases",
                          optional=frozenset({"db1"})).passed
    assert checks.digest("db0", None, ZERO).message == "db0 is missing after restore"
    assert checks.digest("db0", ZERO, ZERO).passed


def facts(keys: int, ttl_keys: int, *, first: datetime | None, digest: str = "1" * 40,
          ttl_digest: str = ZERO) -> KeyspaceFacts:
    return KeyspaceFacts(keys=keys, types={"string": keys}, digest=digest,
                         ttl=VolatileKeys(keys=ttl_keys, types={"string": ttl_keys} if ttl_keys else {},
                                          digest=ttl_digest, first_expiry=first))


def test_ttl_keys_are_compared_exactly_until_the_first_could_expire() -> None:
    persistent, volatile = "1" * 40, "2" * 40
    want = facts(10, 4, first=T0 + timedelta(days=1), digest=combine([persistent, volatile]), ttl_digest=volatile)
    got = facts(6, 0, first=None, digest=persistent)
    before = {r.check: r for r in judge_db("db0", want, got, T0)}
    assert not before["key_count"].passed and not before["digest"].passed
    after = {r.check: r for r in judge_db("db0", want, got, T0 + timedelta(days=2))}
    assert all(r.passed for r in after.values()), after
    assert after["digest"].message.startswith("digest of the 6 keys without a TTL (4 keys with a TTL may have")
    lost_one = facts(5, 0, first=None, digest="3" * 40)
    assert not {r.check: r for r in judge_db("db0", want, lost_one, T0 + timedelta(days=2))}["key_count"].passed


def test_persistent_keys_are_the_difference() -> None:
    a, b = "0123456789" * 4, "fedcba9876" * 4
    whole = facts(3, 1, first=T0, digest=combine([a, b]), ttl_digest=b)
    assert whole.persistent.digest == a
    assert whole.persistent.keys == 2
    assert whole.persistent.types == {"string": 2}


def inventory(**store: object) -> RedisStore:
    base: dict[str, object] = {"name": "cache", "kind": "redis", "rto": "5m", "rpo": "1d",
                               "source": {"type": "file", "path": "x-*.rdb"}}
    parsed = parse_inventory({"stores": [{**base, **store}]}, Path("inv.toml"))
    result = parsed.stores[0]
    assert isinstance(result, RedisStore)
    return result


def test_redis_store_settings() -> None:
    store = inventory(keys=[{"pattern": "session:*"}, {"pattern": "page:*", "db": 1, "min": 0, "max": 9}],
                      databases=[0, 1], sandbox={"type": "local", "bin_dir": "/opt/valkey/bin"})
    assert store.suite_name == "redis"
    assert [k.subject for k in store.keys] == ["db0 session:*", "db1 page:*"]
    assert store.keys[0].min == 1


@pytest.mark.parametrize(("store", "message"), [
    ({"assertions": [{"name": "n", "sql": "SELECT 1", "expect": 1}]},
     "stores[0]: `assertions` (SQL) do not apply to a redis store; use `keys` expectations"),
    ({"keys": [{"pattern": "a:*"}, {"pattern": "a:*", "db": 0}]},
     "stores[0]: `keys` lists the same pattern and db twice"),
    ({"keys": [{"pattern": "a:*", "db": -1}]}, "stores[0].keys[0].db: Input should be greater than or equal to 0"),
    ({"keys": [{"pattern": "a:*", "max": 0}]}, "stores[0].keys[0]: max (0) is below min (1)"),
    ({"kind": "memcached"}, "stores[0].kind: unsupported value 'memcached'; use one of "),
])
def test_bad_redis_settings_name_the_field(store: dict[str, object], message: str) -> None:
    with pytest.raises(InventoryError) as info:
        inventory(**store)
    assert f"inv.toml: {message}" in info.value.describe()
    if "kind" in store:
        assert "'redis'" in info.value.describe()


def test_manifest_of_another_kind_or_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"kind": "postgres", "schema_version": 1}))
    with pytest.raises(ManifestError, match="is of kind 'postgres', not a redis manifest"):
        load_manifest(path, store="cache")
    path.write_text(json.dumps({"kind": "redis", "schema_version": 7}))
    with pytest.raises(ManifestError, match="has schema_version 7"):
        load_manifest(path, store="cache")
    with pytest.raises(ManifestError, match="does not exist"):
        load_manifest(tmp_path / "none.json", store="cache")
