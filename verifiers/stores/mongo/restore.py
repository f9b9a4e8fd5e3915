"""Restore a mongodump into a sandbox server: `mongorestore` when it is installed, else the same work through
pymongo (collections created with their options and validators, documents inserted in batches as raw BSON,
indexes built from the metadata). Error lines never carry document values."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bson.raw_bson import RawBSONDocument
from pymongo import MongoClient
from pymongo.errors import BulkWriteError, OperationFailure, PyMongoError

from verifiers.errors import ArtifactFormatError
from verifiers.stores.mongo.archive import CollectionEntry, MongoDump
from verifiers.stores.mongo.local_server import MongoServer
from verifiers.stores.mongo.measure import SERVER_DATABASES
from verifiers.stores.mongo.metadata import create_options, index_specs
from verifiers.stores.mongo.namespaces import NamespaceMap
from verifiers.stores.restore_tool import RestoreOutcome

MAX_BATCH_DOCUMENTS = 1000
MAX_BATCH_BYTES = 8 << 20
# Users, roles and the auth schema version are the production server's, not data to verify: a sandbox
# without authentication does not need them, and restoring them can fail across versions.
EXCLUDED_NAMESPACES = ("admin.system.users", "admin.system.roles", "admin.system.version")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')
_DUP_KEY = re.compile(r"(dup key|key|document|failing document|value):\s*\{.*", re.I)


def redact(line: str) -> str:
    """An error line without values: quoted text and `dup key: {...}` parts are cut."""
    return _QUOTED.sub('"<redacted>"', _DUP_KEY.sub(r"\1: {<redacted>}", line))


def find_mongorestore(bin_dir: str | None) -> Path | None:
    for directory in (bin_dir, os.environ.get("RESTOREPROOF_MONGO_BIN_DIR")):
        if directory and (Path(directory) / "mongorestore").is_file():
            return Path(directory) / "mongorestore"
    found = shutil.which("mongorestore")
    return Path(found) if found else None


def mongorestore_argv(tool: Path, server: MongoServer, dump: MongoDump, config: Path | None = None) -> list[str]:
    """The command line; a password (an external server's whole URI) goes in the 0600 `--config` file, never on
    it. On an external server the namespace map restores each database into its scratch database."""
    connection, _ = server.tool_connection()
    argv = [str(tool), *connection, "--stopOnError", "--bypassDocumentValidation",
            "--numParallelCollections=2", *(f"--nsExclude={ns}" for ns in EXCLUDED_NAMESPACES),
            *server.namespaces.mongorestore_args()]
    if config is not None:
        argv.append(f"--config={config}")
    if dump.info.format == "directory":
        gz = any(p.name.endswith(".gz") for p in dump.path.rglob("*"))
        return argv + (["--gzip"] if gz else []) + [f"--dir={dump.path}"]
    return argv + (["--gzip"] if dump.info.format == "archive.gz" else []) + [f"--archive={dump.path}"]


def restore_with_mongorestore(tool: Path, server: MongoServer, dump: MongoDump, *, timeout: float,
                              log_dir: Path) -> RestoreOutcome:
    outcome = RestoreOutcome(tool=f"mongorestore ({tool})", timeout_seconds=timeout)
    log_path = log_dir / "mongorestore.log"
    config = None
    _, secrets = server.tool_connection()
    if secrets:
        config = log_dir / "mongorestore.yaml"
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for key, value in secrets.items():
                fh.write(f"{key}: {json.dumps(value)}\n")  # a JSON string is a YAML string
    with log_path.open("wb") as log:
        proc = subprocess.Popen(mongorestore_argv(tool, server, dump, config), stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, process_group=0)
        try:
            outcome.exit_code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            outcome.timed_out, outcome.exit_code = True, None
        finally:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    if config is not None:
        config.unlink(missing_ok=True)  # the secret does not outlive the tool
    text = log_path.read_text(encoding="utf-8", errors="replace")
    outcome.error_lines = [redact(server.namespaces.reword(line.split("\t", 1)[-1])) for line in text.splitlines()
                           if re.search(r"\b(Failed|error|E\d{5})\b", line, re.I)
                           and not re.search(r"\b0 failed\b|\b0 document\(s\) failed", line)]
    return outcome


def restore_with_pymongo(client: MongoClient[Any], dump: MongoDump, *, timeout: float,
                         namespaces: NamespaceMap | None = None) -> RestoreOutcome:
    """What mongorestore does, for hosts without it: create, insert (validation bypassed, as the dump holds
    what the server held), then build indexes (faster than maintaining them during the inserts). Each
    database goes where `namespaces` says (its own name in a sandbox of the harness's own)."""
    where = namespaces or NamespaceMap()
    outcome = RestoreOutcome(tool="pymongo (mongorestore not installed)", timeout_seconds=timeout)
    deadline = time.monotonic() + timeout
    entries = [e for e in dump.info.collections if _restorable(e) and where.server_db(e.db) is not None]
    target = {e.db: str(where.server_db(e.db)) for e in entries}
    try:
        for entry in sorted(entries, key=lambda e: e.type == "view"):  # views after what they read from
            # the `create` command with the dump's own option values, as mongorestore sends them:
            # create_collection() turns a capped `size` into a double, which mongoeco 4.11 refuses (issue 26)
            client[target[entry.db]].command("create", entry.collection, **create_options(entry))
        for namespace, batch in _batches(dump, {e.namespace for e in entries if e.has_data}):
            if time.monotonic() > deadline:
                outcome.timed_out, outcome.exit_code = True, None
                return outcome
            db, _, coll = namespace.partition(".")
            client[target[db]][coll].insert_many(batch, ordered=True, bypass_document_validation=True)
        for entry in entries:
            specs = index_specs(entry)
            if specs and entry.type != "view":
                client[target[entry.db]].command("createIndexes", entry.collection, indexes=specs)
    except ArtifactFormatError as exc:
        outcome.exit_code, outcome.error_lines = 1, [exc.describe()]
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors") or [{}]
        first = errors[0]
        outcome.exit_code = 1
        outcome.error_lines = [f"insert failed: code {first.get('code')} ({first.get('codeName', 'error')}), "
                               f"{len(errors)} documents refused: "
                               f"{redact(where.reword(str(first.get('errmsg', ''))))}"]
    except OperationFailure as exc:
        outcome.exit_code = 1
        outcome.error_lines = [f"code {exc.code} ({(exc.details or {}).get('codeName', 'error')}): "
                               f"{redact(where.reword(str((exc.details or {}).get('errmsg', exc))))}"]
    except PyMongoError:
        raise  # the sandbox itself is gone: an error of the run, not of the backup
    return outcome


def dump_databases(dump: MongoDump) -> list[str]:
    """The databases of the dump that hold something to restore (an external sandbox gives each a scratch
    database)."""
    return sorted({e.db for e in dump.info.collections if _restorable(e)})


def _restorable(entry: CollectionEntry) -> bool:
    if entry.db in SERVER_DATABASES or entry.namespace in EXCLUDED_NAMESPACES:
        return False
    return not entry.collection.startswith("system.")


def _batches(dump: MongoDump, wanted: set[str]) -> Iterator[tuple[str, list[RawBSONDocument]]]:
    pending: dict[str, tuple[list[RawBSONDocument], int]] = {}
    for namespace, raw in dump.documents():
        if namespace not in wanted:
            continue
        docs, size = pending.get(namespace, ([], 0))
        docs.append(RawBSONDocument(raw))
        size += len(raw)
        if len(docs) >= MAX_BATCH_DOCUMENTS or size >= MAX_BATCH_BYTES:
            yield namespace, docs
            docs, size = [], 0
        pending[namespace] = (docs, size)
    for namespace, (docs, _) in pending.items():
        if docs:
            yield namespace, docs
