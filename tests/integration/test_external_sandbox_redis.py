"""The `external` sandbox on real Redis/Valkey servers the harness did not start ("the user's server", started
empty by these tests outside the sandbox names): the RDB goes in key by key with RESTORE, the usual measurement
runs there, and exactly the keys written are deleted afterwards, on success and on failure. Refused, with nothing
written, without the opt-in or when the server already holds keys."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from fixtures.redis_demo import MARKER
from tests.redis_support import SOURCE_PREFIX, RedisCapture, failed, manifest_claiming, redis_verify
from verifiers.errors import SandboxError
from verifiers.store_settings import ExternalSandbox
from verifiers.stores.redis import external_server as external_redis_module
from verifiers.stores.redis.dump_payload import crc64, iter_payloads
from verifiers.stores.redis.external_server import ExternalRedis, external_redis
from verifiers.stores.redis.installations import RedisInstallation
from verifiers.stores.redis.local_server import RedisServer, local_redis
from verifiers.stores.redis.rdb import read_header

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("no_redis_leftovers")]


@pytest.fixture(scope="module")
def user_valkey(valkey: RedisInstallation) -> Iterator[RedisServer]:
    with local_redis(valkey, prefix=SOURCE_PREFIX) as server:
        yield server


@pytest.fixture(scope="module")
def user_redis70(system_redis: RedisInstallation) -> Iterator[RedisServer]:
    with local_redis(system_redis, prefix=SOURCE_PREFIX) as server:
        yield server


def url_of(server: RedisServer) -> str:
    return f"unix://{server.socket}"


def keyspace(server: RedisServer) -> dict[str, object]:
    return {name: v for name, v in server.client().info("keyspace").items() if name.startswith("db")}


def sandbox(server: RedisServer, **extra: object) -> dict[str, object]:
    return {"type": "external", "url": url_of(server), **extra}


def test_restores_the_demo_backup_key_by_key_and_deletes_it(rdb_dir: Path, user_valkey: RedisServer) -> None:
    outcome = redis_verify(rdb_dir, "cache-*.rdb", sandbox=sandbox(user_valkey, allow_external=True))
    assert outcome.status == "passed", failed(outcome)
    assert outcome.sandbox is not None and outcome.sandbox["type"] == "external"
    assert outcome.sandbox["engine"] == "valkey" and outcome.sandbox["target"] == f"unix:{user_valkey.socket}"
    passed = {f"{c.check}:{c.subject}" for c in outcome.checks if c.passed}
    assert {"digest:db0", "digest:db1", "types:db0", "key_count:db1"} <= passed
    assert keyspace(user_valkey) == {}
    assert all(user_valkey.client(db).dbsize() == 0 for db in (0, 1))
    # the user's server's own settings read back, what restored the keys, and that it is not the writer's release
    settings = outcome.sandbox["settings"]
    assert isinstance(settings, dict) and settings["appendonly"] == "no" and "maxmemory" in settings
    assert outcome.sandbox["mode"] == "fast" and set(outcome.sandbox["tools"]) == {"restoreproof RESTORE"}
    (engine,) = [c for c in outcome.checks if c.check == "engine"]
    assert engine.passed and "RDB written by Redis 7.0" in engine.message
    assert "verified on another release" in engine.message and "the external server the sandbox names" in engine.message


def test_exact_refuses_a_server_of_another_release_and_measures_nothing(rdb_dir: Path,
                                                                       user_valkey: RedisServer) -> None:
    """Its release is known once it runs, after the keys went in: they are deleted, and nothing is judged."""
    outcome = redis_verify(rdb_dir, "cache-*.rdb",
                           sandbox=sandbox(user_valkey, allow_external=True, version_match="exact"))
    assert outcome.status == "failed"
    problems = failed(outcome)
    assert "verified on another release" in problems["engine:sandbox"]
    assert problems["digest:db0"] == "not verified: the sandbox is not on the release that wrote the RDB"
    assert [c.check for c in outcome.checks].count("engine") == 1
    assert keyspace(user_valkey) == {}


def test_refuses_without_the_opt_in(rdb_dir: Path, user_valkey: RedisServer) -> None:
    outcome = redis_verify(rdb_dir, "cache-*.rdb", sandbox=sandbox(user_valkey))
    assert outcome.status == "error" and outcome.error is not None
    assert "refusing to restore" in outcome.error["message"]
    assert keyspace(user_valkey) == {}


def test_refuses_a_server_that_holds_keys_and_leaves_them(rdb_dir: Path, user_valkey: RedisServer) -> None:
    user_valkey.client(5).set("someone:else", "theirs")
    try:
        outcome = redis_verify(rdb_dir, "cache-*.rdb", sandbox=sandbox(user_valkey, allow_external=True))
        assert outcome.status == "error" and outcome.error is not None
        assert "already holds keys in db5 (1 keys)" in outcome.error["message"], outcome.error
        assert set(keyspace(user_valkey)) == {"db5"}
        assert user_valkey.client(5).get("someone:else") == b"theirs"
    finally:
        user_valkey.client(5).delete("someone:else")


def test_payloads_equal_the_servers_own_dump(redis_capture: RedisCapture, redis_source: RedisServer) -> None:
    """Every key of the captured demo (all core types, a stream, int/LZF strings, TTLs) cut from the RDB is
    byte for byte what the server that wrote it answers to DUMP."""
    items = list(iter_payloads(redis_capture.rdb))
    assert {i.type_name for i in items} == {"string", "list", "set", "zset", "hash", "stream"}
    assert sum(1 for i in items if i.expires_ms) > 0
    assert [i.payload for i in items] == [redis_source.client(i.db).dump(i.key) for i in items]


def test_a_truncated_backup_fails_and_leaves_no_key(rdb_dir: Path, redis_capture: RedisCapture,
                                                    user_valkey: RedisServer,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # Every key is sent as soon as it is read, and the cut is in the last key (or the one before): the keys' order
    # in an RDB follows the server's randomly seeded dicts, so a cut at a fixed fraction could come before the
    # first full batch of one db was read, and nothing would be written.
    monkeypatch.setattr(external_redis_module, "BATCH", 1)
    removed: list[int] = []
    remove = external_redis_module._remove

    def counting(store: str, server: Any, target: str, written: Any) -> None:
        removed.append(written.total)
        remove(store, server, target, written)

    monkeypatch.setattr(external_redis_module, "_remove", counting)
    rdb = rdb_dir / redis_capture.rdb.name
    rdb.write_bytes(rdb.read_bytes()[:-20])  # past the 9-byte trailer, into the data
    manifest_claiming(redis_capture.manifest, rdb, rdb_dir / redis_capture.manifest.name)
    outcome = redis_verify(rdb_dir, "cache-*.rdb", sandbox=sandbox(user_valkey, allow_external=True))
    assert outcome.status == "failed"
    assert "the RDB is truncated" in failed(outcome)["restore:restore"]
    assert removed and removed[0] >= 20  # keys were restored, then deleted
    assert keyspace(user_valkey) == {}


def test_a_restore_past_restore_timeout_is_an_error_and_leaves_no_key(rdb_dir: Path, user_valkey: RedisServer,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(external_redis_module, "BATCH", 20)
    send = external_redis_module._send

    def slow(*args: Any, **kwargs: Any) -> None:
        send(*args, **kwargs)
        time.sleep(0.2)  # a slow server

    monkeypatch.setattr(external_redis_module, "_send", slow)
    outcome = redis_verify(rdb_dir, "cache-*.rdb", restore_timeout=0.1,
                           sandbox=sandbox(user_valkey, allow_external=True))
    assert outcome.status == "error" and outcome.error is not None
    assert "did not finish within restore_timeout (20 keys restored so far)" in outcome.error["message"]
    assert keyspace(user_valkey) == {}


def test_a_backup_newer_than_the_server_is_named(rdb_dir: Path, redis_capture: RedisCapture,
                                                 user_redis70: RedisServer) -> None:
    """Redis 7.0 reads RDB versions up to 10: values of an RDB 12 file are refused by RESTORE, and the failure
    names both versions."""
    rdb = rdb_dir / redis_capture.rdb.name
    data = bytearray(rdb.read_bytes())
    assert data[:9] == b"REDIS0010"
    data[:9] = b"REDIS0012"
    data[-8:] = crc64(bytes(data[:-8])).to_bytes(8, "little")  # still a well-formed file, just newer
    rdb.write_bytes(bytes(data))
    manifest_claiming(redis_capture.manifest, rdb, rdb_dir / redis_capture.manifest.name)
    outcome = redis_verify(rdb_dir, "cache-*.rdb", sandbox=sandbox(user_redis70, allow_external=True))
    assert outcome.status == "failed"
    message = failed(outcome)["restore:restore"]
    assert "RDB version 12" in message and "redis 7.0" in message and "newer than this server reads" in message
    assert keyspace(user_redis70) == {}


def test_keys_someone_else_wrote_meanwhile_are_left_and_reported(redis_capture: RedisCapture,
                                                                 user_valkey: RedisServer) -> None:
    settings = ExternalSandbox.model_validate(sandbox(user_valkey, allow_external=True))
    header = read_header(redis_capture.rdb)
    try:
        opening = external_redis("cache", settings, header, redis_capture.rdb)
        with pytest.raises(SandboxError, match=r"still holds keys in db1 \(1 keys\) that restoreproof did not"):
            write_meanwhile(opening, user_valkey)
        assert set(keyspace(user_valkey)) == {"db1"}
        assert user_valkey.client(1).get("written:meanwhile") == b"x"
    finally:
        user_valkey.client(1).delete("written:meanwhile")


def write_meanwhile(opening: AbstractContextManager[ExternalRedis], user: RedisServer) -> None:
    """Someone else writes a key into a restored db while the store is being measured."""
    with opening as server:
        assert server.client(0).dbsize() > 0
        user.client(1).set("written:meanwhile", "x")


def test_the_redis_suite_refuses_then_runs_with_the_flag(redis_capture: RedisCapture, user_valkey: RedisServer,
                                                         tmp_path: Path) -> None:
    """`pytest suites/redis`: an error (non-zero exit, the refusal named) until --allow-external-sandbox; then
    it passes, the evidence names the external server without values, and the server is empty again."""
    (tmp_path / "backups").mkdir()
    for path in (redis_capture.rdb, redis_capture.manifest):
        shutil.copy2(path, tmp_path / "backups" / path.name)
    (tmp_path / "inventory.toml").write_text(f"""
[[stores]]
name = "cache"
kind = "redis"
rto = "15m"
rpo = "30d"
keys = [{{ pattern = "session:*", min = 1 }}]
source = {{ type = "file", path = "backups/cache-*.rdb" }}
sandbox = {{ type = "external", url = "{url_of(user_valkey)}" }}
""")
    argv = [str(Path(sys.executable).parent / "pytest"), str(ROOT / "suites" / "redis"), "--inventory",
            "inventory.toml", "--reports-dir", "reports", "-p", "no:cacheprovider", "-q"]
    refused = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert refused.returncode != 0
    assert "refusing to restore" in refused.stdout, refused.stdout[-2000:]
    assert keyspace(user_valkey) == {}
    shutil.rmtree(tmp_path / "reports", ignore_errors=True)
    allowed = subprocess.run([*argv, "--allow-external-sandbox"], cwd=tmp_path, capture_output=True, text=True,
                             timeout=300, check=False)
    assert allowed.returncode == 0, allowed.stdout[-3000:]
    (path,) = (tmp_path / "reports").glob("*/*/evidence.json")
    text = path.read_text()
    assert MARKER not in text
    (store,) = json.loads(text)["stores"]
    assert store["sandbox"]["type"] == "external" and store["status"] == "passed"
    assert keyspace(user_valkey) == {}
