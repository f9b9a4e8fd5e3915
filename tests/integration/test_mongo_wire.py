"""The mongo store end to end on a real MongoDB-wire-protocol server where no mongod exists (issue 26): mongoeco
4.11 as the production server (captured with the real pymongo export) and as the server restored into
(tests/mongo_wire_support.py: restore_sandbox), with the differences mongoeco has from mongod, each met by the
harness and named by a test here:
- pymongo's server_info() sends `buildinfo`, which mongoeco refuses: buildInfo by its own name, and evidence names
  mongoeco, not the MongoDB 7.0.0 its buildInfo claims (test_evidence_names_the_server_it_ran_on);
- views are listed as type "collection" (test_a_view_listed_as_a_collection_is_a_view_not_data);
- create_collection(capped=True, size=N) is refused, size being sent as a double
  (test_a_capped_collection_is_created_with_the_dumps_own_size);
- listDatabases fails once a database holds a Decimal128, Regex, Timestamp, MinKey, MaxKey or DBRef
  (test_capture_of_every_database_names_listDatabases,
  test_a_sandbox_refusing_listDatabases_is_measured_by_its_restored_databases; measurement on the external
  sandbox never lists, its scratch-name check asks per name);
- listIndexes adds `unique: true` to `_id_` and `unique: false` elsewhere, which change nothing (a mongod-made
  backup passes its schema check in test_a_server_rewriting_deprecated_bson_types_fails_the_checksum);
- commands and operators it lacks (`$toHashedIndexKey`, `buildinfo`) are refused without mongod's codes
  (test_a_command_the_server_lacks_is_not_verified_naming_it);
- documents keep `_id` where it was written (mongod moves it first): the checksum's canonical form moves it, so
  the same documents pass (test_every_bson_type_round_trips);
- the deprecated BSON types undefined, DBPointer and symbol are stored as null, a DBRef document and a string:
  such a backup fails its checksum, narrowed (test_a_server_rewriting_deprecated_bson_types_fails_the_checksum).

Needs RESTOREPROOF_MONGOECO_PYTHON (a Python 3.13 with mongoeco and pymongo: `make`); skipped without it."""

from __future__ import annotations

import datetime as dt
import json
import struct
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import bson
import pytest
from bson import Binary, Code, Decimal128, MaxKey, MinKey, ObjectId, Regex, Timestamp
from bson.dbref import DBRef
from bson.int64 import Int64
from bson.raw_bson import RawBSONDocument
from pymongo.errors import OperationFailure

from tests.conftest import sandbox_dirs, sandbox_processes
from tests.mongo_support import Coll, build_archive, damaged_copy, databases_of, doc, gz, metadata_json, store
from tests.mongo_wire_support import (
    Sandbox,
    WireServer,
    mongoeco,
    mongoeco_python,
    mongoeco_server,
    restore_sandbox,
)
from verifiers.errors import CaptureError
from verifiers.runner import StoreOutcome, plan_store, run_store
from verifiers.stores.mongo.archive import open_dump
from verifiers.stores.mongo.capture import capture_mongo
from verifiers.stores.mongo.corruption import validate_collections
from verifiers.stores.mongo.dochash import id_hash
from verifiers.stores.mongo.engine import server_engine, unsupported
from verifiers.stores.mongo.kind import judge, measure_restored
from verifiers.stores.mongo.local_server import MongoServer
from verifiers.stores.mongo.manifest import load_manifest
from verifiers.stores.mongo.measure import facts_from_server, raw_documents
from verifiers.stores.mongo.namespaces import NamespaceMap
from verifiers.stores.mongo.restore import dump_databases, restore_with_pymongo
from verifiers.stores.mongo.sandbox import open_sandbox

pytestmark = pytest.mark.mongo
SEGMENT = 100  # documents per _id-hash segment at capture: 300 orders in 4 segments


@pytest.fixture(scope="module")
def python() -> Path:
    return mongoeco_python()


@pytest.fixture(scope="module")
def source(python: Path) -> Iterator[WireServer]:
    with mongoeco_server(python) as server:
        seed_databases(server)
        yield server


@pytest.fixture(scope="module")
def target(python: Path) -> Iterator[WireServer]:
    """The server restored into, holding data of its own that no run may read, write or leave changed."""
    with mongoeco_server(python) as server:
        client = server.client()
        try:
            client["shop"]["users"].insert_one({"_id": "theirs"})
            client["keep"]["things"].insert_many([{"n": i} for i in range(3)])
        finally:
            client.close()
        yield server


def seed_databases(server: WireServer) -> None:
    """Two databases: a validator, unique, TTL, partial and compound indexes, nested documents, a view, a
    capped collection."""
    client = server.client()
    try:
        shop = client["shop"]
        shop.create_collection("users", validator={"$jsonSchema": {"bsonType": "object", "required": ["email"]}},
                               validationLevel="moderate", validationAction="error")
        shop.users.create_index("email", unique=True)
        shop.users.create_index("seen", expireAfterSeconds=3600)
        shop.users.create_index("plan", partialFilterExpression={"active": True})
        shop.users.insert_many([{"_id": i, "email": f"u{i}@example.com", "active": i % 2 == 0, "plan": "p" + str(i % 3),
                                 "seen": dt.datetime(2099, 1, 1) + dt.timedelta(minutes=i),  # the TTL index runs
                                 "profile": {"name": {"first": f"F{i}", "last": "L"}, "tags": ["a", {"b": i}]}}
                                for i in range(60)])
        shop.orders.insert_many([{"user": i % 60, "total": Int64(i * 10), "status": "paid" if i % 3 else "open",
                                  "lines": [{"sku": f"s{i % 7}", "n": i % 4 + 1}]} for i in range(300)])
        shop.orders.create_index([("user", 1), ("total", -1)], name="user_total")
        shop.command("create", "paid", viewOn="orders", pipeline=[{"$match": {"status": "paid"}}])
        audit = client["audit"]
        audit.command("create", "events", capped=True, size=1 << 20)
        audit.events.insert_many([{"kind": "login", "n": i} for i in range(10)])
    finally:
        client.close()


def seed_types(server: WireServer) -> None:
    """Every BSON type the checksum keeps apart, in one database (a Decimal128 or Regex anywhere stops
    listDatabases)."""
    documents: list[Any] = [
        {"_id": 1, "double": 1.5, "neg_zero": -0.0, "nan": float("nan"), "inf": float("-inf"), "str": "x",
         "doc": {"b": 1, "a": 2}, "arr": [1, "a", {"z": None}], "bin": Binary(b"\x00\x01", 0),
         "uuid": Binary(uuid.UUID(int=7).bytes, 4), "user_bin": Binary(b"x", 128), "oid": ObjectId(),
         "bool": True, "date": dt.datetime(2026, 1, 2, 3, 4, 5, 6000), "null": None, "regex": Regex("^a", "im"),
         "code": Code("f()"), "scoped": Code("f(x)", {"x": 1}), "int32": 1, "ts": Timestamp(1, 2),
         "int64": Int64(1), "dec": Decimal128("1.10"), "min": MinKey(), "max": MaxKey(), "ref": DBRef("c", 1)},
        {"_id": 2, "v": 1}, {"_id": 3, "v": Int64(1)}, {"_id": 4, "v": 1.0}, {"_id": 5, "v": Decimal128("1")},
        {"_id": 6, "doc": {"a": 1, "b": 2}}, {"_id": 7, "doc": {"b": 2, "a": 1}},
        {"_id": "s", "v": 0.0}, {"_id": {"k": 1}, "v": -0.0}, {"_id": ObjectId(), "v": []},
        # _id last, as written: mongoeco keeps it there, mongod would move it first
        RawBSONDocument(raw_document(bson.encode({"v": "late"})[4:-1] + b"\x10_id\x00" + struct.pack("<i", 8))),
    ]
    client = server.client()
    try:
        client["types"]["values"].insert_many(documents)
    finally:
        client.close()


def raw_document(elements: bytes) -> bytes:
    """A BSON document of these elements, in this order (pymongo's encoder would move `_id` first)."""
    return struct.pack("<i", len(elements) + 5) + elements + b"\x00"


def bson_string(text: str) -> bytes:
    data = text.encode() + b"\x00"
    return struct.pack("<i", len(data)) + data


@pytest.fixture(scope="module")
def captured(source: WireServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Every database of the source, captured before any holds a Decimal128 or a Regex (see `captured_types`)."""
    return capture_mongo(source.uri, tmp_path_factory.mktemp("wire-backups"), name="app", via="pymongo",
                         segment_documents=SEGMENT)


@pytest.fixture(scope="module")
def captured_types(source: WireServer, captured: tuple[Path, Path],
                   tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    seed_types(source)
    return capture_mongo(source.database_uri("types"), tmp_path_factory.mktemp("wire-types"), name="app",
                         via="pymongo")


def run(directory: Path, target: WireServer, sandbox: Sandbox = "external", **settings: Any) -> StoreOutcome:
    return run_store(plan_store(store(directory, sandbox=restore_sandbox(target, sandbox), **settings), directory))


@pytest.fixture(params=["local", "external"])
def sandbox(request: pytest.FixtureRequest, target: WireServer) -> Iterator[Sandbox]:
    """Each run restores into the product's own mongoeco sandbox and into scratch databases on `target`; either
    way nothing is left behind: no sandbox process or directory, and `target` as it was."""
    processes, dirs, before = set(sandbox_processes()), set(sandbox_dirs()), databases_of(target)
    yield request.param
    assert set(sandbox_processes()) - processes == set()
    assert set(sandbox_dirs()) - dirs == set()
    assert databases_of(target) == before


def failures(outcome: StoreOutcome) -> dict[tuple[str, str], str]:
    return {(c.check, c.subject): c.message for c in outcome.checks if not c.passed}


def test_backup_of_several_databases_restores_and_every_check_passes(captured: tuple[Path, Path],
                                                                     target: WireServer, sandbox: Sandbox) -> None:
    manifest = load_manifest(captured[1], store="app")
    assert set(manifest.collections) == {"audit.events", "shop.orders", "shop.paid", "shop.users"}
    assert [manifest.collections[ns].documents for ns in ("shop.users", "shop.orders", "audit.events")] == [60, 300, 10]
    assert manifest.collections["shop.orders"].segments is not None
    assert manifest.collections["shop.orders"].segments.bits == 2
    assert {"index email_1", "index seen_1", "index plan_1", "option validator", "option validationLevel"} <= set(
        manifest.collections["shop.users"].definitions)
    outcome = run(captured[0].parent, target, sandbox, filters=[
        {"name": "paid orders", "collection": "shop.orders", "filter": {"status": "paid"}, "min": 200, "max": 200},
        {"name": "nested", "collection": "shop.users", "filter": {"profile.name.last": "L"}, "min": 60}])
    assert outcome.status == "passed", failures(outcome)
    assert {(c.check, c.subject) for c in outcome.checks} >= {
        ("collections", "collections"), ("document_count", "shop.orders"), ("checksum", "shop.users"),
        ("checksum", "audit.events"), ("schema", "shop.paid"), ("schema", "audit.events"),
        ("assertion", "paid orders"), ("assertion", "nested")}


def test_validate_on_a_wire_server_is_not_verified(captured: tuple[Path, Path], target: WireServer,
                                                   sandbox: Sandbox) -> None:
    """mongoeco answers validate with valid: true whatever it holds (it counts records and ignores `full`): a pass
    that cannot fail is no verification, so the corruption check fails as not verified, naming the server, and
    the store with it; every other check passes."""
    outcome = run(captured[0].parent, target, sandbox, validate_collections=True, validate_full=True)
    assert outcome.status == "failed" and set(failures(outcome)) == {("corruption", "collections")}
    corruption = next(c for c in outcome.checks if c.check == "corruption")
    version = mongoeco(mongoeco_python()).version if sandbox == "local" else None
    assert not corruption.passed and corruption.message.startswith(
        f"not verified: {f'mongoeco {version}' if version else 'mongoeco'} is not MongoDB, and its `validate` checks "
        "no MongoDB storage engine")


def test_evidence_names_the_server_it_ran_on(captured: tuple[Path, Path], source: WireServer,
                                             target: WireServer, sandbox: Sandbox) -> None:
    """mongoeco's buildInfo claims MongoDB 7.0.0 with gitVersion "mongoeco": evidence says mongoeco. And
    pymongo's server_info() (`buildinfo`, lower case) is refused, so the harness must not use it."""
    client = source.client()
    try:
        with pytest.raises(OperationFailure, match="unsupported wire command: buildinfo"):
            client.server_info()
        assert client.admin.command("buildInfo")["version"] == "7.0.0"
        assert server_engine(client).engine == "mongoeco"
    finally:
        client.close()
    outcome = run(captured[0].parent, target, sandbox)
    assert outcome.status == "passed", failures(outcome)
    assert outcome.sandbox is not None
    # mongoeco does not say its own version on the wire: the product's sandbox knows it from its installation
    assert (outcome.sandbox["engine"], outcome.sandbox["version"]) == (
        "mongoeco", mongoeco(mongoeco_python()).version if sandbox == "local" else "?")
    assert outcome.sandbox["reports_mongodb_version"] == "7.0.0"
    assert "not MongoDB" in str(outcome.sandbox["server"])  # the report's sandbox cell shows it
    assert load_manifest(captured[1], store="app").method == \
        "pymongo export (mongodump not installed) of mongoeco (reports MongoDB 7.0.0)"


def test_a_view_listed_as_a_collection_is_a_view_not_data(captured: tuple[Path, Path], source: WireServer) -> None:
    client = source.client()
    try:
        [listed] = client["shop"].list_collections(filter={"name": "paid"})
    finally:
        client.close()
    assert listed["type"] == "collection" and listed["options"]["viewOn"] == "orders"  # the difference
    paid = load_manifest(captured[1], store="app").collections["shop.paid"]
    assert paid.type == "view" and paid.documents is None and paid.checksum is None
    assert json.loads(paid.definitions["option pipeline"]) == [{"$match": {"status": "paid"}}]
    assert not any(e.has_data for e in open_dump(captured[0]).info.collections if e.collection == "paid")


def opened(target: WireServer, captured: tuple[Path, Path]) -> AbstractContextManager[MongoServer]:
    """The sandbox restore_sandbox() names, opened for this backup as the kind opens it."""
    settings = store(captured[0].parent, sandbox=restore_sandbox(target))
    return open_sandbox(settings, load_manifest(captured[1], store="app"), dump_databases(open_dump(captured[0])))


def test_a_capped_collection_is_created_with_the_dumps_own_size(captured: tuple[Path, Path],
                                                                target: WireServer) -> None:
    before = databases_of(target)
    with opened(target, captured) as server:
        client = server.client()
        try:
            audit = str(server.namespaces.server_db("audit"))
            with pytest.raises(OperationFailure, match="size must be a positive integer"):  # the difference
                client[audit].create_collection("probe", capped=True, size=1 << 20)
            assert restore_with_pymongo(client, open_dump(captured[0]), timeout=600,
                                        namespaces=server.namespaces).ok
            [events] = client[audit].list_collections(filter={"name": "events"})
            assert events["options"] == {"capped": True, "size": 1 << 20}
        finally:
            client.close()
    assert databases_of(target) == before


def test_capture_of_every_database_names_listDatabases(captured_types: tuple[Path, Path], source: WireServer,
                                                       tmp_path: Path) -> None:
    """With a Decimal128 (and others) in `types`, listDatabases fails: a capture of every database fails naming it and
    writes nothing; the capture of one named database (captured_types) needs no listing."""
    with pytest.raises(CaptureError, match=r"cannot list its databases \(listDatabases\)") as raised:
        capture_mongo(source.uri, tmp_path, name="app", via="pymongo")
    assert "mongodb://HOST/DATABASE" in (raised.value.hint or "")
    assert list(tmp_path.iterdir()) == []
    assert load_manifest(captured_types[1], store="app").collections["types.values"].documents == 11


def test_a_sandbox_refusing_listDatabases_is_measured_by_its_restored_databases(
        captured_types: tuple[Path, Path], source: WireServer) -> None:
    """A sandbox of the harness's own (every database under its own name, as the product's mongoeco sandbox) refuses
    listDatabases once a Decimal128 (or Regex, ...) is in it: measuring and validate take the databases the restore
    wrote; without them the refusal is raised, never an empty measurement."""
    expected = load_manifest(captured_types[1], store="app").collections["types.values"]
    client = source.client()
    try:
        with pytest.raises(OperationFailure, match=r"\$bsonSize cannot encode value of type "):
            client.list_database_names()
        with pytest.raises(OperationFailure):
            facts_from_server(client)
        facts = facts_from_server(client, restored=["types"])
        result = validate_collections(client, NamespaceMap(), full=False, budget=60, store="app", restored=["types"])
    finally:
        client.close()
    assert set(facts) == {"types.values"}
    assert (facts["types.values"].documents, facts["types.values"].checksum) == (11, expected.checksum)
    assert result.passed and result.compared and result.message == "validate found all 1 collections valid"


def test_an_external_server_refusing_listDatabases_is_asked_per_scratch_name(captured: tuple[Path, Path],
                                                                          python: Path) -> None:
    """The user's server holds a Decimal128, so it refuses listDatabases: the external sandbox checks its scratch
    names one by one, the run passes, and afterwards the scratch databases hold nothing."""
    with mongoeco_server(python) as users:
        client = users.client()
        try:
            client["ledger"]["entries"].insert_one({"_id": 1, "amount": Decimal128("9.99")})
            with pytest.raises(OperationFailure, match=r"\$bsonSize cannot encode value of type Decimal128"):
                client.list_database_names()
            outcome = run(captured[0].parent, users)
            assert outcome.status == "passed", failures(outcome)
            assert outcome.sandbox is not None
            scratch = [pair.split(" -> ")[1] for pair in str(outcome.sandbox["databases"]).split(", ")]
            assert len(scratch) == 2 and all(client[name].list_collection_names() == [] for name in scratch)
            assert client["ledger"].list_collection_names() == ["entries"]
            assert client["ledger"]["entries"].count_documents({}) == 1
        finally:
            client.close()


def test_every_bson_type_round_trips(captured_types: tuple[Path, Path], target: WireServer, sandbox: Sandbox) -> None:
    outcome = run(captured_types[0].parent, target, sandbox)
    assert outcome.status == "passed", failures(outcome)
    assert next(c for c in outcome.checks if c.check == "checksum").observed == \
        load_manifest(captured_types[1], store="app").collections["types.values"].checksum
    late = [raw for _, raw in open_dump(captured_types[0]).documents() if bson.decode(raw)["_id"] == 8]
    assert late and late[0][5:9] != b"_id\x00"  # kept after `v` by the server, hashed with _id first


def test_a_command_the_server_lacks_is_not_verified_naming_it(captured: tuple[Path, Path], source: WireServer,
                                                              target: WireServer, sandbox: Sandbox) -> None:
    """A filter using an operator mongoeco lacks fails as not verified, naming it; the refusal of a command it
    lacks (`buildinfo`: no code, unlike mongod's 59) is read as such (what the validate check relies on)."""
    outcome = run(captured[0].parent, target, sandbox, filters=[
        {"name": "hashed", "collection": "shop.orders", "min": 1,
         "filter": {"$expr": {"$eq": [{"$toHashedIndexKey": "$user"}, 0]}}}])
    failed = failures(outcome)
    assert outcome.status == "failed" and set(failed) == {("assertion", "hashed")}
    assert "not verified: the server does not know $toHashedIndexKey" in failed[("assertion", "hashed")]
    client = source.client()
    try:
        with pytest.raises(OperationFailure) as refused:
            client.admin.command("buildinfo")
    finally:
        client.close()
    assert refused.value.code is None and unsupported(refused.value) == "buildinfo"


# --- negative fixtures: each fails loudly and leaves nothing behind on the server restored into -------------

@pytest.mark.parametrize("remeasure", [False, True], ids=["manifest-kept", "manifest-remeasured"])
def test_a_truncated_archive_fails(captured: tuple[Path, Path], target: WireServer, sandbox: Sandbox, tmp_path: Path,
                                   remeasure: bool) -> None:
    data = captured[0].read_bytes()
    damaged_copy(captured, data[: len(data) * 2 // 3], tmp_path, remeasure=remeasure)
    outcome = run(tmp_path, target, sandbox)
    failed = failures(outcome)
    assert outcome.status == "failed", (outcome.status, outcome.error)
    assert any(check == "artifact" for check, _ in failed) != remeasure, failed
    assert any(check == "restore" for check, _ in failed), failed


@pytest.mark.parametrize("remeasure", [False, True], ids=["manifest-kept", "manifest-remeasured"])
def test_a_flipped_byte_fails(captured: tuple[Path, Path], target: WireServer, sandbox: Sandbox, tmp_path: Path,
                              remeasure: bool) -> None:
    """Without re-measuring, the artifact checksum fails; re-measured, the archive's own damage (gzip CRC) does."""
    data = bytearray(captured[0].read_bytes())
    data[len(data) // 2] ^= 0x01
    damaged_copy(captured, bytes(data), tmp_path, remeasure=remeasure)
    outcome = run(tmp_path, target, sandbox)
    failed = failures(outcome)
    assert outcome.status == "failed"
    artifact = [m for (c, _), m in failed.items() if c == "artifact"]
    assert bool(artifact) != remeasure, failed
    damage = [m for (c, _), m in failed.items() if c == "restore"]
    assert damage and all("the backup is damaged" in m for m in damage), failed


def test_a_dropped_index_and_a_changed_document_are_found(captured: tuple[Path, Path], target: WireServer) -> None:
    """On the restored server an index is dropped and one order changed: the schema check names the index, the
    checksum is narrowed to the changed order's _id-hash range, and no document value appears."""
    manifest = load_manifest(captured[1], store="app")
    segments = manifest.collections["shop.orders"].segments
    assert segments is not None
    before = databases_of(target)
    with opened(target, captured) as server:
        client = server.client()
        try:
            assert restore_with_pymongo(client, open_dump(captured[0]), timeout=600,
                                        namespaces=server.namespaces).ok
            shop = client[str(server.namespaces.server_db("shop"))]
            shop.users.drop_index("plan_1")
            raw = next(raw_documents(shop.orders))
            order_id = bson.decode(raw)["_id"]
            shop.orders.update_one({"_id": order_id}, {"$set": {"status": "refunded-7781"}})
        finally:
            client.close()
        observed, _ = measure_restored(server, store(captured[0].parent), manifest)
    assert databases_of(target) == before
    failed = {(r.check, r.subject): r for r in judge(store(captured[0].parent), manifest.collections, observed)
              if not r.passed}
    assert set(failed) == {("schema", "shop.users"), ("checksum", "shop.orders")}
    assert "index plan_1 dropped" in failed[("schema", "shop.users")].message
    low, high = segments.bounds(id_hash(raw) >> (64 - segments.bits))
    check = failed[("checksum", "shop.orders")]
    assert check.observed["ranges"] == [[f"_id-hash 0x{low:016x}", f"0x{high:016x}"]]
    shown = check.message + json.dumps(check.observed)
    assert str(order_id) not in shown and "refunded-7781" not in shown


def test_a_server_rewriting_deprecated_bson_types_fails_the_checksum(target: WireServer, sandbox: Sandbox,
                                                                     tmp_path: Path) -> None:
    """A backup holding undefined, a DBPointer and a symbol (deprecated types a mongod keeps): mongoeco stores
    them as null, a DBRef document and a string, so the restore is not the backup and the checksum says so."""
    legacy = [raw_document(b"\x10_id\x00" + struct.pack("<i", 1) + b"\x06u\x00"),
              raw_document(b"\x10_id\x00" + struct.pack("<i", 2) + b"\x0cp\x00" + bson_string("x.y")
                           + ObjectId().binary),
              raw_document(b"\x10_id\x00" + struct.pack("<i", 3) + b"\x0es\x00" + bson_string("sym"))]
    plain = [doc(_id=i, v=i) for i in range(4, 10)]
    archive = tmp_path / "app-20260101T000000Z.archive.gz"
    archive.write_bytes(gz(build_archive([Coll("legacy", "values", plain + legacy,
                                               metadata_json([{"v": 2, "key": {"_id": 1}, "name": "_id_"}]))])))
    capture_mongo(None, None, from_dump=archive)
    outcome = run(tmp_path, target, sandbox)
    failed = failures(outcome)
    assert outcome.status == "failed" and set(failed) == {("checksum", "legacy.values")}, failed
    assert "_id-hash" in failed[("checksum", "legacy.values")]
