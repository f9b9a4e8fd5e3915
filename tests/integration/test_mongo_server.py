"""MongoDB against a real server: capture (pymongo export, and mongodump when installed), restore (pymongo,
and mongorestore when installed) into a fresh sandbox, verify passing and failing cases.

Needs mongod on PATH (or RESTOREPROOF_MONGO_BIN_DIR) or a Docker engine; skipped where neither exists."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import bson
import pytest
from bson import Decimal128, ObjectId, Regex
from bson.int64 import Int64

from tests.mongo_support import damaged_copy, databases_of, store
from verifiers.runner import plan_store, run_store
from verifiers.sandboxes.docker import engine_available
from verifiers.sandboxes.readiness import Readiness
from verifiers.store_settings import ExternalSandbox
from verifiers.stores.mongo.archive import MongoDump, open_dump
from verifiers.stores.mongo.capture import capture_mongo, find_mongodump
from verifiers.stores.mongo.dochash import id_hash
from verifiers.stores.mongo.installations import find_mongod, installation
from verifiers.stores.mongo.kind import judge, measure_restored
from verifiers.stores.mongo.local_server import MongoServer, local_mongod
from verifiers.stores.mongo.manifest import load_manifest
from verifiers.stores.mongo.measure import facts_from_server, raw_documents
from verifiers.stores.mongo.restore import find_mongorestore, restore_with_mongorestore, restore_with_pymongo
from verifiers.stores.restore_tool import RestoreOutcome

pytestmark = pytest.mark.mongo


ServerFactory = Callable[[], contextlib.AbstractContextManager[MongoServer]]


@pytest.fixture(scope="session")
def new_server() -> ServerFactory:
    if find_mongod(None) is not None:
        found = installation(None)
        return lambda: local_mongod(found, readiness=Readiness(timeout=60))
    if engine_available():
        from verifiers.stores.mongo.docker_server import docker_mongod

        return lambda: docker_mongod("mongo:7.0", readiness=Readiness(timeout=120))
    pytest.skip("no mongod on PATH and no Docker engine")


def seed(server: MongoServer) -> None:
    client = server.client()
    app = client["app"]
    app.create_collection("users", validator={"$jsonSchema": {"required": ["email"]}}, validationLevel="strict")
    app.users.create_index("email", unique=True)
    app.users.insert_many([{"_id": i, "email": f"u{i}@example.com", "n": Int64(i), "score": i / 3,
                            "tags": ["a", {"b": i}], "at": dt.datetime(2026, 1, 1) + dt.timedelta(hours=i),
                            "money": Decimal128(f"{i}.10"), "ref": ObjectId(), "re": Regex("^x", "i")}
                           for i in range(250)])
    app.create_collection("orders")
    app.orders.create_index([("user", 1), ("total", -1)], name="user_total")
    app.orders.insert_many([{"user": i % 25, "total": i * 10, "status": "paid" if i % 3 else "open"}
                            for i in range(1200)])
    app.create_collection("paid", viewOn="orders", pipeline=[{"$match": {"status": "paid"}}])
    client["audit"].create_collection("events", capped=True, size=1 << 20)
    client["audit"].events.insert_many([{"kind": "login", "n": i} for i in range(10)])
    client.close()


@pytest.fixture(scope="module")
def source(new_server: ServerFactory) -> Iterator[MongoServer]:
    with new_server() as server:
        seed(server)
        yield server


@pytest.fixture(scope="module")
def captured(source: MongoServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    uri = source.uri if not source.username else source.uri.replace(
        "mongodb://", f"mongodb://{source.username}:{source.password}@") + "?authSource=admin"
    return capture_mongo(uri, tmp_path_factory.mktemp("mongo-backups"), name="app", via="pymongo")


def test_manifest_describes_the_live_data(source: MongoServer, captured: tuple[Path, Path]) -> None:
    manifest = load_manifest(captured[1], store="m")
    client = source.client()
    try:
        live = facts_from_server(client)
    finally:
        client.close()
    assert manifest.collections == live
    assert manifest.collections["app.users"].documents == 250
    assert manifest.collections["app.paid"].type == "view" and manifest.collections["app.paid"].documents is None
    assert "index email_1" in manifest.collections["app.users"].definitions
    assert "option validator" in manifest.collections["app.users"].definitions
    assert source.password is None or source.password not in captured[1].read_text()


def restore_into(target: MongoServer, dump: MongoDump, restorer: str, tmp_path: Path) -> RestoreOutcome:
    """Restore with the named tool, into the databases the target's namespace map says (its own names in a
    sandbox of the harness's)."""
    if restorer == "mongorestore":
        tool = find_mongorestore(None)
        assert tool is not None
        return restore_with_mongorestore(tool, target, dump, timeout=600, log_dir=tmp_path)
    client = target.client()
    try:
        return restore_with_pymongo(client, dump, timeout=600, namespaces=target.namespaces)
    finally:
        client.close()


def restore_and_judge(new_server: ServerFactory, archive: Path, restorer: str, tmp_path: Path) -> list[Any]:
    manifest = load_manifest(archive.with_name(archive.name.replace(".archive.gz", ".manifest.json")), store="m")
    dump = open_dump(archive)
    with new_server() as target:
        outcome = restore_into(target, dump, restorer, tmp_path)
        assert outcome.ok, outcome.error_lines
        client = target.client()
        try:
            observed = facts_from_server(client)
        finally:
            client.close()
    return judge(store(archive.parent), manifest.collections, observed)


# mongorestore only where it is installed (it ships apart from mongod); pymongo always
RESTORERS = ["pymongo", *(["mongorestore"] if find_mongorestore(None) is not None else [])]


@pytest.mark.parametrize("restorer", RESTORERS)
def test_restore_matches_the_manifest(new_server: ServerFactory, captured: tuple[Path, Path], restorer: str,
                                      tmp_path: Path) -> None:
    results = restore_and_judge(new_server, captured[0], restorer, tmp_path)
    assert [r.message for r in results if not r.passed] == []
    assert {r.check for r in results} == {"collections", "document_count", "checksum", "schema"}


def test_capture_uses_mongodump_when_installed(source: MongoServer, new_server: ServerFactory,
                                               tmp_path: Path) -> None:
    archive, manifest = capture_mongo(source.uri, tmp_path, name="app", via="auto")
    expected = "mongodump" if find_mongodump(None) is not None else "pymongo export"
    assert load_manifest(manifest, store="m").method.startswith(expected)
    results = restore_and_judge(new_server, archive, "pymongo", tmp_path)
    assert [r.message for r in results if not r.passed] == []


def test_a_changed_document_is_narrowed_to_its_id_hash_range(new_server: ServerFactory, captured: tuple[Path, Path],
                                                             tmp_path: Path) -> None:
    """One order changed on the restored server: measured by the manifest's segments (measure_restored), only the
    segment holding that order's _id hash differs, and no _id is named."""
    manifest = load_manifest(captured[1], store="m")
    segments = manifest.collections["app.orders"].segments
    assert segments is not None and segments.bits == 1  # 1,200 orders, about 1,000 each: 2 segments
    with new_server() as target:
        assert restore_into(target, open_dump(captured[0]), "pymongo", tmp_path).ok
        client = target.client()
        try:
            raw = next(raw_documents(client["app"]["orders"]))
            order_id = bson.decode(raw)["_id"]
            client["app"]["orders"].update_one({"_id": order_id}, {"$set": {"total": -1}})
        finally:
            client.close()
        observed, _ = measure_restored(target, store(captured[0].parent), manifest)
    failed = {(r.check, r.subject): r for r in judge(store(captured[0].parent), manifest.collections, observed)
              if not r.passed}
    assert set(failed) == {("checksum", "app.orders")}
    low, high = segments.bounds(id_hash(raw) >> 63)
    check = failed[("checksum", "app.orders")]
    assert check.observed["ranges"] == [[f"_id-hash 0x{low:016x}", f"0x{high:016x}"]]
    assert str(order_id) not in check.message and str(order_id) not in json.dumps(check.observed)


def sandbox_here() -> str:
    """The whole-store runs use the store's own sandbox setting: local where mongod is, else docker."""
    return "local" if find_mongod(None) is not None else "docker"


def test_whole_store_passes(new_server: ServerFactory, captured: tuple[Path, Path]) -> None:
    outcome = run_store(plan_store(store(captured[0].parent, sandbox=sandbox_here(), filters=[
        {"name": "paid orders", "collection": "app.orders", "filter": {"status": "paid"}, "min": 800}]),
        captured[0].parent))
    assert outcome.status == "passed", [c.message for c in outcome.checks if not c.passed]
    assert outcome.sandbox is not None and outcome.sandbox["engine"] == "mongodb"


def test_validate_finds_every_restored_collection_valid(new_server: ServerFactory,
                                                        captured: tuple[Path, Path]) -> None:
    outcome = run_store(plan_store(store(captured[0].parent, sandbox=sandbox_here(), validate_collections=True,
                                         validate_full=True), captured[0].parent))
    assert outcome.status == "passed", [c.message for c in outcome.checks if not c.passed]
    [check] = [c for c in outcome.checks if c.check == "corruption"]
    assert check.passed and check.message.startswith("validate (full) found all ")


def test_whole_store_fails_on_drift(new_server: ServerFactory, captured: tuple[Path, Path], tmp_path: Path) -> None:
    """A manifest that saw one more order and an index the dump lacks: the restore is fine, the checks are not."""
    archive = tmp_path / captured[0].name
    shutil.copyfile(captured[0], archive)
    raw = json.loads(captured[1].read_text())
    raw["collections"]["app.orders"]["documents"] += 1
    raw["collections"]["app.users"]["definitions"]["index email_2"] = '{"key": [["email", 1]]}'
    (tmp_path / captured[1].name).write_text(json.dumps(raw))
    outcome = run_store(plan_store(store(tmp_path, sandbox=sandbox_here(), filters=[
        {"name": "too many", "collection": "app.orders", "filter": '{"status": "open"}', "min": 1000}]), tmp_path))
    failed = {(c.check, c.subject): c.message for c in outcome.checks if not c.passed}
    assert outcome.status == "failed"
    assert failed[("document_count", "app.orders")] == "1200 documents restored, expected 1201 (-1)"
    assert "app.users: index email_2 dropped" in failed[("schema", "app.users")]
    assert "below the minimum" in failed[("assertion", "too many")]
    assert ("restore", "restore") not in failed


# --- the external sandbox: a server the harness did not start (here: one more sandbox, as "the user's") -------

def login_uri(server: MongoServer) -> str:
    """The server's URI as a user writes it in the inventory, the login (if any) inside."""
    if not server.username:
        return server.uri
    return server.uri.replace("mongodb://", f"mongodb://{server.username}:{server.password}@") + "?authSource=admin"


@pytest.fixture(scope="module")
def users_server(new_server: ServerFactory) -> Iterator[MongoServer]:
    """"The user's server", already holding data of its own, including an `app` database that must never be
    read (it differs from the backup's) nor written."""
    with new_server() as server:
        client = server.client()
        try:
            client["app"]["users"].insert_one({"_id": "theirs"})
            client["keep"]["things"].insert_many([{"n": i} for i in range(3)])
        finally:
            client.close()
        yield server


def external(server: MongoServer, **extra: Any) -> dict[str, Any]:
    return {"type": "external", "url": login_uri(server), **extra}


def test_external_sandbox_restores_into_scratch_databases_and_drops_them(users_server: MongoServer,
                                                                         captured: tuple[Path, Path]) -> None:
    before = databases_of(users_server)
    outcome = run_store(plan_store(store(captured[0].parent, sandbox=external(users_server, allow_external=True),
                                         filters=[{"name": "paid orders", "collection": "app.orders",
                                                   "filter": {"status": "paid"}, "min": 800}]), captured[0].parent))
    assert outcome.status == "passed", [c.message for c in outcome.checks if not c.passed]
    assert outcome.sandbox is not None and outcome.sandbox["type"] == "external"
    assert "app -> restoreproof_scratch_" in outcome.sandbox["databases"]
    assert "audit -> restoreproof_scratch_" in outcome.sandbox["databases"]
    assert users_server.password is None or users_server.password not in json.dumps(outcome.sandbox)
    collections = next(c for c in outcome.checks if c.check == "collections")
    assert collections.passed  # no marker collection, none of the user's `app` collections
    assert databases_of(users_server) == before  # the scratch databases are gone, nothing else changed
    client = users_server.client()
    try:
        assert list(client["app"]["users"].find({})) == [{"_id": "theirs"}]
    finally:
        client.close()


@pytest.mark.parametrize("restorer", RESTORERS)
def test_external_restore_is_measured_under_the_backups_own_names(users_server: MongoServer,
                                                                  captured: tuple[Path, Path], restorer: str,
                                                                  tmp_path: Path) -> None:
    from verifiers.stores.mongo.external_server import MARKER_COLLECTION, external_mongod
    from verifiers.stores.mongo.restore import dump_databases

    manifest = load_manifest(captured[1], store="m")
    dump = open_dump(captured[0])
    settings = store(captured[0].parent, sandbox=external(users_server, allow_external=True)).sandbox
    assert isinstance(settings, ExternalSandbox)
    with external_mongod("app", settings, dump_databases(dump), readiness=Readiness(timeout=30)) as target:
        outcome = restore_into(target, dump, restorer, tmp_path)
        assert outcome.ok, outcome.error_lines
        client = target.client()
        try:
            observed = facts_from_server(client, target.namespaces)
            scratch = [target.namespaces.server_db(db) for db in ("app", "audit")]
            assert all(MARKER_COLLECTION in client[str(db)].list_collection_names() for db in scratch)
        finally:
            client.close()
    assert set(observed) == set(manifest.collections)  # the backup's names; no marker, nothing of the user's
    assert [r.message for r in judge(store(captured[0].parent), manifest.collections, observed) if not r.passed] == []
    assert not any(db.startswith("restoreproof_scratch_") for db in databases_of(users_server))


def test_external_sandbox_refuses_without_opt_in(users_server: MongoServer, captured: tuple[Path, Path]) -> None:
    before = databases_of(users_server)
    outcome = run_store(plan_store(store(captured[0].parent, sandbox=external(users_server)), captured[0].parent))
    assert outcome.status == "error" and outcome.error is not None
    message = outcome.error["message"] + outcome.error.get("hint", "")
    assert "refusing to restore" in message and "--allow-external-sandbox" in message, outcome.error
    assert databases_of(users_server) == before


def test_external_sandbox_drops_its_databases_when_the_restore_fails(users_server: MongoServer,
                                                                    captured: tuple[Path, Path],
                                                                    tmp_path: Path) -> None:
    """A damaged archive (cut short after its prelude) whose manifest claims it: the restore fails, loudly, and
    the scratch databases are dropped all the same."""
    damaged_copy(captured, captured[0].read_bytes()[: captured[0].stat().st_size // 2], tmp_path, remeasure=True)
    before = databases_of(users_server)
    outcome = run_store(plan_store(store(tmp_path, sandbox=external(users_server, allow_external=True)), tmp_path))
    assert outcome.status == "failed"
    assert outcome.sandbox is not None and outcome.sandbox["type"] == "external"  # it was opened, then dropped
    assert not next(c for c in outcome.checks if c.check == "restore").passed
    assert databases_of(users_server) == before


def test_external_sandbox_refuses_to_drop_a_database_whose_marker_changed(users_server: MongoServer,
                                                                          captured: tuple[Path, Path]) -> None:
    from verifiers.errors import SandboxError
    from verifiers.stores.mongo.external_server import MARKER_COLLECTION, external_mongod

    settings = store(captured[0].parent, sandbox=external(users_server, allow_external=True)).sandbox
    assert isinstance(settings, ExternalSandbox)
    claimed: list[str] = []
    try:
        with pytest.raises(SandboxError, match=r"refusing to drop scratch database .* not the one this run wrote"):
            claim_while_open(external_mongod("app", settings, ["app"], readiness=Readiness(timeout=30)), claimed,
                             MARKER_COLLECTION)
        assert claimed and claimed[0] in databases_of(users_server)  # refused: still there
    finally:
        client = users_server.client()
        try:
            for name in claimed:
                client.drop_database(name)
        finally:
            client.close()


def claim_while_open(opening: contextlib.AbstractContextManager[MongoServer], claimed: list[str],
                     marker_collection: str) -> None:
    """Someone else re-marks the scratch database while the store uses it."""
    with opening as server:
        name = str(server.namespaces.server_db("app"))
        claimed.append(name)
        client = server.client()
        try:
            client[name][marker_collection].update_many({}, {"$set": {"marker": "not restoreproof"}})
        finally:
            client.close()
