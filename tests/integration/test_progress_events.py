"""The progress events real restores send (verifiers/progress.py), recorded in process: bytes hashed or
streamed from S3 (moto's server) against the artifact's size, pg_restore's items against the entries
`pg_restore --list` shows (parallel and serial), psql fed a gzipped dump by compressed bytes, and tables
checksummed against the tables there are. Numbers only: no event carries a name beyond store and phase."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest

from tests.aws_support import MotoServer
from tests.conftest import Capture, failed, manifest_claiming, verify
from verifiers import progress
from verifiers.inventory import parse_inventory
from verifiers.progress import Unit
from verifiers.runner import StoreOutcome
from verifiers.sources.s3 import S3Objects
from verifiers.store_settings import S3Source
from verifiers.stores.postgres.local_server import PgInstallation
from verifiers.timing import RestoreTimer


@dataclass
class Recorder:
    """A ProgressReporter that keeps every event (from any thread)."""

    events: list[tuple[str, ...]] = field(default_factory=list)
    amounts: dict[tuple[str, Unit], list[tuple[float, float | None]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def phase_started(self, store: str, phase: str) -> None:
        with self.lock:
            self.events.append(("start", store, phase))

    def advanced(self, store: str, phase: str, done: float, total: float | None, unit: Unit) -> None:
        assert isinstance(done, int | float) and (total is None or isinstance(total, int | float))
        with self.lock:
            self.amounts.setdefault((phase, unit), []).append((done, total))

    def phase_ended(self, store: str, phase: str, *, failed: bool) -> None:
        with self.lock:
            self.events.append(("end" if not failed else "failed", store, phase))

    def store_finished(self, store: str, status: str) -> None:
        raise AssertionError("the plugin reports the end of a store, not the runner")

    def final(self, phase: str, unit: Unit) -> tuple[float, float | None]:
        return self.amounts[(phase, unit)][-1]

    def rising(self, phase: str, unit: Unit) -> bool:
        done = [d for d, _ in self.amounts[(phase, unit)]]
        return done == sorted(done)


def verify_reported(directory: Path, artifact_glob: str, **settings: object) -> tuple[StoreOutcome, Recorder]:
    recorder = Recorder()
    with progress.reporting(recorder, "saas"):
        outcome = verify(directory, artifact_glob, **settings)
    return outcome, recorder


def listed_entries(pg_restore: Path, artifact: Path) -> int:
    listed = subprocess.run([str(pg_restore), "--list", str(artifact)], capture_output=True, text=True, check=True)
    return sum(1 for line in listed.stdout.splitlines() if line.strip() and not line.startswith(";"))


@pytest.mark.postgres
@pytest.mark.usefixtures("no_leftovers")
def test_custom_dump_reports_bytes_toc_items_and_tables(backup_dir: Path, demo_capture: Capture,
                                                        newest_pg: PgInstallation) -> None:
    outcome, recorder = verify_reported(backup_dir, "saas-*.dump", jobs=2)
    assert outcome.status == "passed", failed(outcome)
    phases = [phase for kind, _store, phase in recorder.events if kind == "end"]
    assert phases == ["fetch", "provision", "provision", "restore", "verify", "teardown"]
    size = demo_capture.dump.stat().st_size
    assert recorder.final("fetch", "bytes") == (size, size) and recorder.rising("fetch", "bytes")
    entries = listed_entries(newest_pg.tool("pg_restore"), demo_capture.dump)
    done, total = recorder.final("restore", "items")
    assert total == entries and done == entries and recorder.rising("restore", "items")
    tables = sum(c.check == "row_count" for c in outcome.checks)
    assert recorder.final("verify", "tables") == (tables, tables)


@pytest.mark.postgres
@pytest.mark.usefixtures("no_leftovers")
def test_serial_tar_restore_and_gzipped_psql_restore_report_progress(
        dump_variant: Callable[..., Path], demo_capture: Capture, oldest_pg: PgInstallation) -> None:
    tar = dump_variant(fmt="tar", name="tarred")
    outcome, recorder = verify_reported(tar.parent, tar.name)
    assert outcome.status == "passed", failed(outcome)
    done, total = recorder.final("restore", "items")
    assert total == listed_entries(oldest_pg.tool("pg_restore"), tar) and done == total

    plain = dump_variant(fmt="plain")
    packed = plain.with_name("variant.sql.gz")
    with plain.open("rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    plain.unlink()
    manifest_claiming(demo_capture.manifest, packed, plain.with_name("variant.manifest.json"))
    outcome, recorder = verify_reported(packed.parent, packed.name)
    assert outcome.status == "passed", failed(outcome)
    size = packed.stat().st_size
    assert recorder.final("restore", "bytes") == (size, size) and recorder.rising("restore", "bytes")


def test_s3_download_reports_bytes_against_the_objects_length(aws: MotoServer, tmp_path: Path) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="rp-progress")
    body = os.urandom(3 * (1 << 20) + 12345)  # several 1 MiB chunks
    s3.put_object(Bucket="rp-progress", Key="b/app-1.dump", Body=body, ChecksumAlgorithm="SHA256")
    s3.put_object(Bucket="rp-progress", Key="b/app-1.manifest.json", Body=b"{}")
    store = {"name": "app", "kind": "postgres", "rto": "1h", "rpo": "1d",
             "source": {"type": "s3", "bucket": "rp-progress", "prefix": "b/", "pattern": "app-*.dump"}}
    source = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml").stores[0].source
    assert isinstance(source, S3Source)
    try:
        objects = S3Objects()
        located = objects.locate(source, base_dir=tmp_path, store="app")
        recorder = Recorder()
        with progress.reporting(recorder, "app"), RestoreTimer().phase("fetch"):
            artifact = objects.fetch(located, store="app", work_dir=tmp_path)
        assert artifact.bytes == len(body)
        amounts = recorder.amounts[("fetch", "bytes")]
        assert len(amounts) >= 4 and all(total == len(body) for _done, total in amounts)
        assert amounts[-1][0] == len(body) and recorder.rising("fetch", "bytes")
    finally:
        for key in ("b/app-1.dump", "b/app-1.manifest.json"):
            s3.delete_object(Bucket="rp-progress", Key=key)
        s3.delete_bucket(Bucket="rp-progress")
