"""The `external` sandbox of a mongo store without a server: the namespace map (source db -> scratch db), the
scratch names, the mongorestore command line and its config file (a stand-in mongorestore script), the refusal
without opt-in, and the create/mark/drop discipline with a fake client at the pymongo seam only. The restore
into a real server is tested in tests/integration/test_mongo_server.py (wherever mongod or Docker exists)."""

from __future__ import annotations

import contextlib
import logging
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import SecretStr
from pymongo.errors import CollectionInvalid, OperationFailure, ServerSelectionTimeoutError

from tests.mongo_support import build_archive, gz, sample
from verifiers.errors import InventoryError, SandboxError
from verifiers.inventory import parse_inventory
from verifiers.sandboxes import SandboxInfo, external
from verifiers.sandboxes.readiness import Readiness
from verifiers.sandboxes.selection import apply_overrides
from verifiers.store_settings import ExternalSandbox
from verifiers.stores.mongo.archive import open_dump
from verifiers.stores.mongo.external_server import (
    MARKER_COLLECTION,
    ExternalMongo,
    external_mongod,
    target_of,
)
from verifiers.stores.mongo.kind import run_filter
from verifiers.stores.mongo.local_server import MongoServer
from verifiers.stores.mongo.namespaces import MAX_DB_NAME_BYTES, NamespaceMap, valid_db_name
from verifiers.stores.mongo.restore import dump_databases, mongorestore_argv, restore_with_mongorestore
from verifiers.stores.mongo.settings import MongoFilter, MongoStore

URI = "mongodb://ci:s3cr%2Ft@mongo.invalid:27017/?authSource=admin"
SECRETS = ("s3cr%2Ft", "s3cr/t")


# --- the namespace map ---------------------------------------------------------------------------------------

def test_the_identity_map_keeps_every_name() -> None:
    same = NamespaceMap()
    assert same.server_db("app") == "app" and same.source_db("anything") == "anything"
    assert same.server_databases(["b", "a"]) == ["a", "b"]
    assert same.mongorestore_args() == [] and same.reword("app.users") == "app.users" and not same.empty


def test_a_renamed_map_knows_only_its_databases() -> None:
    names = NamespaceMap.renamed([("app", "restoreproof_scratch_aa"), ("audit", "restoreproof_scratch_bb")],
                                 hidden=[MARKER_COLLECTION])
    assert names.server_db("app") == "restoreproof_scratch_aa" and names.server_db("prod") is None
    assert names.source_db("restoreproof_scratch_bb") == "audit" and names.source_db("app") is None
    # what the server lists is not even looked at: only the scratch databases are measured
    assert names.server_databases(["prod", "admin"]) == ["restoreproof_scratch_aa", "restoreproof_scratch_bb"]
    assert MARKER_COLLECTION in names.hidden
    assert names.reword("E11000 collection: restoreproof_scratch_aa.users index: email_1") == \
        "E11000 collection: app.users index: email_1"
    assert names.describe() == "app -> restoreproof_scratch_aa, audit -> restoreproof_scratch_bb"


def test_mongorestore_restores_only_the_mapped_databases_renamed() -> None:
    names = NamespaceMap.renamed([("app", "restoreproof_scratch_aa"), ("we*rd", "restoreproof_scratch_bb")])
    assert names.mongorestore_args() == [
        "--nsInclude=app.*", "--nsInclude=we\\*rd.*",
        "--nsFrom=app.*", "--nsTo=restoreproof_scratch_aa.*",
        "--nsFrom=we\\*rd.*", "--nsTo=restoreproof_scratch_bb.*"]
    nothing = NamespaceMap.renamed([])
    assert nothing.empty
    with pytest.raises(ValueError, match="restores nothing"):  # no --nsInclude would restore everything
        nothing.mongorestore_args()


@pytest.mark.parametrize("pairs", [[("a", "x"), ("b", "x")], [("a", "x"), ("a", "y")], [("a", "bad.name")],
                                   [("a", "x" * (MAX_DB_NAME_BYTES + 1))], [("a", "with space")]])
def test_a_map_refuses_what_mongodb_would(pairs: list[tuple[str, str]]) -> None:
    with pytest.raises(ValueError, match=r"namespace map pairs|not a valid MongoDB database name"):
        NamespaceMap.renamed(pairs)


def test_scratch_names_are_valid_unique_database_names() -> None:
    names = {external.new_scratch_name() for _ in range(50)}
    try:
        assert len(names) == 50
        assert all(valid_db_name(n) and n.startswith(external.SCRATCH_PREFIX) for n in names)
        assert all(len(n.encode()) <= MAX_DB_NAME_BYTES for n in names)
    finally:
        for name in names:
            external.forget(name)
    assert not valid_db_name("a/b") and not valid_db_name("a$b") and not valid_db_name("")


def test_a_filter_on_a_database_the_backup_lacks_never_reads_the_server() -> None:
    names = NamespaceMap.renamed([("app", "restoreproof_scratch_aa")])
    untouchable: Any = object()  # any use of it would raise
    result = run_filter(untouchable, MongoFilter(name="prod users", collection="prod.users"), names)
    assert (result.passed, result.observed) == (False, 0)
    result = run_filter(untouchable, MongoFilter(name="none", collection="prod.users", min=0), names)
    assert result.passed


def test_the_target_never_shows_the_login() -> None:
    assert target_of(URI) == "mongo.invalid:27017"
    assert target_of("mongodb://u:p@a:1,b:2/?replicaSet=rs") == "a:1,b:2"
    assert target_of("mongodb+srv://u:p@cluster.example.net/") == "cluster.example.net (srv)"


# --- the inventory -------------------------------------------------------------------------------------------

def mongo_store(sandbox: Any) -> MongoStore:
    found = parse_inventory({"stores": [{"name": "docs", "kind": "mongo", "rto": "1h", "rpo": "1d", "sandbox": sandbox,
                                         "source": {"type": "file", "path": "d/*.archive.gz"}}]},
                            Path("inv.toml")).stores[0]
    assert isinstance(found, MongoStore)
    return found


def test_the_inventory_accepts_an_external_mongo_server() -> None:
    store = mongo_store({"type": "external", "url": URI})
    assert isinstance(store.sandbox, ExternalSandbox) and not store.sandbox.allow_external
    assert "s3cr" not in repr(store)
    assert mongo_store({"type": "external", "dsn": "mongodb+srv://ci@cluster.example.net/",
                        "allow_external": True}).sandbox.type == "external"
    opted = apply_overrides(parse_inventory({"stores": [store.model_dump(mode="json") | {
        "sandbox": {"type": "external", "url": URI}}]}, Path("inv.toml")), sandbox=None, allow_external=True)
    assert isinstance(opted.stores[0].sandbox, ExternalSandbox) and opted.stores[0].sandbox.allow_external


def test_the_inventory_refuses_a_uri_that_is_not_mongodb() -> None:
    with pytest.raises(InventoryError, match="needs a mongodb:// or mongodb\\+srv:// URI"):
        mongo_store({"type": "external", "url": "postgresql://ci@db/postgres"})


# --- the sandbox, with a fake client at the pymongo seam -----------------------------------------------------

class FakeServer:
    """What the fake clients share: databases of collections of documents, and what was done to them."""

    def __init__(self, databases: dict[str, dict[str, list[dict[str, Any]]]] | None = None) -> None:
        self.databases = databases or {}
        self.uris: list[str] = []
        self.dropped: list[str] = []
        self.open = 0
        self.down = False
        self.race: str | None = None  # a database someone else creates between our listing and our create
        self.creatable: int | None = None  # how many databases may be created before the server refuses
        self.lists = True  # False: listDatabases refused, as mongoeco 4.11 does once a Decimal128 is stored

    def connect(self, uri: str, **options: Any) -> Any:  # a FakeClient where pymongo gives a MongoClient
        self.uris.append(uri)
        assert options["appname"] == "restoreproof" and "directConnection" not in options
        self.open += 1
        return FakeClient(self)

    def scratch(self) -> list[str]:
        return sorted(n for n in self.databases if n.startswith(external.SCRATCH_PREFIX))


class FakeClient:
    def __init__(self, server: FakeServer) -> None:
        self.server = server

    def _up(self) -> None:
        if self.server.down:
            raise ServerSelectionTimeoutError(f"{URI}: [Errno 111] Connection refused")

    @property
    def admin(self) -> FakeClient:
        return self

    def command(self, name: str) -> dict[str, Any]:  # only admin's buildInfo (engine.server_engine)
        assert name == "buildInfo"
        self._up()
        return {"version": "7.0.14", "gitVersion": "ce59cfc6a3c5e5c067dca0d30697edd68d4f5188", "ok": 1.0}

    def list_database_names(self) -> list[str]:
        self._up()
        if not self.server.lists:
            raise OperationFailure("$bsonSize cannot encode value of type Decimal128")
        return sorted(self.server.databases)

    def __getitem__(self, name: str) -> FakeDatabase:
        return FakeDatabase(self.server, name)

    def drop_database(self, name: str) -> None:
        self._up()
        self.server.databases.pop(name, None)
        self.server.dropped.append(name)

    def close(self) -> None:
        self.server.open -= 1


class FakeDatabase:
    def __init__(self, server: FakeServer, name: str) -> None:
        self.server, self.name = server, name

    def create_collection(self, name: str, *, check_exists: bool) -> None:
        assert check_exists
        if self.server.creatable is not None:
            if self.server.creatable == 0:
                raise OperationFailure("not authorized on restoreproof_scratch_x to execute command { create }",
                                       code=13, details={"codeName": "Unauthorized"})
            self.server.creatable -= 1
        if self.server.race == self.name:
            self.server.databases.setdefault(self.name, {})[name] = []
        collections = self.server.databases.setdefault(self.name, {})
        if name in collections:
            raise CollectionInvalid(f"collection {name} already exists")
        collections[name] = []

    def list_collection_names(self) -> list[str]:
        return sorted(self.server.databases.get(self.name, {}))

    def __getitem__(self, name: str) -> FakeCollection:
        return FakeCollection(self.server, self.name, name)


class FakeCollection:
    def __init__(self, server: FakeServer, db: str, name: str) -> None:
        self.server, self.db, self.name = server, db, name

    def insert_one(self, document: dict[str, Any]) -> None:
        self.server.databases.setdefault(self.db, {}).setdefault(self.name, []).append(dict(document))

    def find(self, query: dict[str, Any], *, limit: int) -> list[dict[str, Any]]:
        assert query == {}
        return list(self.server.databases.get(self.db, {}).get(self.name, []))[:limit]


def settings(**extra: Any) -> Any:
    return mongo_store({"type": "external", "url": URI, **extra}).sandbox


def opening(server: FakeServer, databases: list[str], **extra: Any) -> contextlib.AbstractContextManager[
        ExternalMongo]:
    return external_mongod("docs", settings(**extra), databases, readiness=Readiness(timeout=1),
                           connect=server.connect)


def marker_of(server: FakeServer, name: str) -> str:
    return str(server.databases[name][MARKER_COLLECTION][0]["marker"])


def test_without_opt_in_nothing_is_even_connected_to() -> None:
    server = FakeServer()
    with pytest.raises(SandboxError, match=r"refusing to restore into mongo\.invalid:27017") as refused, \
            opening(server, ["app"]):
        pass
    assert "--allow-external-sandbox" in (refused.value.hint or "")
    assert server.uris == [] and not any(s in refused.value.describe() for s in SECRETS)


def test_one_marked_scratch_database_per_database_all_dropped_after() -> None:
    server = FakeServer({"prod": {"users": [{"_id": 1}]}})
    with opening(server, ["audit", "app", "app"], allow_external=True) as sandbox:
        scratch = server.scratch()
        assert len(scratch) == 2 and set(server.databases) == {"prod", *scratch}
        names = sandbox.namespaces
        assert {names.server_db("app"), names.server_db("audit")} == set(scratch) and names.server_db("prod") is None
        for name in scratch:
            assert marker_of(server, name) == external.marker(name)
            assert server.databases[name][MARKER_COLLECTION][0]["marker"].startswith(external.MARKER_PREFIX)
        assert MARKER_COLLECTION in names.hidden
        record = sandbox.info.record()
        assert record["type"] == "external" and record["version"] == "7.0.14"
        assert record["target"] == "mongo.invalid:27017" and "app -> restoreproof_scratch_" in record["databases"]
        assert not any(s in repr(sandbox) + str(record) + sandbox.uri for s in SECRETS)
        assert sandbox.uri == "mongodb://mongo.invalid:27017/"
        assert sandbox.tool_connection() == ([], {"uri": URI})  # the whole URI only in the 0600 config file
    assert sorted(server.dropped) == scratch and server.scratch() == []
    assert server.databases == {"prod": {"users": [{"_id": 1}]}}
    assert server.uris == [URI] * 2 and server.open == 0
    with pytest.raises(SandboxError, match="this run did not create it"):  # forgotten once dropped
        external.ensure_ours("docs", scratch[0], None, "x")


def run_then(server: FakeServer, databases: list[str], body: Callable[[ExternalMongo], None]) -> None:
    """Open the sandbox (opted in), run `body` while it is open, leave it."""
    with opening(server, databases, allow_external=True) as sandbox:
        body(sandbox)


def fail_with(error: BaseException) -> Callable[[ExternalMongo], None]:
    def body(sandbox: ExternalMongo) -> None:
        raise error
    return body


@pytest.mark.parametrize("error", [RuntimeError("restore blew up"), KeyboardInterrupt()])
def test_a_failing_or_interrupted_run_still_drops_its_databases(error: BaseException) -> None:
    server = FakeServer()
    seen: list[str] = []

    def body(sandbox: ExternalMongo) -> None:
        seen.extend(server.scratch())
        raise error

    with pytest.raises(type(error)):
        run_then(server, ["app", "audit"], body)
    assert len(seen) == 2 and server.scratch() == [] and sorted(server.dropped) == seen


def test_refuses_to_drop_a_database_whose_marker_changed() -> None:
    server = FakeServer()
    opened: list[ExternalMongo] = []

    def someone_else_claims_it(sandbox: ExternalMongo) -> None:
        opened.append(sandbox)
        server.databases[str(sandbox.namespaces.server_db("app"))][MARKER_COLLECTION][0]["marker"] = "not ours"

    with pytest.raises(SandboxError, match=r"refusing to drop scratch database .* not the one this run wrote"):
        run_then(server, ["app", "audit"], someone_else_claims_it)
    names = opened[0].namespaces
    assert server.scratch() == [names.server_db("app")] and server.dropped == [names.server_db("audit")]


def test_refuses_to_drop_a_database_whose_marker_is_gone_and_keeps_an_earlier_error(
        caplog: pytest.LogCaptureFixture) -> None:
    server = FakeServer()

    def marker_removed_then_failed(sandbox: ExternalMongo) -> None:
        claimed = str(sandbox.namespaces.server_db("app"))
        server.databases[claimed][MARKER_COLLECTION].clear()
        server.databases[claimed]["users"] = [{"_id": 1}]
        raise RuntimeError("the restore's own error")

    with caplog.at_level(logging.ERROR), pytest.raises(RuntimeError, match="the restore's own error"):
        run_then(server, ["app"], marker_removed_then_failed)
    assert len(server.scratch()) == 1 and server.dropped == []
    assert "its marker is missing" in caplog.text


def test_a_scratch_database_already_gone_is_only_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    server = FakeServer()

    def gone(sandbox: ExternalMongo) -> None:
        del server.databases[str(sandbox.namespaces.server_db("app"))]

    with caplog.at_level(logging.WARNING):
        run_then(server, ["app"], gone)
    assert "was already gone" in caplog.text and server.dropped == []


def fixed_names(monkeypatch: pytest.MonkeyPatch, token: str) -> str:
    monkeypatch.setattr(external, "secrets", SimpleNamespace(token_hex=lambda n: token))
    return external.SCRATCH_PREFIX + token


@pytest.mark.parametrize("lists", [True, False], ids=["listDatabases", "asked-per-name"])
def test_refuses_a_scratch_name_the_server_already_has(monkeypatch: pytest.MonkeyPatch, lists: bool) -> None:
    taken = fixed_names(monkeypatch, "0123456789ab")
    server = FakeServer({taken: {"theirs": [{"_id": 1}]}})
    server.lists = lists
    with pytest.raises(SandboxError, match=f"database {taken} already exists on mongo.invalid:27017"), \
            opening(server, ["app"], allow_external=True):
        pass
    assert server.databases == {taken: {"theirs": [{"_id": 1}]}} and server.dropped == []


def test_a_database_that_appears_while_creating_is_not_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    raced = fixed_names(monkeypatch, "ba9876543210")
    server = FakeServer()
    server.race = raced
    with pytest.raises(SandboxError, match=r"appeared on .* while restoreproof was creating it"), \
            opening(server, ["app"], allow_external=True):
        pass
    assert server.dropped == [] and raced in server.databases


def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    server = FakeServer()
    server.down = True
    with pytest.raises(SandboxError, match="cannot create a scratch database on the external server "
                       r"mongo\.invalid:27017") as failed, opening(server, ["app"], allow_external=True):
        pass
    assert not any(s in failed.value.describe() for s in SECRETS) and server.dropped == [] and server.open == 0


def test_a_uri_that_is_not_mongodb_is_refused_before_connecting() -> None:
    store_settings = settings(allow_external=True).model_copy(update={"dsn": SecretStr("redis://cache:6379")})
    server = FakeServer()
    with pytest.raises(SandboxError, match="must be a mongodb:// or mongodb\\+srv:// URI"), external_mongod(
            "docs", store_settings, ["app"], readiness=Readiness(timeout=1), connect=server.connect):
        pass
    assert server.uris == []


# --- mongorestore on the external server (a stand-in script: the tool's side, no server) ---------------------

def external_server() -> ExternalMongo:
    names = NamespaceMap.renamed([("app", "restoreproof_scratch_aa"), ("audit", "restoreproof_scratch_bb")],
                                 hidden=[MARKER_COLLECTION])
    return ExternalMongo(uri="mongodb://mongo.invalid:27017/", secret_uri=URI, namespaces=names,
                         info=SandboxInfo("external", "mongodb", "7.0.14"))


def test_mongorestore_gets_the_uri_only_through_its_config_file(tmp_path: Path) -> None:
    archive = tmp_path / "x.archive.gz"
    archive.write_bytes(gz(build_archive(sample())))
    dump = open_dump(archive)
    assert dump_databases(dump) == ["app", "audit"]
    argv = mongorestore_argv(Path("/bin/mongorestore"), external_server(), dump, tmp_path / "c.yaml")
    assert not any(a.startswith(("--uri", "--username")) for a in argv) and not any(s in " ".join(argv)
                                                                                   for s in SECRETS)
    assert {"--nsInclude=app.*", "--nsFrom=app.*", "--nsTo=restoreproof_scratch_aa.*", "--nsInclude=audit.*",
            "--nsExclude=admin.system.users", f"--config={tmp_path / 'c.yaml'}"} <= set(argv)
    local = MongoServer(uri="mongodb://127.0.0.1:1/", info=SandboxInfo("local", "mongodb", "7.0"))
    assert "--uri=mongodb://127.0.0.1:1/" in mongorestore_argv(Path("/bin/mongorestore"), local, dump)
    assert not any(a.startswith("--ns") and "Exclude" not in a for a in mongorestore_argv(
        Path("/bin/mongorestore"), local, dump))


@pytest.fixture
def stand_in_mongorestore() -> Iterator[Path]:
    """A `mongorestore` that copies its --config file aside (with its mode) and logs like the real one."""
    bin_dir = Path(tempfile.mkdtemp(prefix="restoreproof-test-bin-"))
    script = bin_dir / "mongorestore"
    script.write_text('#!/bin/sh\nfor a in "$@"; do case "$a" in --config=*) c="${a#--config=}";; esac; done\n'
                      f'stat -c %a "$c" > {bin_dir}/mode; cp "$c" {bin_dir}/seen.yaml\n'
                      'echo "2026-11-27T00:00:00.000+0000\tE11000 duplicate key error collection: '
                      'restoreproof_scratch_aa.users index: email_1 dup key: { email: \\"a@b.c\\" }"\nexit 1\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    try:
        yield script
    finally:
        for child in bin_dir.iterdir():
            child.unlink()
        bin_dir.rmdir()


def test_mongorestore_config_file_is_private_and_removed(stand_in_mongorestore: Path, tmp_path: Path) -> None:
    archive = tmp_path / "x.archive.gz"
    archive.write_bytes(gz(build_archive(sample())))
    outcome = restore_with_mongorestore(stand_in_mongorestore, external_server(), open_dump(archive), timeout=30,
                                        log_dir=tmp_path)
    seen = stand_in_mongorestore.parent
    assert (seen / "mode").read_text().strip() == "600"
    assert (seen / "seen.yaml").read_text() == f'uri: "{URI}"\n'
    assert not (tmp_path / "mongorestore.yaml").exists()  # gone once the tool ran
    assert outcome.exit_code == 1
    # the error names the backup's own namespace, never the scratch one, and no value
    assert outcome.error_lines == ['E11000 duplicate key error collection: app.users index: email_1 dup key: '
                                   '{<redacted>}']


def test_a_malformed_uri_is_a_clear_error_without_the_password() -> None:
    """pymongo's own parser (no fake, no network): the URI is refused before anything is created."""
    bad = settings(allow_external=True).model_copy(update={"dsn": SecretStr("mongodb://ci:hunter2@mongo:notaport/")})
    with pytest.raises(SandboxError, match=r"sandbox\.dsn is not a usable MongoDB URI: Port") as failed, \
            external_mongod("docs", bad, ["app"], readiness=Readiness(timeout=1)):
        pass
    assert "hunter2" not in failed.value.describe()


def test_a_creation_that_fails_half_way_drops_what_it_created() -> None:
    server = FakeServer()
    server.creatable = 1
    with pytest.raises(SandboxError, match=r"cannot create a scratch database .*not authorized") as failed, \
            opening(server, ["app", "audit"], allow_external=True):
        pass
    assert "readWriteAnyDatabase" in (failed.value.hint or "")
    assert len(server.dropped) == 1 and server.scratch() == [] and server.open == 0
