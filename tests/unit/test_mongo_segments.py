"""A differing MongoDB collection narrowed to `_id`-hash ranges, without a server: the capture of a dump keeps
count and checksum per segment, a copy of the dump with one document changed is measured by the same segments
(the same CollectionDigest measures a restored server's raw documents), and the judge names only the segment
holding that document's `_id` hash, never an `_id`. Hypothesis holds it for any single changed, added or deleted
document; the server path itself (facts_from_server) is exercised by tests/integration/test_mongo_server.py,
where a mongod or Docker exists."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import bson
import pytest
from bson import SON, ObjectId
from bson.int64 import Int64
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.mongo_support import Coll, build_archive, gz, metadata_json
from verifiers.errors import CaptureError
from verifiers.inventory import parse_inventory
from verifiers.stores.hash_ranges import differing_segments, segment_bits
from verifiers.stores.mongo.archive import open_dump
from verifiers.stores.mongo.capture import capture_mongo
from verifiers.stores.mongo.dochash import CollectionDigest, collection_checksum, id_bytes, id_hash
from verifiers.stores.mongo.kind import judge
from verifiers.stores.mongo.manifest import CollectionFacts, load_manifest
from verifiers.stores.mongo.measure import facts_from_dump
from verifiers.stores.mongo.settings import MongoStore

MARK = "person:"  # an _id that stands for personal data, marked so no text of the harness's can look like one


def store() -> MongoStore:
    inventory = parse_inventory({"stores": [{"name": "m", "kind": "mongo", "rto": "1h", "rpo": "1d",
                                             "source": {"type": "file", "path": "d/*.archive.gz"}}]},
                                Path("inv.toml"))
    found = inventory.stores[0]
    assert isinstance(found, MongoStore)
    return found


def users(n: int) -> list[bytes]:
    return [bson.encode(SON([("_id", f"{MARK}u{i}@example.com"), ("n", i)])) for i in range(n)]


def archive(tmp_path: Path, name: str, docs: list[bytes]) -> Path:
    path = tmp_path / name
    path.write_bytes(gz(build_archive([Coll("app", "users", docs, metadata_json([
        {"v": 2, "key": {"_id": 1}, "name": "_id_"}]))])))
    return path


@pytest.mark.parametrize("change", ["change", "delete"])
def test_a_differing_document_is_narrowed_to_its_id_hash_range_and_no_id_is_shown(tmp_path: Path,
                                                                                 change: str) -> None:
    docs = users(60)
    _, manifest_path = capture_mongo(None, None, from_dump=archive(tmp_path, "app-1.archive.gz", docs),
                                     segment_documents=4)
    manifest = load_manifest(manifest_path, store="m")
    captured = manifest.collections["app.users"].segments
    assert captured is not None and captured.bits == 4  # 60 documents, about 4 each: 16 segments
    target = docs[17]
    restored_docs = [d for d in docs if d != target]
    if change == "change":
        restored_docs.append(bson.encode(SON([("_id", f"{MARK}u17@example.com"), ("n", -1)])))
    observed = facts_from_dump(open_dump(archive(tmp_path, "restored.archive.gz", restored_docs)),
                               segment_documents=4)
    results = {(r.check, r.subject): r for r in judge(store(), manifest.collections, observed)}
    check = results[("checksum", "app.users")]
    segment = id_hash(target) >> 60
    low, high = captured.bounds(segment)
    assert check.observed == {"checksum": observed["app.users"].checksum,
                              "ranges": [[f"_id-hash 0x{low:016x}", f"0x{high:016x}"]]}
    want = captured.segments[segment][0]
    got = want - (change == "delete")
    assert check.message.endswith(f"; differs in _id-hash 0x{low:016x}..0x{high:016x} "
                                  f"({got} documents restored, {want} captured)")
    assert MARK not in json.dumps([check.message, check.observed]) and MARK not in manifest_path.read_text()


def test_an_older_manifest_without_segments_only_says_the_checksum_differs() -> None:
    docs = users(10)
    count, checksum = collection_checksum(docs)
    older = {"app.users": CollectionFacts(type="collection", documents=count, checksum=checksum)}
    digest = CollectionDigest()
    for raw in docs[1:]:
        digest.add(raw)
    observed = {"app.users": CollectionFacts(type="collection", documents=digest.count, checksum=digest.checksum,
                                             segments=digest.segments())}
    check = next(r for r in judge(store(), older, observed) if r.check == "checksum")
    assert not check.passed and check.observed == digest.checksum and "differs in" not in check.message


def test_the_whole_checksum_is_unchanged_by_segmenting() -> None:
    """The segments' sum is the collection checksum as defined before segments (older manifests still match)."""
    docs = users(50)
    total = sum(int.from_bytes(hashlib.sha256(d).digest()[:16], "big") + 1 for d in docs) % (1 << 128)
    assert collection_checksum(docs) == (50, f"{total:032x}")


def test_the_id_is_hashed_as_stored_wherever_it_sits() -> None:
    first = bson.encode(SON([("_id", 7), ("a", 1)]))
    last = bson.encode(SON([("a", 1), ("_id", 7)]))
    assert id_hash(first) == id_hash(last)  # the server stores _id first; a dump may not
    assert id_bytes(first) == b"\x10" + (7).to_bytes(4, "little")  # type int32 + value
    assert id_hash(first) != id_hash(bson.encode(SON([("_id", Int64(7)), ("a", 1)])))  # another BSON type
    assert id_hash(first) == id_hash(bson.encode(SON([("_id", 7), ("a", 2)])))  # only the _id picks the segment
    assert id_bytes(bson.encode({"a": 1})) == b""  # no _id: all such documents share one segment


def test_a_segment_size_below_one_document_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="--segment-documents 0"):
        capture_mongo(None, None, from_dump=archive(tmp_path, "app-1.archive.gz", users(3)), segment_documents=0)
    assert not (tmp_path / "app-1.manifest.json").exists()


ids = st.one_of(st.integers(-(2**31), 2**31 - 1), st.integers(-(2**63), 2**63 - 1).map(Int64),
                st.text(max_size=12).map(MARK.__add__), st.builds(ObjectId, st.binary(min_size=12, max_size=12)))


def digest(docs: list[bytes]) -> CollectionDigest:
    out = CollectionDigest()
    for raw in docs:
        out.add(raw)
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(ids, min_size=1, max_size=120, unique_by=lambda i: bson.encode({"_id": i})), st.data(),
       st.sampled_from(["change", "delete", "add"]), st.integers(1, 40))
def test_any_single_changed_document_lands_in_exactly_the_segment_of_its_id(
        keys: list[Any], data: st.DataObject, change: str, segment_documents: int) -> None:
    docs = [bson.encode(SON([("_id", k), ("v", i)])) for i, k in enumerate(keys)]
    restored = list(docs)
    index = data.draw(st.integers(0, len(docs) - 1))
    target = docs[index]
    if change == "change":
        restored[index] = bson.encode(SON([("_id", keys[index]), ("v", -1)]))
    elif change == "delete":
        del restored[index]
    else:
        target = bson.encode(SON([("_id", {"added": True}), ("v", 0)]))  # no generated _id is a document
        restored.append(target)
    data.draw(st.randoms()).shuffle(restored)
    bits = segment_bits(len(docs), segment_documents)
    captured, measured = digest(docs).segments(segment_documents=segment_documents), digest(restored).segments(bits)
    assert captured.bits == bits
    assert [s for s, _got, _want in differing_segments(captured, measured)] == [id_hash(target) >> (64 - bits)]
