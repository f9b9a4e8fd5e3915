"""mongodump output, read without a server: the `--archive` stream (gzipped or not) and the `--out`
directory of `<db>/<collection>.bson` + `.metadata.json` files (each optionally `.gz`).

The archive layout (mongo-tools common/archive/spec.md): the magic number 0x8199e26d (little-endian), a
header document, one metadata document per collection, four 0xff terminator bytes; then namespace segments
(a header `{db, collection, EOF: false, CRC: 0}`, documents, terminator), interleaved between collections,
and one EOF block per collection (`{db, collection, EOF: true, CRC}` + terminator) whose CRC is the
CRC-64/ECMA (Go's crc64.ECMA, i.e. CRC-64/XZ) of all that collection's document bytes.

Parsed here rather than by shelling out to bsondump/mongorestore: the harness must reject a truncated, damaged
or wrong file with a clear message on machines that have no MongoDB tools at all, and the same reader measures
the dump at capture. Documents are handed on as raw bytes (never decoded): that is what is hashed and inserted.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import struct
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import unquote

import bson
from bson import json_util
from bson.int64 import Int64
from fastcrc import crc64

from verifiers.errors import ArtifactFormatError
from verifiers.filetypes import identify

MAGIC = struct.pack("<I", 0x8199E26D)
TERMINATOR = b"\xff\xff\xff\xff"
ARCHIVE_VERSION = "0.1"
# BSON documents are at most 16 MiB; mongodump's own control documents are tiny. Anything far larger is a
# damaged length prefix, not a document, and must not make us allocate it.
MAX_DOCUMENT = 48 << 20
READ_BLOCK = 1 << 20
SEGMENT_DOCUMENTS = 1000  # documents per namespace segment when we write an archive
_INT32 = struct.Struct("<i")
_MASK64 = (1 << 64) - 1
HINT_FORMAT = ("point stores.source.path at the output of `mongodump --archive=FILE [--gzip]`, a `mongodump --out "
               "DIR` directory, or `restoreproof capture mongo`")
HINT_TRUNCATED = "the backup is incomplete (the dump was interrupted or the copy cut short); take a new one"
HINT_DAMAGED = "the backup is damaged; restore from another copy or take a new one"


@dataclass(frozen=True)
class CollectionEntry:
    """One namespace of a dump with its metadata (options, indexes, type), as mongodump wrote it."""

    db: str
    collection: str
    type: str = "collection"  # collection | view | timeseries
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return f"{self.db}.{self.collection}"

    @property
    def options(self) -> dict[str, Any]:
        options = self.metadata.get("options") or {}
        return dict(options) if isinstance(options, dict) else {}

    @property
    def indexes(self) -> list[dict[str, Any]]:
        indexes = self.metadata.get("indexes") or []
        return [dict(i) for i in indexes if isinstance(i, dict)]

    @property
    def has_data(self) -> bool:
        """Whether the dump holds documents for it (views have none; time series data sits in buckets)."""
        return self.type == "collection"


DumpFormat = Literal["archive", "archive.gz", "directory"]


@dataclass(frozen=True)
class DumpInfo:
    path: Path
    format: DumpFormat
    server_version: str | None
    tool_version: str | None
    collections: tuple[CollectionEntry, ...]

    def describe(self) -> str:
        made = f", dumped from MongoDB {self.server_version}" if self.server_version else ""
        return f"mongodump {self.format} with {len(self.collections)} namespaces{made}"


def parse_metadata(text: str, where: str) -> dict[str, Any]:
    """A `.metadata.json` (canonical Extended JSON v2; older tools wrote v1): options, indexes, type."""
    if not text.strip():
        return {}
    try:
        parsed = json_util.loads(text)
    except (ValueError, TypeError, bson.errors.BSONError) as exc:
        raise ArtifactFormatError(f"{where}: collection metadata is not Extended JSON ({exc})",
                                  hint=HINT_DAMAGED) from None
    if not isinstance(parsed, dict):
        raise ArtifactFormatError(f"{where}: collection metadata is not a JSON object", hint=HINT_DAMAGED)
    return dict(parsed)


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Stream:
    """Reads a dump stream, turning every way it can be short or damaged into an ArtifactFormatError.

    Buffered by hand in 1 MiB blocks: documents are small and many, and a read call per length prefix and per
    body (even on a BufferedReader) costs more than hashing them."""

    def __init__(self, fh: _Readable, name: str) -> None:
        self.fh = fh
        self.name = name
        self.offset = 0  # of the next unread byte, in the (uncompressed) stream
        self._buf = b""
        self._pos = 0

    def _more(self, what: str) -> bytes:
        try:
            return self.fh.read(READ_BLOCK)
        except EOFError:
            raise ArtifactFormatError(f"{self.name}: the gzip stream ends early (while reading {what})",
                                      hint=HINT_TRUNCATED) from None
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise ArtifactFormatError(f"{self.name}: the gzip stream is damaged near byte {self.offset} of its "
                                      f"content ({exc})", hint=HINT_DAMAGED) from None
        except OSError as exc:
            raise ArtifactFormatError(f"{self.name}: cannot be read: {exc.strerror or exc}",
                                      hint="check the file exists and is readable") from None

    def read(self, size: int, what: str) -> bytes:
        end = self._pos + size
        if end > len(self._buf):
            pieces = [self._buf[self._pos:]]
            have = len(pieces[0])
            while have < size:
                chunk = self._more(what)
                if not chunk:
                    raise ArtifactFormatError(f"{self.name}: ends after {self.offset + have} bytes, inside {what}",
                                              hint=HINT_TRUNCATED)
                pieces.append(chunk)
                have += len(chunk)
            self._buf, self._pos, end = b"".join(pieces), 0, size
        data = self._buf[self._pos:end]
        self._pos = end
        self.offset += size
        return data

    def at_end(self) -> bool:
        if self._pos < len(self._buf):
            return False
        self._buf, self._pos = self._more("the next block"), 0
        return not self._buf

    def document(self, what: str, *, terminator_ok: bool) -> bytes | None:
        """One BSON document's bytes, or None for the terminator (when allowed)."""
        head = self.read(4, what)
        if head == TERMINATOR and terminator_ok:
            return None
        size = _INT32.unpack(head)[0]
        if size < 5 or size > MAX_DOCUMENT:
            raise ArtifactFormatError(f"{self.name}: byte {self.offset - 4}: {what} has an impossible length "
                                      f"({size})", hint=HINT_DAMAGED)
        self.offset -= 4
        self._pos -= 4
        raw = self.read(size, what)
        if raw[-1] != 0:
            raise ArtifactFormatError(f"{self.name}: byte {self.offset - size}: {what} is not a BSON document "
                                      "(no trailing NUL)", hint=HINT_DAMAGED)
        return raw

    def control(self, what: str, *, terminator_ok: bool = False) -> dict[str, Any] | None:
        raw = self.document(what, terminator_ok=terminator_ok)
        if raw is None:
            return None
        try:
            return dict(bson.decode(raw))
        except bson.errors.BSONError as exc:
            raise ArtifactFormatError(f"{self.name}: {what} is not valid BSON ({exc})", hint=HINT_DAMAGED) from None


def is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


@contextlib.contextmanager
def _open(path: Path) -> Iterator[_Stream]:
    """The file's content stream: gunzipped when it starts with the gzip magic (whatever its name says)."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise ArtifactFormatError(f"{path}: cannot be read: {exc.strerror or exc}",
                                  hint="check the file exists and is readable") from None
    with raw:
        if raw.read(2) == b"\x1f\x8b":
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
                yield _Stream(gz, str(path))
        else:
            raw.seek(0)
            yield _Stream(raw, str(path))


class ArchiveDump:
    """A `mongodump --archive` file (gzip or not)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.info = self._read_prelude()

    def _read_prelude(self) -> DumpInfo:
        with _open(self.path) as stream:
            return self._prelude(stream)

    def _prelude(self, stream: _Stream) -> DumpInfo:
        try:
            magic = stream.read(4, "the magic number")
        except ArtifactFormatError:
            if stream.offset == 0 and self.path.stat().st_size == 0:
                raise ArtifactFormatError(f"{self.path}: not a mongodump archive (empty file)",
                                          hint=HINT_FORMAT) from None
            raise
        if magic != MAGIC:
            with self.path.open("rb") as fh:
                what = identify(fh.read(1024))
            shown = f"it is {what}" if what else f"it starts with {magic.hex()}, not {MAGIC.hex()}"
            raise ArtifactFormatError(f"{self.path}: not a mongodump archive ({shown})", hint=HINT_FORMAT)
        header = stream.control("the archive header")
        assert header is not None
        version = header.get("version")
        if version != ARCHIVE_VERSION:
            raise ArtifactFormatError(f"{self.path}: mongodump archive format version {version!r}; this "
                                      f"restoreproof reads {ARCHIVE_VERSION!r}",
                                      hint="upgrade restoreproof, or dump with a mongodump that writes 0.1")
        collections: list[CollectionEntry] = []
        while (entry := stream.control("a collection metadata document", terminator_ok=True)) is not None:
            db, coll = entry.get("db"), entry.get("collection")
            if not isinstance(db, str) or not isinstance(coll, str) or not coll:
                raise ArtifactFormatError(f"{self.path}: a collection metadata document has no db/collection name",
                                          hint=HINT_DAMAGED)
            metadata = parse_metadata(str(entry.get("metadata") or ""), f"{self.path} ({db}.{coll})")
            kind = str(entry.get("type") or metadata.get("type") or "collection")
            collections.append(CollectionEntry(db=db, collection=coll, type=kind, metadata=metadata))
        return DumpInfo(path=self.path, format="archive.gz" if is_gzip(self.path) else "archive",
                        server_version=_text(header.get("server_version")),
                        tool_version=_text(header.get("tool_version")), collections=tuple(collections))

    def documents(self) -> Iterator[tuple[str, bytes]]:
        """(namespace, raw document) for every document, checking segment structure, EOF blocks and CRCs."""
        with _open(self.path) as stream:
            info = self._prelude(stream)
            known = {c.namespace for c in info.collections}
            # a time series collection's documents travel as its buckets (before MongoDB 8.3)
            known |= {f"{c.db}.system.buckets.{c.collection}" for c in info.collections if c.type == "timeseries"}
            crcs: dict[str, int] = {}
            finished: set[str] = set()
            while not stream.at_end():
                header = stream.control("a namespace header")
                assert header is not None
                namespace = f"{header.get('db')}.{header.get('collection')}"
                if namespace not in known and namespace.split(".", 1)[1] != "oplog":
                    raise ArtifactFormatError(f"{self.path}: byte {stream.offset}: data for {namespace}, which the "
                                              "archive's prelude does not list", hint=HINT_DAMAGED)
                if namespace in finished:
                    raise ArtifactFormatError(f"{self.path}: {namespace} continues after its EOF block",
                                              hint=HINT_DAMAGED)
                if header.get("EOF"):
                    if stream.document(f"the terminator of {namespace}'s EOF block", terminator_ok=True) is not None:
                        raise ArtifactFormatError(f"{self.path}: {namespace}'s EOF block is not terminated",
                                                  hint=HINT_DAMAGED)
                    expected, got = int(header.get("CRC") or 0) & _MASK64, crcs.get(namespace, 0)
                    if expected != got:
                        raise ArtifactFormatError(
                            f"{self.path}: the documents of {namespace} fail their CRC-64 (archive says "
                            f"{expected:016x}, content gives {got:016x})", hint=HINT_DAMAGED)
                    finished.add(namespace)
                    continue
                crc = crcs.get(namespace, 0)
                while (raw := stream.document(f"a document of {namespace}", terminator_ok=True)) is not None:
                    crc = crc64.xz(raw, crc)
                    yield namespace, raw
                crcs[namespace] = crc
            unfinished = sorted((set(crcs) | {c.namespace for c in info.collections if c.has_data}) - finished)
            if unfinished:
                shown = ", ".join(unfinished[:5]) + (f" and {len(unfinished) - 5} more" if len(unfinished) > 5 else "")
                raise ArtifactFormatError(f"{self.path}: ends before the EOF block of {shown}", hint=HINT_TRUNCATED)


class DirectoryDump:
    """A `mongodump --out DIR` directory: one folder per database, `<collection>.bson[.gz]` and
    `<collection>.metadata.json[.gz]` inside (collection names percent-escaped by mongodump)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.files: dict[str, Path] = {}
        self.info = self._scan()

    def _scan(self) -> DumpInfo:
        entries: dict[str, CollectionEntry] = {}
        for db_dir in sorted(p for p in self.path.iterdir() if p.is_dir()):
            for file in sorted(db_dir.iterdir()):
                name = file.name
                if name.endswith((".metadata.json", ".metadata.json.gz")):
                    stem = name.removesuffix(".gz").removesuffix(".metadata.json")
                    metadata = parse_metadata(_read_text(file), str(file))
                    coll = str(metadata.get("collectionName") or unquote(stem))
                    kind = str(metadata.get("type") or "collection")
                    entries[f"{db_dir.name}.{coll}"] = CollectionEntry(db_dir.name, coll, kind, metadata)
                elif name.endswith((".bson", ".bson.gz")):
                    coll = unquote(name.removesuffix(".gz").removesuffix(".bson"))
                    namespace = f"{db_dir.name}.{coll}"
                    self.files[namespace] = file
                    entries.setdefault(namespace, CollectionEntry(db_dir.name, coll))
        if not entries:
            raise ArtifactFormatError(f"{self.path}: a directory without any <db>/<collection>.bson or "
                                      ".metadata.json file: not a mongodump --out directory", hint=HINT_FORMAT)
        prelude = self.path / "prelude.json"
        header: dict[str, Any] = {}
        if prelude.is_file():
            with contextlib.suppress(ValueError, OSError):
                header = dict(json.loads(prelude.read_text(encoding="utf-8")))
        return DumpInfo(path=self.path, format="directory", server_version=_text(header.get("ServerVersion")),
                        tool_version=_text(header.get("ToolVersion")), collections=tuple(entries.values()))

    def documents(self) -> Iterator[tuple[str, bytes]]:
        for entry in self.info.collections:
            file = self.files.get(entry.namespace)
            if file is None:
                continue
            with _open(file) as stream:
                while not stream.at_end():
                    raw = stream.document(f"a document of {entry.namespace}", terminator_ok=False)
                    assert raw is not None
                    yield entry.namespace, raw


MongoDump = ArchiveDump | DirectoryDump


def open_dump(path: Path) -> MongoDump:
    """The dump at `path`, its prelude or directory read and checked (documents are read on iteration)."""
    if path.is_dir():
        return DirectoryDump(path)
    if not path.exists():
        raise ArtifactFormatError(f"{path}: does not exist", hint="check stores.source.path")
    return ArchiveDump(path)


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
        data = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ArtifactFormatError(f"{path}: cannot be read ({exc})", hint=HINT_DAMAGED) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ArtifactFormatError(f"{path}: collection metadata is not UTF-8 text", hint=HINT_DAMAGED) from None


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str) and value else None


class _Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...


class ArchiveWriter:
    """Writes the archive format for `capture mongo` without mongodump: mongorestore --archive reads it."""

    def __init__(self, out: _Writable, *, server_version: str, tool_version: str,
                 collections: Sequence[tuple[CollectionEntry, int]]) -> None:
        self.out = out
        out.write(MAGIC)
        out.write(bson.encode({"concurrent_collections": 1, "version": ARCHIVE_VERSION,
                               "server_version": server_version, "tool_version": tool_version}))
        for entry, size in collections:
            out.write(bson.encode({"db": entry.db, "collection": entry.collection,
                                   "metadata": json_util.dumps(entry.metadata,
                                                               json_options=json_util.CANONICAL_JSON_OPTIONS),
                                   "size": size, "type": entry.type}))
        out.write(TERMINATOR)

    def write_collection(self, db: str, collection: str, documents: Iterable[bytes]) -> int:
        """Every document of one collection in segments, then its EOF block with the CRC; returns the count."""
        crc, count, open_segment = 0, 0, False
        for raw in documents:
            if count % SEGMENT_DOCUMENTS == 0:
                if open_segment:
                    self.out.write(TERMINATOR)
                self.out.write(bson.encode({"db": db, "collection": collection, "EOF": False, "CRC": Int64(0)}))
                open_segment = True
            self.out.write(raw)
            crc = crc64.xz(raw, crc)
            count += 1
        if open_segment:
            self.out.write(TERMINATOR)
        signed = crc - (1 << 64) if crc >= 1 << 63 else crc
        self.out.write(bson.encode({"db": db, "collection": collection, "EOF": True, "CRC": Int64(signed)}))
        self.out.write(TERMINATOR)
        return count
