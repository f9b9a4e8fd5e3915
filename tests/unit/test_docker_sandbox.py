"""The docker sandbox without a Docker engine: a fake container at the seam (verifiers/sandboxes/docker.py's
factory) proves what each store asks for (image defaulting from the recorded version, ports, env, files) and
that the container is removed on every exit path; the inventory and command-line selection of sandboxes."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path
from types import FrameType

import pytest

from verifiers.errors import SandboxError
from verifiers.inventory import parse_inventory
from verifiers.sandboxes import docker as docker_module
from verifiers.sandboxes.docker import ContainerExited, ContainerSpec, docker_container
from verifiers.sandboxes.external import require_opt_in
from verifiers.sandboxes.readiness import Readiness
from verifiers.sandboxes.selection import apply_overrides
from verifiers.store_settings import DockerSandbox, ExternalSandbox, LocalSandbox
from verifiers.stores.mysql.archive import DumpHeader as MysqlHeader
from verifiers.stores.mysql.network_server import docker_mysql
from verifiers.stores.mysql.sandbox import default_image as mysql_default_image
from verifiers.stores.postgres.archive import DumpFormat
from verifiers.stores.postgres.archive import DumpHeader as PgHeader
from verifiers.stores.postgres.sandbox import default_image as pg_default_image
from verifiers.stores.redis.local_server import RdbLoadError
from verifiers.stores.redis.network_server import docker_redis
from verifiers.stores.redis.rdb import RdbHeader
from verifiers.stores.redis.sandbox import default_image as redis_default_image
from verifiers.stores.redis.sandbox import remote_server as redis_remote_server


class FakeContainer:
    """Stands in for testcontainers' DockerContainer: records what happened to it."""

    def __init__(self, spec: ContainerSpec, *, fail_start: BaseException | None = None, exits: bool = False,
                 fail_stop: bool = False) -> None:
        self.spec = spec
        self.fail_start, self.exits, self.fail_stop = fail_start, exits, fail_stop
        self.started = self.stopped = 0
        self.status = "created"

    def start(self) -> FakeContainer:
        self.started += 1
        if self.exits:
            self.status = "exited"
            raise RuntimeError("Container exited (status: exited, exit code: 1) before emitting logs")
        if self.fail_start is not None:
            raise self.fail_start
        self.status = "running"
        return self

    def stop(self) -> None:
        self.stopped += 1
        if self.fail_stop:
            raise ConnectionError("engine went away")

    def reload(self) -> None:
        pass

    def get_container_host_ip(self) -> str:
        return "127.0.0.1"

    def get_exposed_port(self, port: int) -> int:
        return 40000 + port % 1000

    def get_logs(self) -> tuple[bytes, bytes]:
        return b"starting\nsecret-key 'customer@example.com'\n", b""


class FakeEngine:
    def __init__(self, **behaviour: object) -> None:
        self.behaviour = behaviour
        self.made: list[FakeContainer] = []

    def __call__(self, spec: ContainerSpec, timeout: float) -> FakeContainer:
        container = FakeContainer(spec, **self.behaviour)  # type: ignore[arg-type]
        self.made.append(container)
        return container


SPEC = ContainerSpec(image="postgres:15", ports=(5432,), env={"A": "b"}, ready_log="ready")


def test_a_container_is_removed_after_success() -> None:
    engine = FakeEngine()
    with docker_container(SPEC, timeout=5, factory=engine) as running:
        assert running.port(5432) == 40432
        assert running.host == "127.0.0.1"
    assert [(c.started, c.stopped) for c in engine.made] == [(1, 1)]


@pytest.mark.parametrize("error", [ValueError("verify failed"), KeyboardInterrupt("Ctrl-C")])
def test_a_container_is_removed_after_a_failure_or_ctrl_c(error: BaseException) -> None:
    engine = FakeEngine()
    with pytest.raises(type(error)), docker_container(SPEC, timeout=5, factory=engine):
        raise error
    assert engine.made[0].stopped == 1


def test_a_container_is_removed_after_sigterm() -> None:
    """The plugin turns SIGTERM into KeyboardInterrupt; the container goes with the unwinding."""
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    engine = FakeEngine()
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        with pytest.raises(KeyboardInterrupt, match="signal 15"), docker_container(SPEC, timeout=5, factory=engine):
            send_sigterm()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert engine.made[0].stopped == 1


def send_sigterm() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    signal.pause()  # not reached: the handler raises first


def test_no_engine_is_a_sandbox_error_with_a_hint_and_nothing_left() -> None:
    engine = FakeEngine(fail_start=ConnectionError("Error while fetching server API version"))
    starting = docker_container(SPEC, timeout=5, factory=engine)
    with pytest.raises(SandboxError, match=r"cannot start a postgres:15 container: ConnectionError") as caught, \
            starting:
        pytest.fail("must not be reached")
    assert "Docker engine" in (caught.value.hint or "")
    assert engine.made[0].stopped == 1  # created but not started: still removed


def test_a_client_that_cannot_be_made_is_a_sandbox_error() -> None:
    def no_client(spec: ContainerSpec, timeout: float) -> FakeContainer:
        raise FileNotFoundError("/var/run/docker.sock")

    with pytest.raises(SandboxError, match="FileNotFoundError"), docker_container(SPEC, timeout=5, factory=no_client):
        pytest.fail("must not be reached")


def test_an_exited_container_is_told_apart_from_a_missing_engine() -> None:
    engine = FakeEngine(exits=True)
    starting = docker_container(SPEC, timeout=5, factory=engine)
    with pytest.raises(ContainerExited, match="exited before it was ready; its log ends"), starting:
        pytest.fail("must not be reached")
    assert engine.made[0].stopped == 1


def test_a_removal_failure_is_raised_after_success_but_never_hides_an_error(
        caplog: pytest.LogCaptureFixture) -> None:
    stuck = docker_container(SPEC, timeout=5, factory=FakeEngine(fail_stop=True))
    with pytest.raises(SandboxError, match="could not remove the postgres:15 sandbox container"), stuck:
        pass
    stuck = docker_container(SPEC, timeout=5, factory=FakeEngine(fail_stop=True))
    with pytest.raises(ValueError, match="the real problem"), stuck:
        raise ValueError("the real problem")
    assert "could not remove" in caplog.text


def test_the_default_factory_is_looked_up_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = FakeEngine()
    monkeypatch.setattr(docker_module, "testcontainers_factory", engine)
    with docker_container(SPEC, timeout=5):
        pass
    assert engine.made[0].stopped == 1


def test_an_image_name_with_spaces_is_refused() -> None:
    with pytest.raises(ValueError, match="not a container image name"):
        ContainerSpec(image="postgres 15", ports=(5432,))


# --- what each store asks for --------------------------------------------------------------------------------

@pytest.mark.parametrize(("server", "dump", "image"), [
    ("15.18 (Debian 15.18-0+deb12u1)", "15.18", "postgres:15"),
    ("15.4", "18.1", "postgres:18"),  # pg_restore 18 emits settings a 15 server rejects
    (None, "16.2", "postgres:16"),
])
def test_postgres_image_defaults_to_the_recorded_major(server: str | None, dump: str, image: str) -> None:
    header = PgHeader(format=DumpFormat.CUSTOM, archive_version="1.15.0", server_version=server, dump_version=dump,
                      database="saas")
    assert pg_default_image(header) == image


@pytest.mark.parametrize(("magic", "version", "written_by", "image"), [
    ("REDIS", 10, "7.0.15", "redis:7.0"),
    ("REDIS", 12, "7.4.1", "redis:7.4"),
    ("REDIS", 11, "8.0.2", "valkey/valkey:8.0"),
    ("VALKEY", 80, "9.0.0", "valkey/valkey:9.0"),
    ("REDIS", 9, None, "redis:latest"),
])
def test_redis_image_defaults_to_the_release_that_wrote_the_rdb(magic: str, version: int, written_by: str | None,
                                                                  image: str) -> None:
    assert redis_default_image(RdbHeader(magic=magic, version=version, written_by=written_by)) == image


@pytest.mark.parametrize(("server", "image"), [("10.11.6-MariaDB-0+deb12u1", "mariadb:10.11"),
                                               ("8.0.36", "mysql:8.0")])
def test_mysql_image_defaults_to_the_recorded_flavour_and_release(server: str, image: str) -> None:
    header = MysqlHeader(tool="mariadb", dump_version="10.19", distrib="10.11.6-MariaDB", server_version=server,
                         database="shop")
    assert mysql_default_image(header) == image


def test_redis_copies_the_rdb_into_the_data_dir_before_start(tmp_path: Path) -> None:
    rdb = tmp_path / "backup.rdb"
    rdb.write_bytes(b"REDIS0011")
    engine = FakeEngine(exits=True)  # the fake cannot load it: the server "exits while loading"
    loading = docker_redis("redis:7.0", rdb, readiness=Readiness(timeout=1), factory=engine)
    with pytest.raises(RdbLoadError, match="exited while loading the RDB") as caught, loading:
        pytest.fail("must not be reached")
    spec = engine.made[0].spec
    assert spec.files == {"/data/dump.rdb": rdb}
    assert spec.command is not None and spec.command[0] == "redis-server"
    assert "--requirepass" in spec.command and "--save" in spec.command
    assert "customer@example.com" not in str(caught.value)  # quoted log text is redacted
    assert engine.made[0].stopped == 1


def test_valkey_images_start_valkey_server(tmp_path: Path) -> None:
    engine = FakeEngine(exits=True)
    loading = docker_redis("valkey/valkey:9.0", tmp_path, readiness=Readiness(timeout=1), factory=engine)
    with pytest.raises(RdbLoadError), loading:
        pass
    assert engine.made[0].spec.command is not None and engine.made[0].spec.command[0] == "valkey-server"


def test_a_production_like_redis_container_keeps_the_servers_save_schedule(tmp_path: Path) -> None:
    engine = FakeEngine(exits=True)
    loading = docker_redis("redis:7.0", tmp_path, readiness=Readiness(timeout=1), factory=engine,
                           mode="production-like")
    with pytest.raises(RdbLoadError), loading:
        pass
    command = engine.made[0].spec.command
    assert command is not None and "--save" not in command
    assert command[command.index("--appendonly") + 1] == "no"  # else the server would ignore the RDB


@pytest.mark.parametrize(("mode", "durable"), [("fast", False), ("production-like", True)])
def test_a_mysql_container_takes_the_settings_of_its_mode(mode: str, durable: bool) -> None:
    engine = FakeEngine(fail_start=ConnectionError("no engine"))
    with pytest.raises(SandboxError), docker_mysql(object(), image="mariadb:10.11",  # type: ignore[arg-type]
                                                   readiness=Readiness(timeout=1), factory=engine, mode=mode):
        pass
    command = engine.made[0].spec.command
    assert command is not None and "--event-scheduler=OFF" in command
    assert ("--innodb-flush-log-at-trx-commit=0" not in command) is durable
    assert ("--skip-log-bin" not in command) is durable


@pytest.mark.parametrize(("image", "variable"), [("mariadb:10.11", "MARIADB_ROOT_PASSWORD"),
                                                 ("mysql:8.0", "MYSQL_ROOT_PASSWORD")])
def test_mysql_container_gets_a_random_root_password_and_no_socket_only_settings(image: str, variable: str) -> None:
    engine = FakeEngine(fail_start=ConnectionError("no engine"))
    with pytest.raises(SandboxError), docker_mysql(object(), image=image, readiness=Readiness(timeout=1),  # type: ignore[arg-type]
                          factory=engine):
        pass
    spec = engine.made[0].spec
    assert set(spec.env) == {variable} and len(spec.env[variable]) >= 24
    assert spec.command is not None and "--skip-networking" not in spec.command
    assert spec.ready_log is not None and "3306" in spec.ready_log


# --- choosing the sandbox ------------------------------------------------------------------------------------

def inventory(sandbox: object = None, **extra: object) -> object:
    store: dict[str, object] = {"name": "db", "kind": "postgres", "rto": "1h", "rpo": "1d",
                                "source": {"type": "file", "path": "x.dump"}, **extra}
    if sandbox is not None:
        store["sandbox"] = sandbox
    return parse_inventory({"stores": [store]}, Path("inventory.toml"))


def test_sandbox_types_parse_from_shorthand_and_tables() -> None:
    assert isinstance(inventory().stores[0].sandbox, LocalSandbox)  # type: ignore[attr-defined]
    docker = inventory("docker").stores[0].sandbox  # type: ignore[attr-defined]
    assert isinstance(docker, DockerSandbox) and docker.image is None
    assert inventory({"type": "docker", "image": "postgres:16"}).stores[0].sandbox.image == "postgres:16"  # type: ignore[attr-defined]
    external = inventory({"type": "external", "url": "postgresql://ci@db/postgres"}).stores[0].sandbox  # type: ignore[attr-defined]
    assert isinstance(external, ExternalSandbox) and not external.allow_external
    assert external.dsn.get_secret_value().endswith("/postgres") and "ci@db" not in repr(external)


@pytest.mark.parametrize(("sandbox", "where"), [("podman", "stores[0].sandbox.type"),
                                                ({"type": "external"}, "stores[0].sandbox.dsn"),
                                                ({"type": "docker", "image": ""}, "stores[0].sandbox.image")])
def test_a_bad_sandbox_names_the_field(sandbox: object, where: str) -> None:
    from verifiers.errors import InventoryError

    with pytest.raises(InventoryError, match="inventory.toml: " + re.escape(where) + ":"):
        inventory(sandbox)


def test_the_command_line_overrides_each_file_restored_store() -> None:
    raw = parse_inventory({"stores": [
        {"name": "pg", "kind": "postgres", "rto": "1h", "rpo": "1d", "source": {"type": "file", "path": "a.dump"},
         "sandbox": {"type": "local", "bin_dir": "/opt/pg/bin"}},
        {"name": "cache", "kind": "redis", "rto": "1h", "rpo": "1d", "source": {"type": "file", "path": "a.rdb"},
         "sandbox": {"type": "docker", "image": "valkey/valkey:8.1"}},
        {"name": "rds", "kind": "postgres", "rto": "1h", "rpo": "1d",
         "source": {"type": "rds-snapshot", "instance": "prod"}},
    ]}, Path("inventory.toml"))
    docker = apply_overrides(raw, sandbox="docker", allow_external=False)
    pg, cache, rds = docker.stores
    assert isinstance(pg.sandbox, DockerSandbox) and pg.sandbox.bin_dir == "/opt/pg/bin"  # client tools kept
    assert isinstance(cache.sandbox, DockerSandbox) and cache.sandbox.image == "valkey/valkey:8.1"
    assert isinstance(rds.sandbox, LocalSandbox)  # restored by AWS: not ours to override
    local = apply_overrides(raw, sandbox="local", allow_external=False)
    assert all(isinstance(s.sandbox, LocalSandbox) for s in local.stores)
    assert apply_overrides(raw, sandbox=None, allow_external=False) is raw
    with pytest.raises(ValueError, match="choose one of local, docker"):
        apply_overrides(raw, sandbox="podman", allow_external=False)


def test_external_needs_an_explicit_opt_in() -> None:
    raw = inventory({"type": "external", "dsn": "postgresql://ci:s3cret@db.internal:5432/postgres"})
    settings = raw.stores[0].sandbox  # type: ignore[attr-defined]
    with pytest.raises(SandboxError, match=r"refusing to restore into db\.internal:5432") as caught:
        require_opt_in("db", settings, "db.internal:5432")
    assert "--allow-external-sandbox" in (caught.value.hint or "")
    opted = apply_overrides(raw, sandbox=None, allow_external=True)  # type: ignore[arg-type]
    opted_in = opted.stores[0].sandbox
    assert isinstance(opted_in, ExternalSandbox)
    require_opt_in("db", opted_in, "db.internal:5432")


def test_redis_refuses_external_before_touching_anything(tmp_path: Path) -> None:
    """Without the opt-in, an external redis server is refused before any connection (the restore into one
    is tested against a real server in tests/integration/test_external_sandbox_redis.py)."""
    from verifiers.stores.redis.settings import RedisStore
    from verifiers.timing import RestoreTimer

    external = {"type": "external", "dsn": "redis://ci@cache.invalid:6379/3"}
    redis_store = RedisStore.model_validate({"name": "c", "kind": "redis", "rto": 60, "rpo": 60, "sandbox": external,
                                             "source": {"type": "file", "path": "a.rdb"}})
    opening = redis_remote_server(redis_store, RdbHeader("REDIS", 11, None), tmp_path, RestoreTimer())
    with pytest.raises(SandboxError, match=r"refusing to restore into cache\.invalid:6379"), opening:
        pass


@pytest.fixture(autouse=True)
def _no_real_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test here may reach a real Docker engine, even where one exists."""
    def refuse(spec: ContainerSpec, timeout: float) -> FakeContainer:
        raise AssertionError("a unit test tried to make a real container")

    monkeypatch.setattr(docker_module, "testcontainers_factory", refuse)
