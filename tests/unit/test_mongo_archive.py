"""mongodump archives and directories read without a server: structure, CRCs, and every way a file can be
wrong (truncated, flipped bytes, another format) failing with an ArtifactFormatError that names the file."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
from pathlib import Path

import bson
import pytest
from bson.int64 import Int64
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.mongo_support import MAGIC, Coll, build_archive, crc64_xz, doc, gz, metadata_json, sample
from verifiers.errors import ArtifactFormatError
from verifiers.stores.mongo.archive import ArchiveDump, ArchiveWriter, CollectionEntry, DirectoryDump, open_dump
from verifiers.stores.mongo.dochash import collection_checksum
from verifiers.stores.mongo.measure import facts_from_dump


def write(tmp_path: Path, data: bytes, name: str = "app.archive") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read_all(path: Path) -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {}
    for namespace, raw in open_dump(path).documents():
        found.setdefault(namespace, []).append(raw)
    return found


def test_crc64_reference_has_the_standard_check_value() -> None:
    assert crc64_xz(b"123456789") == 0x995DC9BBDF1939FA  # CRC-64/XZ check value
    assert bytes.fromhex("6de29981") == MAGIC


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("interleave", [False, True])
def test_reads_prelude_and_documents(tmp_path: Path, compress: bool, interleave: bool) -> None:
    colls = sample()
    data = build_archive(colls, interleave=interleave)
    path = write(tmp_path, gz(data) if compress else data)
    dump = open_dump(path)
    assert isinstance(dump, ArchiveDump)
    assert dump.info.format == ("archive.gz" if compress else "archive")
    assert dump.info.server_version == "7.0.5" and dump.info.tool_version == "100.9.4"
    assert [c.namespace for c in dump.info.collections] == ["app.users", "app.orders", "audit.events"]
    users = dump.info.collections[0]
    assert users.options["validationLevel"] == "strict"
    assert [i["name"] for i in users.indexes] == ["_id_", "email_1"]
    assert read_all(path) == {c.namespace: c.docs for c in colls if c.docs}


def test_canonical_extended_json_metadata(tmp_path: Path) -> None:
    coll = Coll("app", "t", [doc(_id=1)], {})
    data = build_archive([coll])
    canonical = '{"indexes":[{"v":{"$numberInt":"2"},"key":{"_id":{"$numberInt":"1"}},"name":"_id_"}],' \
                '"options":{"capped":true,"size":{"$numberLong":"4096"}},"type":"collection"}'
    data = data.replace(bson.encode({"db": "app", "collection": "t", "metadata": "{}", "size": 0,
                                     "type": "collection"}),
                        bson.encode({"db": "app", "collection": "t", "metadata": canonical, "size": 0,
                                     "type": "collection"}))
    entry = open_dump(write(tmp_path, data)).info.collections[0]
    assert entry.indexes == [{"v": 2, "key": {"_id": 1}, "name": "_id_"}]
    assert entry.options == {"capped": True, "size": 4096}


def test_writer_produces_the_documented_bytes() -> None:
    """Our writer (capture without mongodump) against the archive built from the spec: byte for byte."""
    colls = [Coll("app", "a", [doc(_id=i) for i in range(2500)], {"indexes": [], "options": {}})]
    out = io.BytesIO()
    entry = CollectionEntry("app", "a", "collection", {"indexes": [], "options": {}})
    writer = ArchiveWriter(out, server_version="7.0.5", tool_version="100.9.4", collections=[(entry, 0)])
    assert writer.write_collection("app", "a", iter(colls[0].docs)) == 2500
    written = out.getvalue()
    expected = build_archive(colls, segment=1000)
    # the header's concurrent_collections and the metadata text's spacing differ by design: compare the rest
    assert written[:4] == expected[:4]
    body_at = written.index(b"\xff\xff\xff\xff") + 4
    assert written[body_at:] == expected[expected.index(b"\xff\xff\xff\xff") + 4:]


def test_writer_output_reads_back(tmp_path: Path) -> None:
    out = io.BytesIO()
    entries = [CollectionEntry("app", "a", metadata={"indexes": [{"v": 2, "key": {"x": 1}, "name": "x_1"}]}),
               CollectionEntry("app", "v", "view", {"options": {"viewOn": "a", "pipeline": []}})]
    writer = ArchiveWriter(out, server_version="6.0.1", tool_version="t", collections=[(e, 0) for e in entries])
    docs = [doc(_id=i, x=Int64(i)) for i in range(3)]
    writer.write_collection("app", "a", docs)
    path = write(tmp_path, gzip.compress(out.getvalue()), "x.archive.gz")
    dump = open_dump(path)
    assert dump.info.collections[1].type == "view" and dump.info.collections[1].options["viewOn"] == "a"
    assert dump.info.collections[0].indexes[0]["key"] == {"x": 1}
    assert read_all(path) == {"app.a": docs}


def test_facts_match_the_reference_checksum(tmp_path: Path) -> None:
    colls = sample()
    facts = facts_from_dump(open_dump(write(tmp_path, build_archive(colls))))
    for c in colls:
        assert (facts[c.namespace].documents, facts[c.namespace].checksum) == collection_checksum(c.docs)
    assert facts["app.users"].definitions["index email_1"] == '{"key": [["email", 1]], "unique": true}'
    assert facts["audit.events"].definitions["option capped"] == "true"


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ArtifactFormatError, match=r"app.archive: not a mongodump archive \(empty file\)"):
        open_dump(write(tmp_path, b""))


def test_wrong_format_is_named(tmp_path: Path) -> None:
    with pytest.raises(ArtifactFormatError, match=r"not a mongodump archive.*it is a PNG image") as err:
        open_dump(write(tmp_path, b"\x89PNG\r\n\x1a\n" + b"\0" * 64))
    assert "mongodump --archive" in err.value.describe()  # the fix
    with pytest.raises(ArtifactFormatError, match="pg_dump archive"):
        open_dump(write(tmp_path, b"PGDMP\x01\x0e\x00" + b"\0" * 64))
    with pytest.raises(ArtifactFormatError, match="starts with 7b226122, not 6de29981"):
        open_dump(write(tmp_path, json.dumps({"a": 1}).encode()))


def test_unknown_archive_version(tmp_path: Path) -> None:
    with pytest.raises(ArtifactFormatError, match=r"format version '0\.2'"):
        open_dump(write(tmp_path, build_archive(sample(), version="0.2")))


def test_crc_mismatch_names_the_namespace(tmp_path: Path) -> None:
    path = write(tmp_path, build_archive(sample(), crc={"app.orders": 12345}))
    with pytest.raises(ArtifactFormatError, match=r"app\.orders fail their CRC-64") as err:
        read_all(path)
    assert "damaged" in err.value.describe()


def test_missing_eof_blocks_are_truncation(tmp_path: Path) -> None:
    path = write(tmp_path, build_archive(sample(), eof=False))
    with pytest.raises(ArtifactFormatError,
                       match=r"ends before the EOF block of app\.orders, app\.users, audit\.events"):
        read_all(path)


def test_data_for_an_unlisted_namespace(tmp_path: Path) -> None:
    data = build_archive(sample())
    data = data.replace(bson.encode({"db": "app", "collection": "orders", "EOF": False, "CRC": Int64(0)}),
                        bson.encode({"db": "app", "collection": "ghost!", "EOF": False, "CRC": Int64(0)}), 1)
    with pytest.raises(ArtifactFormatError, match=r"data for app\.ghost!, which the archive's prelude does not list"):
        read_all(write(tmp_path, data))


ARCHIVE = build_archive(sample())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=len(ARCHIVE) - 1), compress=st.booleans())
def test_every_truncation_fails_clearly(tmp_path: Path, cut: int, compress: bool) -> None:
    data = gz(ARCHIVE)[: cut * len(gz(ARCHIVE)) // len(ARCHIVE)] if compress else ARCHIVE[:cut]
    path = write(tmp_path, data)
    with pytest.raises(ArtifactFormatError) as err:
        read_all(path)
    assert str(path) in err.value.describe()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(at=st.integers(min_value=0, max_value=len(ARCHIVE) - 1), mask=st.integers(min_value=1, max_value=255))
def test_a_flipped_byte_never_crashes_the_reader(tmp_path: Path, at: int, mask: int) -> None:
    """Anywhere: an ArtifactFormatError or (in a name or version string of a control document) a different
    but well-formed archive; never another exception."""
    data = bytearray(ARCHIVE)
    data[at] ^= mask
    with contextlib.suppress(ArtifactFormatError):
        read_all(write(tmp_path, bytes(data)))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_flipped_document_byte_is_always_detected(tmp_path: Path, data: st.DataObject) -> None:
    colls = sample()
    target = data.draw(st.sampled_from([c for c in colls if c.docs]))
    index = data.draw(st.integers(0, len(target.docs) - 1))
    original = target.docs[index]
    at = data.draw(st.integers(4, len(original) - 2))  # inside the document, not its length or final NUL
    damaged = bytearray(original)
    damaged[at] ^= data.draw(st.integers(1, 255))
    archive = build_archive(colls).replace(original, bytes(damaged), 1)
    with pytest.raises(ArtifactFormatError, match="CRC-64"):
        read_all(write(tmp_path, archive))


def test_gzip_damage_is_reported(tmp_path: Path) -> None:
    data = bytearray(gz(ARCHIVE))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(ArtifactFormatError) as err:
        read_all(write(tmp_path, bytes(data), "x.archive.gz"))
    assert "x.archive.gz" in err.value.describe() and "damaged" in err.value.describe()


def write_directory(root: Path, colls: list[Coll], *, compress: bool = False) -> Path:
    for c in colls:
        folder = root / c.db
        folder.mkdir(parents=True, exist_ok=True)
        suffix = ".gz" if compress else ""
        data = b"".join(c.docs)
        name = c.name.replace("/", "%2F")
        (folder / f"{name}.bson{suffix}").write_bytes(gz(data) if compress else data)
        meta = json.dumps({**c.metadata, "collectionName": c.name, "type": c.type}).encode()
        (folder / f"{name}.metadata.json{suffix}").write_bytes(gz(meta) if compress else meta)
    (root / "oplog.bson").write_bytes(b"")  # top-level files (oplog) are not collections
    return root


@pytest.mark.parametrize("compress", [False, True])
def test_directory_dump(tmp_path: Path, compress: bool) -> None:
    colls = [*sample(), Coll("app", "odd/name", [doc(_id="x")], metadata_json())]
    root = write_directory(tmp_path / "dump", colls, compress=compress)
    dump = open_dump(root)
    assert isinstance(dump, DirectoryDump) and dump.info.format == "directory"
    assert sorted(c.namespace for c in dump.info.collections) == sorted(c.namespace for c in colls)
    assert read_all(root) == {c.namespace: c.docs for c in colls if c.docs}
    facts = facts_from_dump(open_dump(root))
    assert facts["app.users"].documents == 5 and facts["audit.events"].documents == 0


def test_directory_with_a_truncated_bson_file(tmp_path: Path) -> None:
    root = write_directory(tmp_path / "dump", sample())
    bson_file = root / "app" / "orders.bson"
    bson_file.write_bytes(bson_file.read_bytes()[:-3])
    with pytest.raises(ArtifactFormatError, match=r"orders\.bson: ends after .* inside a document of app.orders"):
        read_all(root)


def test_directory_without_dump_files(tmp_path: Path) -> None:
    (tmp_path / "empty" / "db").mkdir(parents=True)
    with pytest.raises(ArtifactFormatError, match="not a mongodump --out directory"):
        open_dump(tmp_path / "empty")


def test_damaged_metadata_json(tmp_path: Path) -> None:
    root = write_directory(tmp_path / "dump", sample())
    (root / "app" / "users.metadata.json").write_text("{not json")
    with pytest.raises(ArtifactFormatError, match=r"users\.metadata\.json: collection metadata is not Extended JSON"):
        open_dump(root)


def test_time_series_buckets_and_views(tmp_path: Path) -> None:
    """mongodump lists a time series collection under its own name and sends its buckets' documents; a view has
    metadata and no data. Neither is an unknown namespace, and neither is measured as documents."""
    weather = Coll("app", "weather", [], {"options": {"timeseries": {"timeField": "at"}}}, type="timeseries")
    buckets = Coll("app", "system.buckets.weather", [doc(_id=1, control={"version": 1})])
    view = Coll("app", "paid", [], {"options": {"viewOn": "orders", "pipeline": []}}, type="view")
    data = build_archive([weather, buckets, view])
    # the prelude names the time series collection only, not its buckets
    data = data.replace(bson.encode({"db": "app", "collection": "system.buckets.weather", "metadata": "{}", "size": 0,
                                     "type": "collection"}), b"")
    path = write(tmp_path, data)
    dump = open_dump(path)
    assert [c.namespace for c in dump.info.collections] == ["app.weather", "app.paid"]
    assert read_all(path) == {"app.system.buckets.weather": buckets.docs}
    facts = facts_from_dump(open_dump(path))
    assert facts["app.weather"].documents is None and facts["app.paid"].documents is None
    assert facts["app.paid"].definitions["option viewOn"] == '"orders"'
