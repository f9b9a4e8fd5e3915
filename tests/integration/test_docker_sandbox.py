"""The docker sandbox end to end. Where there is no Docker engine (the development and CI machines), the
PostgreSQL path still runs through the whole store code with a fake container at the seam that is backed by a
real local server; the real-container tests are marked `docker` and run wherever an engine answers."""

from __future__ import annotations

import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.conftest import Capture, failed, manifest_claiming, verify
from tests.mysql_support import mysql_verify
from tests.redis_support import redis_verify
from verifiers.sandboxes import docker as docker_module
from verifiers.sandboxes.docker import ContainerSpec, engine_available
from verifiers.sandboxes.process import ServerProcess
from verifiers.stores.postgres.local_server import PgInstallation, PostgresServer, local_postgres
from verifiers.stores.redis.installations import RedisInstallation

NO_ENGINE = "no Docker engine (docker daemon not reachable)"


class LocalBackedContainer:
    """A fake `postgres` container at the docker seam: "starting" it starts a real local server, which
    listens on a unix socket (libpq takes the socket dir as the host)."""

    def __init__(self, spec: ContainerSpec, installation: PgInstallation, record: list[LocalBackedContainer]) -> None:
        self.spec, self.installation = spec, installation
        self.stack = ExitStack()
        self.server: PostgresServer | None = None
        self.status = "created"
        self.stopped = 0
        record.append(self)

    def start(self) -> LocalBackedContainer:
        self.server = self.stack.enter_context(local_postgres(self.installation))
        self.status = "running"
        return self

    def stop(self) -> None:
        self.stopped += 1
        self.stack.close()

    def reload(self) -> None:
        pass

    def get_container_host_ip(self) -> str:
        assert self.server is not None
        return str(self.server.socket_dir)

    def get_exposed_port(self, port: int) -> int:
        assert self.server is not None and port == 5432
        return self.server.port

    def get_logs(self) -> tuple[bytes, bytes]:
        return b"", b""


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch, newest_pg: PgInstallation) -> Iterator[list[LocalBackedContainer]]:
    made: list[LocalBackedContainer] = []
    monkeypatch.setattr(docker_module, "testcontainers_factory",
                        lambda spec, timeout: LocalBackedContainer(spec, newest_pg, made))
    yield made
    for container in made:
        container.stack.close()


@pytest.mark.postgres
@pytest.mark.usefixtures("no_leftovers")
def test_postgres_store_runs_unchanged_in_a_container(backup_dir: Path, fake_engine: list[LocalBackedContainer],
                                                      newest_pg: PgInstallation, oldest_pg: PgInstallation) -> None:
    outcome = verify(backup_dir, "saas-*.dump", sandbox="docker")
    assert outcome.status == "passed", failed(outcome)
    assert outcome.sandbox is not None
    assert outcome.sandbox["type"] == "docker"
    assert outcome.sandbox["version"] == newest_pg.version  # measured from the running server
    [container] = fake_engine
    # the image of the dump's major (its source's, whose pg_dump wrote it); the fake engine runs newest_pg anyway
    assert container.spec.image == outcome.sandbox["image"] == f"postgres:{oldest_pg.major}"
    assert container.spec.ports == (5432,) and len(container.spec.env["POSTGRES_PASSWORD"]) >= 24
    assert container.stopped == 1


@pytest.mark.postgres
@pytest.mark.usefixtures("no_leftovers")
def test_a_failing_restore_in_a_container_still_removes_it(backup_dir: Path, demo_capture: Capture,
                                                           fake_engine: list[LocalBackedContainer]) -> None:
    dump = backup_dir / demo_capture.dump.name
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    manifest_claiming(demo_capture.manifest, dump, backup_dir / demo_capture.manifest.name)
    outcome = verify(backup_dir, "saas-*.dump", sandbox={"type": "docker", "image": "postgres:18-alpine"})
    assert outcome.status == "failed"
    assert "restore:restore" in failed(outcome)
    assert [c.spec.image for c in fake_engine] == ["postgres:18-alpine"]
    assert fake_engine[0].stopped == 1


class LocalBackedRedisContainer:
    """A fake `redis` container at the docker seam: "starting" it starts a real local redis-server on the RDB the
    spec copies into /data, with the spec's own command (password included), listening on 127.0.0.1."""

    def __init__(self, spec: ContainerSpec, installation: RedisInstallation, record: list[LocalBackedRedisContainer]
                 ) -> None:
        self.spec, self.installation = spec, installation
        self.workdir = Path(tempfile.mkdtemp(prefix="restoreproof-redis-"))
        self.process: ServerProcess | None = None
        self.port = 0
        self.status = "created"
        self.stopped = 0
        record.append(self)

    def start(self) -> LocalBackedRedisContainer:
        for destination, source in self.spec.files.items():
            shutil.copyfile(source, self.workdir / Path(destination).name)
        with socket.socket() as probe:  # a free port: the engine would publish one
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        assert self.spec.command is not None
        args = [str(self.workdir) if arg == "/data" else arg for arg in self.spec.command[1:]]
        self.process = ServerProcess([str(self.installation.server), *args, "--port", str(self.port), "--bind",
                                      "127.0.0.1"], log_path=self.workdir / "server.log", user=None,
                                     env={"PATH": "/usr/bin:/bin"}, cwd=self.workdir, stop_signal=signal.SIGTERM)
        self.status = "running"
        return self

    def stop(self) -> None:
        self.stopped += 1
        if self.process is not None:
            self.process.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def reload(self) -> None:
        if self.process is not None and not self.process.alive():
            self.status = "exited"

    def get_container_host_ip(self) -> str:
        return "127.0.0.1"

    def get_exposed_port(self, port: int) -> int:
        assert port == 6379
        return self.port

    def get_logs(self) -> tuple[bytes, bytes]:
        return (self.process.log_tail().encode() if self.process else b""), b""


@pytest.mark.redis
@pytest.mark.usefixtures("no_redis_leftovers")
def test_redis_store_runs_unchanged_in_a_container(rdb_dir: Path, system_redis: RedisInstallation,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[LocalBackedRedisContainer] = []
    monkeypatch.setattr(docker_module, "testcontainers_factory",
                        lambda spec, timeout: LocalBackedRedisContainer(spec, system_redis, made))
    outcome = redis_verify(rdb_dir, "cache-*.rdb", sandbox="docker")
    assert outcome.status == "passed", [c for c in outcome.checks if not c.passed]
    assert outcome.sandbox is not None and outcome.sandbox["type"] == "docker"
    [container] = made
    assert container.spec.image == outcome.sandbox["image"] == "redis:7.0"  # the release that wrote the RDB
    assert outcome.sandbox["version"] == system_redis.version
    assert container.stopped == 1


@pytest.mark.redis
@pytest.mark.usefixtures("no_redis_leftovers")
def test_a_damaged_rdb_fails_the_restore_and_removes_the_container(rdb_dir: Path, system_redis: RedisInstallation,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[LocalBackedRedisContainer] = []
    monkeypatch.setattr(docker_module, "testcontainers_factory",
                        lambda spec, timeout: LocalBackedRedisContainer(spec, system_redis, made))
    [rdb] = rdb_dir.glob("cache-*.rdb")
    rdb.write_bytes(rdb.read_bytes()[: rdb.stat().st_size // 2])
    outcome = redis_verify(rdb_dir, "cache-*.rdb", sandbox="docker", restore_timeout="20s")
    assert outcome.status == "failed"
    restore = {c.check: c for c in outcome.checks}["restore"]
    assert not restore.passed and "did not load the RDB" in restore.message, restore.message
    assert made[0].stopped == 1


requires_engine = pytest.mark.skipif(not engine_available(), reason=NO_ENGINE)


@pytest.mark.docker
@pytest.mark.postgres
@requires_engine
@pytest.mark.usefixtures("no_leftovers")
def test_real_postgres_container(backup_dir: Path) -> None:
    outcome = verify(backup_dir, "saas-*.dump", sandbox="docker")
    assert outcome.status == "passed", failed(outcome)
    assert outcome.sandbox is not None and outcome.sandbox["type"] == "docker"


@pytest.mark.docker
@pytest.mark.redis
@requires_engine
@pytest.mark.usefixtures("no_redis_leftovers")
def test_real_redis_container(rdb_dir: Path) -> None:
    outcome = redis_verify(rdb_dir, "*.rdb", sandbox="docker")
    assert outcome.status == "passed", outcome.checks
    assert outcome.sandbox is not None and outcome.sandbox["type"] == "docker"


@pytest.mark.docker
@pytest.mark.mysql
@requires_engine
@pytest.mark.usefixtures("no_mysql_leftovers")
def test_real_mariadb_container(mysql_backup_dir: Path) -> None:
    outcome = mysql_verify(mysql_backup_dir, "*.sql.gz", sandbox="docker")
    assert outcome.status == "passed", outcome.checks
    assert outcome.sandbox is not None and outcome.sandbox["type"] == "docker"
