"""Capture at backup time: a mongodump archive (gzipped) and the manifest measured from that very file.

The dump is written by `mongodump --archive --gzip` when it is installed, else by pymongo in the same archive
format (mongorestore reads either). The manifest is then measured from the written archive, not from the live
server, so it describes exactly the documents the backup holds (as `capture redis` does with its RDB).

Point in time: mongodump without `--oplog` reads each collection at its own time. The pymongo export reads
every collection in one snapshot session (`snapshot=True`) when the server is a replica set or sharded
cluster of MongoDB 5.0+, so the backup is one point in time; a standalone server has no snapshot reads, and
the manifest's `consistency` says so. The live server is only read.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pymongo import MongoClient
from pymongo.client_session import ClientSession
from pymongo.errors import ConfigurationError, OperationFailure, PyMongoError

from verifiers import __version__
from verifiers.errors import CaptureError
from verifiers.sources import sha256_file, sha256_tree
from verifiers.sources.file import default_manifest_path
from verifiers.stores.hash_ranges import DEFAULT_SEGMENT_ITEMS, check_segment_items
from verifiers.stores.mongo.archive import ArchiveWriter, CollectionEntry, open_dump
from verifiers.stores.mongo.engine import server_engine, unsupported
from verifiers.stores.mongo.manifest import DumpArtifact, MongoManifest, save_manifest
from verifiers.stores.mongo.measure import facts_from_dump, measured, raw_documents
from verifiers.stores.mongo.metadata import listed_type

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:@/]*)(?::[^@/]*)?@")
_SECRET_PARAM = re.compile(r"(?i)([?&][^=&]*(?:password|secret|token|key)[^=&]*=)[^&]*")
CONSISTENCY_MONGODUMP = "mongodump without --oplog: each collection read at its own time"
CONSISTENCY_SNAPSHOT = "one snapshot session (readConcern snapshot): every collection at the same point in time"
CONSISTENCY_NONE = "standalone server (no snapshot reads): each collection read at its own time"


def redact_uri(text: str) -> str:
    """A URI (or a log line holding one) with its password and secret query parameters shown as ***."""
    text = _CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:***@" if m["user"] else m[0], text)
    return _SECRET_PARAM.sub(r"\1***", text)


def find_mongodump(bin_dir: str | None) -> Path | None:
    for directory in (bin_dir, os.environ.get("RESTOREPROOF_MONGO_BIN_DIR")):
        if directory and (Path(directory) / "mongodump").is_file():
            return Path(directory) / "mongodump"
    found = shutil.which("mongodump")
    return Path(found) if found else None


def capture_mongo(uri: str | None, out_dir: Path | None, *, name: str | None = None, from_dump: Path | None = None,
                  via: str = "auto", bin_dir: str | None = None, now: datetime | None = None,
                  segment_documents: int = DEFAULT_SEGMENT_ITEMS) -> tuple[Path, Path]:
    """Write NAME-<stamp>.archive.gz and NAME-<stamp>.manifest.json (or, with `from_dump`, only the manifest of an
    existing dump, beside it); return the dump's and the manifest's paths. The manifest keeps each collection's
    count and checksum per `_id`-hash segment of about `segment_documents` documents."""
    check_segment_items("mongo", "--segment-documents", segment_documents)
    if name is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise CaptureError(f"capture mongo: --name {name!r} is not a plain file name",
                           hint="use letters, digits, '.', '_' and '-'")
    captured_at = now or datetime.now(UTC)
    if from_dump is not None:
        manifest_path = default_manifest_path(from_dump)
        if manifest_path.exists():
            raise CaptureError(f"capture mongo: {manifest_path} already exists; refusing to overwrite a manifest")
        manifest = measure_dump(from_dump, source=from_dump.name, method="mongodump (existing dump)",
                                consistency="unknown: an existing dump", captured_at=captured_at,
                                segment_documents=segment_documents)
        save_manifest(manifest, manifest_path)
        return from_dump, manifest_path
    if uri is None or out_dir is None:
        raise CaptureError("capture mongo: give --uri and --out, or --from-dump PATH")
    shown = redact_uri(uri)
    database = _database(uri, shown)
    stem = f"{name or database or 'mongo'}-{captured_at.strftime(STAMP_FORMAT)}"
    out_dir.mkdir(parents=True, exist_ok=True)
    dump_path, manifest_path = out_dir / f"{stem}.archive.gz", out_dir / f"{stem}.manifest.json"
    if dump_path.exists() or manifest_path.exists():
        raise CaptureError(f"capture mongo: {dump_path} already exists; refusing to overwrite a backup")
    partial = dump_path.with_name(f".{dump_path.name}.partial")
    tool = find_mongodump(bin_dir) if via in ("auto", "mongodump") else None
    if via == "mongodump" and tool is None:
        raise CaptureError("capture mongo: --via mongodump, but no mongodump was found (bin dir, "
                           "RESTOREPROOF_MONGO_BIN_DIR, PATH)", hint="install MongoDB Database Tools, or --via pymongo")
    try:
        if tool is not None:
            method, consistency = _mongodump(tool, uri, shown, partial), CONSISTENCY_MONGODUMP
        else:
            method, consistency = _pymongo_export(uri, shown, database, partial)
        manifest = measure_dump(partial, source=shown, method=method, consistency=consistency,
                                captured_at=captured_at, name=dump_path.name, segment_documents=segment_documents)
        save_manifest(manifest, manifest_path)
        os.replace(partial, dump_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        manifest_path.unlink(missing_ok=True)
        raise
    return dump_path, manifest_path


def measure_dump(path: Path, *, source: str, method: str, consistency: str, captured_at: datetime,
                 name: str | None = None, segment_documents: int = DEFAULT_SEGMENT_ITEMS) -> MongoManifest:
    dump = open_dump(path)
    facts = facts_from_dump(dump, segment_documents=segment_documents)
    if path.is_dir():
        digest, size = sha256_tree(path), sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    else:
        digest, size = sha256_file(path), path.stat().st_size
    return MongoManifest(
        tool_version=__version__, captured_at=captured_at, source=source, method=method, consistency=consistency,
        server_version=dump.info.server_version,
        artifact=DumpArtifact(name=name or path.name, sha256=digest, bytes=size, format=dump.info.format),
        collections=facts)


def _database(uri: str, shown: str) -> str | None:
    try:
        path = urlsplit(uri).path
    except ValueError:
        raise CaptureError(f"capture mongo: {shown} is not a mongodb:// or mongodb+srv:// URI") from None
    if not uri.startswith(("mongodb://", "mongodb+srv://")):
        raise CaptureError(f"capture mongo: {shown} is not a mongodb:// or mongodb+srv:// URI",
                           hint="e.g. mongodb://backup:PASSWORD@db.internal:27017/app?authSource=admin")
    return unquote(path.lstrip("/")) or None


def _mongodump(tool: Path, uri: str, shown: str, out: Path) -> str:
    """mongodump with the URI in a 0600 --config file: a password never appears on a command line."""
    scratch = Path(tempfile.mkdtemp(prefix="restoreproof-mongo-capture-"))
    try:
        config = scratch / "mongodump.yaml"
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"uri: {json.dumps(uri)}\n")  # a JSON string is a YAML string
        result = subprocess.run([str(tool), f"--config={config}", f"--archive={out}", "--gzip"],
                                capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
                                process_group=0)
        if result.returncode != 0:
            lines = [redact_uri(line) for line in result.stderr.splitlines() if line.strip()][-10:]
            raise CaptureError(f"capture mongo: mongodump of {shown} failed (exit {result.returncode}): "
                               + " | ".join(lines)[-2000:],
                               hint="check the URI, the network path, and that the user may read every database "
                               "(the backup role)")
        version = subprocess.run([str(tool), "--version"], capture_output=True, text=True, check=False)
        first = (version.stdout.splitlines() or ["mongodump"])[0].strip()
        return first.replace("mongodump version:", "mongodump").strip()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _pymongo_export(uri: str, shown: str, database: str | None, out: Path) -> tuple[str, str]:
    try:
        client: MongoClient[Any] = MongoClient(uri, serverSelectionTimeoutMS=15_000, appname="restoreproof-capture")
    except (ConfigurationError, ValueError) as exc:
        raise CaptureError(f"capture mongo: {shown}: {redact_uri(str(exc))}",
                           hint="check the URI's options") from None
    try:
        try:
            hello = client.admin.command("hello")
        except OperationFailure:  # servers before 4.4.2 know it as isMaster
            hello = client.admin.command("isMaster")
        engine = server_engine(client)
        version = engine.speaks
        snapshot = (bool(hello.get("setName")) or hello.get("msg") == "isdbgrid") and int(version.split(".")[0]) >= 5
        with _session(client, snapshot) as session:
            # listings outside the session: snapshot read concern is for find/aggregate/distinct only
            entries = list(_entries(client, database, shown))
            with out.open("wb") as fh:
                writer = ArchiveWriter(fh, server_version=version, tool_version=f"restoreproof {__version__}",
                                       collections=[(e, 0) for e in entries])
                for entry in entries:
                    data = _data_collection(entry, version)
                    if data is not None:
                        writer.write_collection(entry.db, data, raw_documents(client[entry.db][data], session=session))
        method = "pymongo export (mongodump not installed)" + ("" if engine.engine == "mongodb" else
                                                              f" of {engine.describe()}")
        return method, CONSISTENCY_SNAPSHOT if snapshot else CONSISTENCY_NONE
    except PyMongoError as exc:
        raise CaptureError(f"capture mongo: reading {shown} failed: {redact_uri(str(exc).splitlines()[0])}",
                           hint="check the URI, the network path, and that the user may read every database "
                           "(the backup role)") from None
    finally:
        client.close()


def _data_collection(entry: CollectionEntry, server_version: str) -> str | None:
    """Where a namespace's documents are read from: itself, a time series collection's buckets (as mongodump
    writes them for servers before 8.3, which mongorestore reads back), or nowhere (views)."""
    if entry.has_data:
        return entry.collection
    if entry.type != "timeseries":
        return None
    major_minor = tuple(int(p) for p in re.findall(r"\d+", server_version)[:2])
    if major_minor >= (8, 3):
        raise CaptureError(f"capture mongo: {entry.namespace} is a time series collection on MongoDB {server_version}, "
                           "which this export cannot dump yet", hint="install MongoDB Database Tools (mongodump)")
    return f"system.buckets.{entry.collection}"


@contextlib.contextmanager
def _session(client: MongoClient[Any], snapshot: bool) -> Iterator[ClientSession | None]:
    if not snapshot:
        yield None
        return
    with client.start_session(snapshot=True) as session:
        yield session


def _entries(client: MongoClient[Any], database: str | None, shown: str) -> Iterator[CollectionEntry]:
    names = [database] if database else _all_databases(client, shown)
    for db_name in names:
        db = client[db_name]
        for info in sorted(db.list_collections(), key=lambda i: str(i["name"])):
            if not measured(f"{db_name}.{info['name']}"):
                continue
            kind = listed_type(info)
            indexes = [dict(i) for i in db[info["name"]].list_indexes()] if kind != "view" else []
            metadata: dict[str, Any] = {"indexes": indexes, "collectionName": info["name"], "type": kind,
                                        "options": dict(info.get("options") or {})}
            yield CollectionEntry(db=db_name, collection=str(info["name"]), type=kind, metadata=metadata)



def _all_databases(client: MongoClient[Any], shown: str) -> list[str]:
    """Every database, by listDatabases. A server that refuses it (mongoeco 4.11 once a database holds a
    Decimal128, Regex, Timestamp, MinKey, MaxKey or DBRef: issue 26) leaves the backup's contents unknown: the
    capture fails naming the command."""
    try:
        return sorted(client.list_database_names())
    except OperationFailure as exc:
        lacking = unsupported(exc)
        reason = f"does not support {lacking}" if lacking else f"refused it: {redact_uri(str(exc).splitlines()[0])}"
        raise CaptureError(f"capture mongo: {shown} cannot list its databases (listDatabases): the server {reason}",
                           hint="name the database to back up in the URI (mongodb://HOST/DATABASE), one capture "
                           "per database") from None


def run(args: argparse.Namespace) -> str:
    """`restoreproof capture mongo`: write the dump (unless --from-dump) and its manifest; say where."""
    if args.uri is not None and args.out is None:
        raise CaptureError("capture mongo: --uri needs --out DIR", hint="say where the dump and manifest go")
    dump, manifest = capture_mongo(args.uri, args.out, name=args.name, from_dump=args.from_dump, via=args.via,
                                   bin_dir=args.bin_dir, segment_documents=args.segment_documents)
    return f"backup:   {dump}\nmanifest: {manifest}"
