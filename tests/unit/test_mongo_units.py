"""MongoDB pieces without a server: metadata -> index specs and definitions, the inventory model, capture of
an existing dump, the judges, the restore command line, sandbox selection and clean-up with fakes at the
seam only, and a whole store run where no mongod exists (it must fail, naming what is missing)."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bson.int64 import Int64

from tests.mongo_support import build_archive, gz, sample
from verifiers.errors import CaptureError, InventoryError, NoSuitableServerError, SandboxError
from verifiers.inventory import parse_inventory
from verifiers.runner import plan_store, run_store
from verifiers.sandboxes import SandboxInfo
from verifiers.sandboxes.docker import ContainerSpec
from verifiers.sandboxes.process import group_alive
from verifiers.sandboxes.readiness import Readiness
from verifiers.sources.file import FileArtifacts
from verifiers.store_settings import FileSource
from verifiers.stores.mongo import docker_server as docker_mongo
from verifiers.stores.mongo.archive import CollectionEntry, open_dump
from verifiers.stores.mongo.capture import capture_mongo, redact_uri
from verifiers.stores.mongo.installations import MongodInstallation, installation
from verifiers.stores.mongo.kind import judge
from verifiers.stores.mongo.local_server import MongoServer, local_mongod
from verifiers.stores.mongo.manifest import CollectionFacts, load_manifest
from verifiers.stores.mongo.metadata import create_options, definitions, index_definition, index_specs
from verifiers.stores.mongo.restore import mongorestore_argv, redact
from verifiers.stores.mongo.sandbox import default_image
from verifiers.stores.mongo.settings import MongoStore
from verifiers.stores.restore_tool import RestoreOutcome, restore_check

USERS = CollectionEntry("app", "users", metadata={
    "indexes": [{"v": 2, "key": {"_id": 1}, "name": "_id_", "ns": "app.users"},
                {"v": 2, "key": {"email": 1, "at": -1}, "name": "email_1_at_-1", "unique": True,
                 "partialFilterExpression": {"email": {"$exists": True}}}],
    "options": {"validator": {"$jsonSchema": {"required": ["email"]}}, "validationAction": "error",
                "capped": False, "uuidHex": "ignored"}})


def test_index_specs_drop_the_automatic_id_index_and_server_fields() -> None:
    assert index_specs(USERS) == [{"key": {"email": 1, "at": -1}, "name": "email_1_at_-1", "unique": True,
                                   "partialFilterExpression": {"email": {"$exists": True}}}]


def test_create_options_keep_what_create_takes() -> None:
    assert create_options(USERS) == {"validator": {"$jsonSchema": {"required": ["email"]}},
                                     "validationAction": "error", "capped": False}


def test_index_definitions_normalise_numbers_but_keep_key_order() -> None:
    as_int = index_definition({"v": 2, "key": {"a": 1, "b": -1}, "name": "x", "expireAfterSeconds": 60})
    as_other = index_definition({"v": 1, "key": {"a": 1.0, "b": Int64(-1)}, "name": "x",
                                 "expireAfterSeconds": 60.0})
    assert as_int == as_other == '{"expireAfterSeconds": 60, "key": [["a", 1], ["b", -1]]}'
    assert index_definition({"key": {"b": -1, "a": 1}}) != index_definition({"key": {"a": 1, "b": -1}})
    defs = definitions("collection", {"validator": {"b": 1, "a": {"$gt": 2}}}, [])
    assert defs == {"type": "collection", "option validator": '{"a": {"$gt": 2}, "b": 1}'}


def facts(documents: int, checksum: str, **defs: str) -> CollectionFacts:
    return CollectionFacts(type="collection", documents=documents, checksum=checksum,
                           definitions={"type": "collection", **defs})


def store(**settings: Any) -> MongoStore:
    inventory = parse_inventory({"stores": [{"name": "m", "kind": "mongo", "rto": "1h", "rpo": "1d",
                                             "source": {"type": "file", "path": "d/*.archive.gz"}, **settings}]},
                                Path("inv.toml"))
    found = inventory.stores[0]
    assert isinstance(found, MongoStore)
    return found


def test_judge_names_each_difference() -> None:
    expected = {"app.users": facts(5, "a" * 32, **{"index email_1": '{"key": [["email", 1]]}',
                                                   "option validator": '{"x": 1}'}),
                "app.orders": facts(7, "b" * 32), "audit.events": facts(0, "0" * 32)}
    observed = {"app.users": facts(4, "c" * 32, **{"option validator": '{"x": 2}'}),
                "app.orders": facts(7, "b" * 32), "app.extra": facts(1, "d" * 32)}
    results = {(r.check, r.subject): r for r in judge(store(), expected, observed)}
    assert results[("collections", "collections")].message == "missing: audit.events; unexpected: app.extra"
    assert results[("document_count", "app.users")].message == "4 documents restored, expected 5 (-1)"
    assert not results[("checksum", "app.users")].passed
    schema = results[("schema", "app.users")].message
    assert "app.users: index email_1 dropped" in schema and "app.users: option validator changed" in schema
    assert results[("document_count", "app.orders")].passed and results[("checksum", "app.orders")].passed
    assert results[("document_count", "audit.events")].message == "audit.events is missing after restore"


def test_collection_globs_narrow_the_checks() -> None:
    expected = {"app.users": facts(5, "a" * 32), "audit.events": facts(0, "0" * 32)}
    results = judge(store(collections={"include": ["app.*"]}), expected, {"app.users": facts(5, "a" * 32)})
    assert all(r.passed for r in results) and {r.subject for r in results} == {"collections", "app.users"}


def test_inventory_filters() -> None:
    parsed = store(filters=[{"name": "paid orders", "collection": "app.orders", "filter": {"total": {"$gt": 0}},
                             "min": 3},
                            {"name": "no test users", "collection": "app.users",
                             "filter": '{"at": {"$gte": {"$date": "2026-01-01T00:00:00Z"}}}', "min": 0, "max": 0}])
    assert parsed.suite_name == "mongo"
    assert parsed.filters[0].query() == {"total": {"$gt": 0}}
    assert parsed.filters[1].query()["at"]["$gte"].year == 2026  # Extended JSON types: a real date


@pytest.mark.parametrize(("settings", "message"), [
    ({"filters": [{"name": "x", "collection": "app.o", "filter": "{oops"}]}, "`filter` is not Extended JSON"),
    ({"filters": [{"name": "x", "collection": "orders"}]}, "stores[0].filters[0].collection"),
    ({"filters": [{"name": "x", "collection": "a.b", "min": 3, "max": 1}]}, "max (1) is below min (3)"),
    ({"assertions": [{"name": "x", "sql": "SELECT 1", "expect": 1}]}, "use `filters`"),
])
def test_inventory_errors(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(InventoryError) as err:
        store(**settings)
    assert message in str(err.value)


@pytest.mark.parametrize(("uri", "shown"), [
    ("mongodb://backup:s3cret@db:27017/app?authSource=admin", "mongodb://backup:***@db:27017/app?authSource=admin"),
    ("mongodb+srv://u:p%40ss@cluster0.example.net/", "mongodb+srv://u:***@cluster0.example.net/"),
    ("mongodb://db/?tlsCertificateKeyFilePassword=pw&w=1", "mongodb://db/?tlsCertificateKeyFilePassword=***&w=1"),
    ("mongodb://db:27017", "mongodb://db:27017"),
])
def test_redact_uri(uri: str, shown: str) -> None:
    assert redact_uri(uri) == shown


def test_capture_refuses_a_bad_uri_without_echoing_the_password(tmp_path: Path) -> None:
    with pytest.raises(CaptureError) as err:
        capture_mongo("postgres://u:hunter2@db/app", tmp_path)
    assert "hunter2" not in err.value.describe() and "not a mongodb://" in err.value.describe()
    assert list(tmp_path.iterdir()) == []


def test_capture_from_an_existing_dump_writes_the_manifest_the_store_finds(tmp_path: Path) -> None:
    archive = tmp_path / "app-20261126T020000Z.archive.gz"
    archive.write_bytes(gz(build_archive(sample())))
    _, manifest_path = capture_mongo(None, None, from_dump=archive)
    assert manifest_path == tmp_path / "app-20261126T020000Z.manifest.json"
    manifest = load_manifest(manifest_path, store="m")
    assert manifest.server_version == "7.0.5" and manifest.artifact.format == "archive.gz"
    assert manifest.collections["app.users"].documents == 5
    source = store(source={"type": "file", "path": str(tmp_path / "app-*")}).source
    assert isinstance(source, FileSource)
    located = FileArtifacts().locate(source, base_dir=tmp_path, store="m")
    assert located.manifest_path == manifest_path
    with pytest.raises(CaptureError, match="refusing to overwrite"):
        capture_mongo(None, None, from_dump=archive)


def write_backup(tmp_path: Path, data: bytes) -> Path:
    backups = tmp_path / "backups"
    backups.mkdir()
    archive = backups / "app-20261126T020000Z.archive.gz"
    archive.write_bytes(data)
    capture_mongo(None, None, from_dump=archive)
    return archive


@pytest.fixture
def no_mongod(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # nothing found there, even where a mongod is installed
    monkeypatch.delenv("RESTOREPROOF_MONGO_BIN_DIR", raising=False)
    assert installation_missing()


def installation_missing() -> bool:
    try:
        installation(None)
    except NoSuitableServerError:
        return True
    return False


def test_a_store_without_any_mongod_fails_and_says_what_to_install(tmp_path: Path, no_mongod: None) -> None:
    write_backup(tmp_path, gz(build_archive(sample())))
    mongo_store = store(source={"type": "file", "path": "backups/app-*.archive.gz"})
    outcome = run_store(plan_store(mongo_store, tmp_path))
    assert outcome.status == "failed"
    by_check = {(c.check, c.subject): c for c in outcome.checks}
    assert by_check[("artifact", "app-20261126T020000Z.archive.gz")].passed
    restore = by_check[("restore", "restore")]
    assert not restore.passed and "no mongod found" in restore.message and "docker" in restore.message
    assert not by_check[("checksum", "app.users")].passed
    assert by_check[("checksum", "app.users")].message.startswith("not verified")


def test_a_damaged_archive_fails_its_restore_check_without_a_server(tmp_path: Path) -> None:
    archive = write_backup(tmp_path, gz(build_archive(sample())))
    archive.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    outcome = run_store(plan_store(store(source={"type": "file", "path": "backups/*.archive.gz"}), tmp_path))
    by_check = {(c.check, c.subject): c for c in outcome.checks}
    assert outcome.status == "failed"
    assert not by_check[("artifact", archive.name)].passed
    assert "not a mongodump archive (it is a PNG image)" in by_check[("restore", "restore")].message


def test_restore_check_and_redaction() -> None:
    line = 'E11000 duplicate key error collection: app.users index: email_1 dup key: { email: "a@b.c" }'
    assert "a@b.c" not in redact(line) and "email_1" in redact(line)
    bad = RestoreOutcome(tool="pymongo", exit_code=1, error_lines=[redact(line)])
    result = restore_check(bad, "x.archive.gz")
    assert not result.passed and "a@b.c" not in result.message
    assert restore_check(RestoreOutcome(tool="pymongo"), "x").passed


def test_mongorestore_command_line_keeps_the_password_off_it(tmp_path: Path) -> None:
    archive = tmp_path / "x.archive.gz"
    archive.write_bytes(gz(build_archive(sample())))
    server = MongoServer(uri="mongodb://127.0.0.1:1/", username="restoreproof", password="s3cret",
                         info=SandboxInfo("docker", "mongodb", "7.0"))
    argv = mongorestore_argv(Path("/bin/mongorestore"), server, open_dump(archive), tmp_path / "c.yaml")
    assert "s3cret" not in " ".join(argv)
    assert {"--gzip", f"--archive={archive}", "--username=restoreproof", f"--config={tmp_path / 'c.yaml'}"} <= set(argv)
    assert "--nsExclude=admin.system.users" in argv


def test_default_image_follows_the_dump() -> None:
    from verifiers.stores.mongo.manifest import MongoManifest

    def manifest(version: str | None) -> MongoManifest:
        return MongoManifest.model_validate({
            "tool_version": "x", "captured_at": "2026-11-26T00:00:00Z", "source": "s", "method": "m",
            "consistency": "c", "server_version": version, "collections": {},
            "artifact": {"name": "a", "sha256": "0" * 64, "bytes": 1, "format": "archive"}})

    assert default_image(manifest("7.0.14")) == "mongo:7.0"
    assert default_image(manifest(None)) == "mongo:latest"


class FakeContainer:
    """The seam of verifiers/sandboxes/docker.py: the part of testcontainers' DockerContainer it uses."""

    def __init__(self, spec: ContainerSpec, *, fail_start: bool = False) -> None:
        self.spec = spec
        self.fail_start = fail_start
        self.events: list[str] = []
        self.status = "created"

    def start(self) -> FakeContainer:
        self.events.append("start")
        if self.fail_start:
            raise RuntimeError("Cannot connect to the Docker daemon")
        self.status = "running"
        return self

    def get_container_host_ip(self) -> str:
        return "127.0.0.1"

    def get_exposed_port(self, port: int) -> str:
        return "1"

    def get_logs(self) -> tuple[bytes, bytes]:
        return b"Waiting for connections\n", b""

    def reload(self) -> None:
        pass

    def stop(self) -> None:
        self.events.append("stop")


def factory(made: list[FakeContainer], **behaviour: Any) -> Any:
    def make(spec: ContainerSpec, timeout: float) -> FakeContainer:
        made.append(FakeContainer(spec, **behaviour))
        return made[-1]
    return make


@pytest.fixture
def containers(monkeypatch: pytest.MonkeyPatch) -> list[FakeContainer]:
    monkeypatch.setattr(docker_mongo, "ping_server", lambda server: True)
    monkeypatch.setattr(docker_mongo, "_version", lambda server: "7.0.14")
    return []


def test_docker_sandbox_lifecycle(containers: list[FakeContainer]) -> None:
    with docker_mongo.docker_mongod("mongo:7.0", readiness=Readiness(timeout=1),
                                    factory=factory(containers)) as server:
        assert server.info.record() == {"type": "docker", "engine": "mongodb", "version": "7.0.14",
                                        "image": "mongo:7.0"}
        assert server.password and server.password not in server.uri and server.username == "restoreproof"
        spec = containers[0].spec
        assert spec.ports == (27017,) and spec.env["MONGO_INITDB_ROOT_PASSWORD"] == server.password
        assert containers[0].events == ["start"]
    assert containers[0].events == ["start", "stop"]


def test_docker_sandbox_is_removed_when_the_body_fails(containers: list[FakeContainer]) -> None:
    with pytest.raises(KeyboardInterrupt), docker_mongo.docker_mongod(
            "mongo:7.0", readiness=Readiness(timeout=1), factory=factory(containers)):
        raise KeyboardInterrupt
    assert containers[0].events == ["start", "stop"]


def test_docker_start_failure_is_a_sandbox_error_and_cleans_up(containers: list[FakeContainer]) -> None:
    with pytest.raises(SandboxError, match=r"cannot start a mongo:6\.0 container.*Docker daemon") as err, \
            docker_mongo.docker_mongod("mongo:6.0", readiness=Readiness(timeout=1),
                                       factory=factory(containers, fail_start=True)):
        pass
    assert 'sandbox = "local"' in err.value.describe()
    assert containers[0].events == ["start", "stop"]


def test_docker_never_ready_is_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[FakeContainer] = []
    monkeypatch.setattr(docker_mongo, "ping_server", lambda server: False)
    with pytest.raises(SandboxError, match=r"(?s)mongo:7\.0 container was not ready.*Waiting for connections"), \
            docker_mongo.docker_mongod("mongo:7.0", readiness=Readiness(timeout=0.2), factory=factory(made)):
        pass
    assert made[0].events == ["start", "stop"]


def test_store_sandbox_selection(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`sandbox = "docker"` opens a container of the dump's release; `external` needs a MongoDB URI, and without
    the opt-in it is refused before any connection (the rest: tests/unit/test_mongo_external.py)."""
    from verifiers.stores.mongo import sandbox as mongo_sandbox_module

    opened: list[str] = []

    @contextlib.contextmanager
    def fake_docker(image: str, *, readiness: Readiness) -> Iterator[MongoServer]:
        opened.append(image)
        yield MongoServer(uri="mongodb://x/", info=SandboxInfo("docker", "mongodb", "7.0"))

    monkeypatch.setattr(docker_mongo, "docker_mongod", fake_docker)
    archive = write_backup(tmp_path, gz(build_archive(sample())))
    manifest = load_manifest(archive.with_name("app-20261126T020000Z.manifest.json"), store="m")
    with mongo_sandbox_module.open_sandbox(store(sandbox="docker"), manifest) as server:
        assert server.info.type == "docker"
    with mongo_sandbox_module.open_sandbox(store(sandbox={"type": "docker", "image": "mongo:8.0"}), manifest):
        pass
    assert opened == ["mongo:7.0", "mongo:8.0"]
    with pytest.raises(InventoryError, match="external sandbox of a mongo store needs a mongodb://"):
        store(sandbox={"type": "external", "dsn": "postgresql://x/"})
    external = store(sandbox={"type": "external", "url": "mongodb://ci:s3cret@mongo.invalid:27017/"})
    with pytest.raises(SandboxError, match=r"refusing to restore into mongo\.invalid:27017") as refused, \
            mongo_sandbox_module.open_sandbox(external, manifest, ["app"]):
        pass
    assert "s3cret" not in refused.value.describe()


def test_local_mongod_that_never_gets_ready_is_stopped_and_removed() -> None:
    """A stand-in mongod (a script that prints its version, then hangs): the harness's own clean-up path, with a
    real process group and dbpath, no MongoDB involved."""
    bin_dir = Path(tempfile.mkdtemp(prefix="restoreproof-test-bin-"))
    try:
        bin_dir.chmod(0o755)
        script = bin_dir / "mongod"
        script.write_text('#!/bin/sh\nif [ "$1" = "--version" ]; then echo "db version v7.0.5"; exit 0; fi\n'
                          f'echo "starting"; exec sleep {SLEEP}\n')
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        found = installation(str(bin_dir))
        assert found == MongodInstallation(mongod=script, version="7.0.5")
        seen: dict[str, Any] = {}
        start = time.monotonic()
        with pytest.raises(SandboxError, match="was not ready after 1s; its log ends:\nstarting"), \
                local_mongod(found, readiness=Readiness(timeout=1)) as server:
            seen["server"] = server  # never reached
        assert time.monotonic() - start < 30 and not seen
        leftovers = [p for p in Path(tempfile.gettempdir()).glob("restoreproof-mongo-*")]
        assert leftovers == []
        assert not any(group_alive(int(pid)) for pid in _sleepers(script))
    finally:
        for child in bin_dir.iterdir():
            child.unlink()
        bin_dir.rmdir()


# this test's stand-in sleeps for a duration no other test's does (under xdist, other tests' stand-ins run too)
SLEEP = f"60.{os.getpid()}"


def _sleepers(script: Path) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"sleep\x00{SLEEP}\x00".encode() in (entry / "cmdline").read_bytes():
                    found.append(entry.name)
            except OSError:
                continue
    return found


def test_unknown_bin_dir_names_where_it_looked(no_mongod: None) -> None:
    with pytest.raises(NoSuitableServerError, match="no mongod found \\(looked in /nowhere, "):
        installation("/nowhere")
    assert os.environ["PATH"].endswith("empty-bin")  # the fixture hid every other directory


def test_unique_that_changes_nothing_is_not_a_difference() -> None:
    """mongoeco 4.11 lists `unique: true` on `_id_` and `unique: false` on other indexes; mongod lists neither
    (issue 26). Both say what the index already is; a unique index still differs from a plain one."""
    assert index_definition({"key": {"_id": 1}, "name": "_id_", "unique": True}) == \
        index_definition({"key": {"_id": 1}, "name": "_id_"})
    assert index_definition({"key": {"a": 1}, "name": "a_1", "unique": False}) == \
        index_definition({"key": {"a": 1}, "name": "a_1"})
    assert index_definition({"key": {"a": 1}, "name": "a_1", "unique": True}) != \
        index_definition({"key": {"a": 1}, "name": "a_1"})


def test_a_manifest_written_before_idle_unique_was_dropped_still_matches() -> None:
    """A manifest from before issue 26 kept `unique: false` of an index created with it (and mongoeco's `unique: true`
    on `_id_`); the same indexes measured now omit both. They are the same indexes: no schema difference. A unique
    index recorded so still differs from the plain one restored."""
    old_form = {"index _id_": '{"key": [["_id", 1]], "unique": true}',
                "index a_1": '{"key": [["a", 1]], "unique": false}',
                "index b_1": '{"key": [["b", 1]], "unique": true}'}
    expected = {"app.users": facts(5, "a" * 32, **old_form)}
    now = definitions("collection", {}, [{"key": {"_id": 1}, "name": "_id_"}, {"key": {"a": 1}, "name": "a_1"},
                                         {"key": {"b": 1}, "name": "b_1"}])
    observed = {"app.users": CollectionFacts(type="collection", documents=5, checksum="a" * 32, definitions=now)}
    schema = {r.subject: r for r in judge(store(), expected, observed) if r.check == "schema"}["app.users"]
    assert not schema.passed and schema.message.startswith("app.users: index b_1 changed (was:")
    assert not any(label in schema.message for label in ("_id_", "a_1"))
