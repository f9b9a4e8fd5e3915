"""Every kind of bad backup, for every file-based store kind: the store fails (or errors) with a message naming
the artifact (or its manifest) and the cause — never a traceback, never a pass — and nothing is left behind."""

from __future__ import annotations

import gzip
import logging
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import sandbox_dirs, sandbox_processes
from tests.conftest import verify as pg_verify
from tests.faults.artifacts import FAULTS, Fault, damage, png_image
from tests.mysql_support import mysql_verify
from tests.redis_support import redis_verify
from verifiers.errors import ManifestError
from verifiers.runner import StoreOutcome
from verifiers.sources import sha256_file
from verifiers.terminal_summary import summary_lines


@dataclass(frozen=True)
class Backup:
    kind: str
    artifact: Path
    manifest: Path
    run: Callable[[], StoreOutcome]


# kind id -> (capture fixture, attribute of the artifact, verify function, store kind, suffix)
KINDS = {
    "postgres-dump": ("demo_capture", "dump", pg_verify, "postgres", ".dump"),
    "redis-rdb": ("redis_capture", "rdb", redis_verify, "redis", ".rdb"),
    "mysql-sql-gz": ("mysql_capture", "dump", mysql_verify, "mysql", ".sql.gz"),
    "mysql-sql": ("mysql_capture", "dump", mysql_verify, "mysql", ".sql"),
}


def leftovers() -> tuple[set[str], set[Path]]:
    return set(sandbox_processes()), set(sandbox_dirs())


@pytest.fixture
def backup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backup]:
    """A private copy of a kind's captured backup and manifest; afterwards, no new sandbox process or dir."""
    fixture, attribute, run, kind, suffix = KINDS[request.param]
    capture = request.getfixturevalue(fixture)
    source: Path = getattr(capture, attribute)
    stem = source.name.split(".")[0]
    artifact, manifest = tmp_path / f"{stem}{suffix}", tmp_path / f"{stem}.manifest.json"
    data = source.read_bytes()
    artifact.write_bytes(gzip.decompress(data) if suffix == ".sql" else data)
    shutil.copyfile(capture.manifest, manifest)
    if suffix == ".sql":  # the manifest of the gzipped capture, claiming the plain file
        manifest.write_text(manifest.read_text().replace(sha256_file(source), sha256_file(artifact)))
    processes, dirs = leftovers()
    yield Backup(kind, artifact, manifest, lambda: run(tmp_path, f"*{suffix}"))
    after_processes, after_dirs = leftovers()
    assert after_processes - processes == set()
    assert after_dirs - dirs == set()


def messages(outcome: StoreOutcome) -> str:
    """What a user reads about a store that did not pass: the error, else every failed check's message."""
    if outcome.error is not None:
        return outcome.error["message"]
    return "\n".join(c.message for c in outcome.checks if not c.passed and not c.message.startswith("not verified"))


# What each fault must be reported as, per kind (a regular expression over the messages).
CAUSES: dict[str, str | dict[str, str]] = {
    "empty": r"(the file is empty|not an RDB file \(empty file\))",
    "truncated-in-header": {"postgres": "header is truncated", "redis": "RDB header is truncated",
                            "mysql-sql-gz": "gzip data is corrupt", "mysql-sql": "not a MySQL/MariaDB dump"},
    "truncated-at-half": {"postgres": "pg_restore on .* exited 1", "redis": "found the RDB damaged",
                          "mysql": "(truncated|exited)"},
    "truncated-near-end": {"postgres": "pg_restore on .* exited 1", "redis": "found the RDB damaged",
                           "mysql": "(truncated|exited)"},
    "flipped-header-byte": {"postgres": "not a PostgreSQL dump", "redis": "not an RDB file",
                            "mysql-sql-gz": "not a MySQL/MariaDB dump", "mysql-sql": "exited 1"},
    "flipped-data-byte": {"postgres": "pg_restore on .* exited 1", "redis": "found the RDB damaged",
                          "mysql-sql-gz": "gzip stream is corrupt",
                          "mysql-sql": "(exited 1|checksum differs)"},  # a changed value that is still SQL
    "png-under-the-backups-name": "a PNG image",
    "compressed-twice": "compressed twice",
    "newer-server-than-any-here": {"postgres": "no PostgreSQL 99 or newer", "redis": "RDB version 99",
                                   "mysql": "no MariaDB 99.1 or newer"},
    "manifest-sha256-differs": "sha256 differs from its manifest",
    "manifest-schema-version-unknown": "has schema_version 99; this restoreproof reads 1",
    "manifest-schema-version-missing": "has schema_version None; this restoreproof reads 1",
    "manifest-not-an-object": "(is of kind None|is a None manifest|is not a .* manifest|schema_version None)",
}


def cause_for(fault: Fault, kind_id: str, kind: str) -> str:
    cause = CAUSES[fault.id]
    if isinstance(cause, str):
        return cause
    return cause.get(kind_id.replace("postgres-dump", "postgres").replace("redis-rdb", "redis"), cause.get(kind, ""))


# Every fault for every kind, but the manifest faults once per manifest format (a plain .sql's manifest is a
# .sql.gz's): each case restores, and the suite has a time budget.
CASES = [pytest.param(kind, fault, id=f"{kind}-{fault.id}") for kind in KINDS for fault in FAULTS
         if not (kind == "mysql-sql" and fault.manifest is not None)]


@pytest.mark.parametrize(("backup", "fault"), CASES, indirect=["backup"])
def test_bad_artifact_is_reported_never_passed(backup: Backup, fault: Fault, request: pytest.FixtureRequest,
                                               caplog: pytest.LogCaptureFixture) -> None:
    damage(fault, backup.kind, backup.artifact, backup.manifest)
    with caplog.at_level(logging.WARNING):
        outcome = backup.run()  # a traceback would fail this test here
    assert outcome.status in ("failed", "error")
    text = messages(outcome)
    if outcome.error is not None:  # the error names the file it is about
        named = backup.manifest.name if fault.manifest else backup.artifact.name
        assert named in text, text[:600]
    else:  # the summary's failed-check lines name the backup; its failed checks the cause
        summary = "\n".join(line.text for line in summary_lines([outcome]))
        assert f"{outcome.store.name} ({backup.artifact.name}): " in summary
    kind_id = request.node.callspec.params["backup"]
    assert re.search(cause_for(fault, kind_id, backup.kind), text), text[:600]
    assert not [r for r in caplog.records if r.exc_info], "an exception was logged with its traceback"
    if outcome.error is None:  # the artifact check judged the file by its hash (the manifest claims it)
        assert [c.passed for c in outcome.checks if c.check == "artifact"] == [fault.artifact is not None]


# The S3-bucket and DynamoDB kinds have no artifact file; their manifest is the file that can go bad.
def s3_manifest(path: Path) -> None:
    from verifiers.stores.s3.manifest import S3Manifest, save_manifest

    save_manifest(S3Manifest(captured_at=datetime.now(UTC), bucket="acme", prefix="", objects={}), path)


def dynamodb_manifest(path: Path) -> None:
    from verifiers.stores.dynamodb.manifest import DynamoDbManifest, TableFacts, save_manifest

    facts = TableFacts(items=0, checksum="0" * 16, schema={"key": "id HASH"})
    save_manifest(DynamoDbManifest(captured_at=datetime.now(UTC), table="orders", facts=facts), path)


MANIFEST_FAULTS: dict[str, Callable[[str], str]] = {
    "empty": lambda text: "",
    "not-json": lambda text: text[: len(text) // 2],
    "not-an-object": lambda text: f"[{text}]",
    "schema-version-unknown": lambda text: text.replace('"schema_version": 1', '"schema_version": 99'),
    "schema-version-missing": lambda text: text.replace('"schema_version": 1,', ""),
    "png": lambda text: png_image().decode("latin-1"),
}


@pytest.mark.parametrize("kind", ["s3", "dynamodb"])
@pytest.mark.parametrize("fault", list(MANIFEST_FAULTS))
def test_bad_manifest_of_a_bucket_or_table_is_a_clear_error(kind: str, fault: str, tmp_path: Path) -> None:
    from verifiers.stores.dynamodb.manifest import load_manifest as load_dynamodb
    from verifiers.stores.s3.manifest import load_manifest as load_s3

    path = tmp_path / f"{kind}.manifest.json"
    (s3_manifest if kind == "s3" else dynamodb_manifest)(path)
    path.write_text(MANIFEST_FAULTS[fault](path.read_text()), encoding="latin-1")
    with pytest.raises(ManifestError) as raised:  # never another exception
        (load_s3 if kind == "s3" else load_dynamodb)(path, store="x")
    message = raised.value.describe()
    assert message.startswith(f"store x: manifest {path} ")
    if fault.startswith("schema-version"):
        assert "schema_version" in message
