"""`restoreproof capture redis`: one consistent RDB and a manifest measured from that very file, never
half-written, no password in any message or file."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_support import FIXED, failed, redis_verify
from verifiers.cli import main as restoreproof
from verifiers.errors import CaptureError
from verifiers.sources import sha256_file
from verifiers.stores.redis.capture import capture_redis
from verifiers.stores.redis.installations import RedisInstallation
from verifiers.stores.redis.local_server import RDB_NAME, RedisServer, local_redis
from verifiers.stores.redis.snapshot import redact_url

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("no_redis_leftovers")]
PASSWORD = "s3cret-Pa55"


def url_of(server: RedisServer, password: str | None = None) -> str:
    return f"unix://{':' + password + '@' if password else ''}{server.socket}"


@pytest.fixture
def guarded(valkey: RedisInstallation) -> Iterator[RedisServer]:
    """A small live server that requires a password."""
    with local_redis(valkey, prefix="rp-test-source-redis-") as server:
        client = server.client()
        client.mset({"a": "1", "b": "2"})
        client.config_set("repl-diskless-sync-delay", 0)
        client.config_set("requirepass", PASSWORD)
        yield server


def test_writes_the_rdb_and_its_manifest(redis_source: RedisServer, tmp_path: Path) -> None:
    rdb, manifest_path = capture_redis(url_of(redis_source), tmp_path, name="cache", now=FIXED)
    assert rdb.name == "cache-20261126T020000Z.rdb"
    assert manifest_path.name == "cache-20261126T020000Z.manifest.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([rdb.name, manifest_path.name])  # no partials
    manifest = json.loads(manifest_path.read_text())
    assert manifest["artifact"] == {"name": rdb.name, "sha256": sha256_file(rdb), "bytes": rdb.stat().st_size,
                                    "format": "rdb", "rdb_version": 10}
    assert manifest["captured_at"] == "2026-11-26T02:00:00Z"
    assert manifest["source"] == url_of(redis_source)
    db0 = manifest["facts"]["databases"]["0"]
    assert (db0["keys"], db0["ttl"]["keys"], len(db0["digest"])) == (188, 26, 40)
    assert rdb.read_bytes().startswith(b"REDIS0010")


def test_name_refuses_paths_and_overwrites(redis_source: RedisServer, tmp_path: Path) -> None:
    capture_redis(url_of(redis_source), tmp_path, name="prod", now=FIXED)
    with pytest.raises(CaptureError, match="already exists; refusing to overwrite"):
        capture_redis(url_of(redis_source), tmp_path, name="prod", now=FIXED)
    with pytest.raises(CaptureError, match="is not a plain file name"):
        capture_redis(url_of(redis_source), tmp_path, name="../escape")


def test_via_redis_cli_gives_the_same_facts(redis_source: RedisServer, tmp_path: Path) -> None:
    assert shutil.which("redis-cli") or shutil.which("valkey-cli"), "apt-get install redis-tools (.ci/run does)"
    _, by_file = capture_redis(url_of(redis_source), tmp_path / "file", via="dump-file")
    _, by_cli = capture_redis(url_of(redis_source), tmp_path / "cli", via="redis-cli")
    assert json.loads(by_cli.read_text())["facts"] == json.loads(by_file.read_text())["facts"]


@pytest.mark.parametrize("via", ["dump-file", "redis-cli"])
def test_password_never_appears(guarded: RedisServer, tmp_path: Path, via: str,
                                capsys: pytest.CaptureFixture[str]) -> None:
    _, manifest = capture_redis(url_of(guarded, PASSWORD), tmp_path, via=via)
    text = manifest.read_text()
    assert PASSWORD not in text
    assert json.loads(text)["source"] == f"unix://:***@{guarded.socket}"
    assert json.loads(text)["facts"]["databases"]["0"]["keys"] == 2
    code = restoreproof(["capture", "redis", "--url", url_of(guarded, "wrong-" + PASSWORD), "--out",
                         str(tmp_path / "x"), "--via", via])
    assert code == 2
    err = capsys.readouterr().err
    assert PASSWORD not in err
    assert "unix://:***@" in err


def test_redact_url() -> None:
    assert redact_url("redis://app:pw@cache.internal:6379/0") == "redis://app:***@cache.internal:6379/0"
    assert redact_url("unix:///run/redis.sock?db=1&password=pw") == "unix:///run/redis.sock?db=1&password=***"
    assert redact_url("rediss://cache.internal:6380") == "rediss://cache.internal:6380"


def test_manifest_matches_the_rdb_while_writes_continue(valkey: RedisInstallation, tmp_path: Path) -> None:
    """The manifest is measured from the captured file, so writes during the capture cannot split them."""
    with local_redis(valkey, prefix="rp-test-source-redis-") as server:
        stop = threading.Event()

        def write() -> None:
            client = server.client()
            n = 0
            while not stop.is_set():
                client.mset({f"busy:{n}:{i}": i for i in range(50)})
                client.incr("busy:counter")
                n += 1

        writer = threading.Thread(target=write)
        writer.start()
        try:
            capture_redis(url_of(server), tmp_path, name="busy")
        finally:
            stop.set()
            writer.join()
    outcome = redis_verify(tmp_path, "busy-*.rdb")
    assert outcome.status == "passed", failed(outcome)


def test_from_rdb_and_the_cli(valkey: RedisInstallation, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with local_redis(valkey) as server:
        server.client(4).set("only", "db4")
        server.client().save()
        exported = tmp_path / "export.rdb"
        shutil.copyfile(server.workdir / RDB_NAME, exported)
    assert restoreproof(["capture", "redis", "--from-rdb", str(exported), "--out", str(tmp_path / "out"),
                         "--name", "elasticache"]) == 0
    printed = capsys.readouterr().out
    assert "backup:   " in printed and "elasticache-" in printed
    manifest = json.loads(next((tmp_path / "out").glob("*.manifest.json")).read_text())
    assert manifest["source"] == "export.rdb"
    assert list(manifest["facts"]["databases"]) == ["4"]
    assert manifest["artifact"]["rdb_version"] == 80


def test_unreachable_server_and_bad_rdb_are_named(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match=r"cannot connect to unix:///nonexistent/x\.sock"):
        capture_redis("unix:///nonexistent/x.sock", tmp_path)
    junk = tmp_path / "junk.rdb"
    junk.write_bytes(b"not an rdb at all")
    with pytest.raises(CaptureError, match="not an RDB file"):
        capture_redis(None, tmp_path / "out", from_rdb=junk)
    assert not list((tmp_path / "out").iterdir())


def test_failed_bgsave_is_explained(valkey: RedisInstallation, tmp_path: Path) -> None:
    with local_redis(valkey, prefix="rp-test-source-redis-") as server:
        server.workdir.chmod(0o500)  # the server cannot write its dump: BGSAVE fails
        try:
            with pytest.raises(CaptureError, match=r"BGSAVE on unix://.* failed \(rdb_last_bgsave_status: err\)"):
                capture_redis(url_of(server), tmp_path, via="dump-file")
        finally:
            server.workdir.chmod(0o700)
    assert not list(tmp_path.iterdir())


def test_client_errors_do_not_leak_the_url_password(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match=r"cannot connect to redis://user:\*\*\*@127\.0\.0\.1:1/0") as info:
        capture_redis(f"redis://user:{PASSWORD}@127.0.0.1:1/0", tmp_path)
    assert PASSWORD not in str(info.value)
