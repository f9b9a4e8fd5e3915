"""The harness on real PostgreSQL: a good backup passes every check; each kind of damage fails the right
check with a message naming the store, the artifact or the object, and leaves nothing behind."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tests.conftest import SOURCE_DB, Capture, failed, manifest_claiming, verify
from verifiers.errors import CaptureError
from verifiers.stores.postgres.archive import read_header
from verifiers.stores.postgres.capture import capture_postgres
from verifiers.stores.postgres.checksum import pin_session, table_checksum
from verifiers.stores.postgres.local_server import PgInstallation, PostgresServer
from verifiers.stores.postgres.manifest import load_manifest

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("no_leftovers")]


def test_good_backup_passes_every_check(backup_dir: Path) -> None:
    outcome = verify(backup_dir, "saas-*.dump")
    assert outcome.status == "passed", failed(outcome)
    checks = {c.check for c in outcome.checks}
    assert checks == {"artifact", "restore", "engine", "tables", "row_count", "checksum", "schema", "sequence", "rto",
                      "rpo"}
    counts = {c.subject: c.observed for c in outcome.checks if c.check == "row_count"}
    assert counts == {"public.accounts": 50, "public.users": 400, "billing.invoices": 1500,
                      "public.events": 5000, "public.audit_log": 1544, "public.feature_flags": 0}
    assert set(outcome.timer.seconds) == {"fetch", "provision", "restore", "verify", "teardown"}
    assert outcome.sandbox is not None
    assert outcome.sandbox["engine"] == "postgresql"


def test_restores_into_a_newer_major_than_the_source(backup_dir: Path, newest_pg: PgInstallation,
                                                      oldest_pg: PgInstallation) -> None:
    outcome = verify(backup_dir, "saas-*.dump", sandbox={"type": "local", "bin_dir": str(newest_pg.bin_dir)})
    assert outcome.status == "passed", failed(outcome)
    assert outcome.sandbox is not None
    assert outcome.sandbox["version"] == newest_pg.version
    if newest_pg.major == oldest_pg.major:
        pytest.fail("only one PostgreSQL major available: CI installs the system postgresql package for this")


@pytest.mark.parametrize("fmt", ["directory", "tar", "plain"])
def test_every_pg_dump_format_restores(dump_variant: Callable[..., Path], fmt: str) -> None:
    artifact = dump_variant(fmt=fmt)
    outcome = verify(artifact.parent, artifact.name)
    assert outcome.status == "passed", failed(outcome)


def test_gzipped_plain_dump_restores(dump_variant: Callable[..., Path], demo_capture: Capture) -> None:
    plain = dump_variant(fmt="plain")
    packed = plain.with_name("variant.sql.gz")
    with plain.open("rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    plain.unlink()
    manifest_claiming(demo_capture.manifest, packed, plain.with_name("variant.manifest.json"))
    outcome = verify(packed.parent, packed.name)
    assert outcome.status == "passed", failed(outcome)


@pytest.mark.parametrize("keep", [0.05, 0.5, 0.95])
def test_truncated_dump_fails(backup_dir: Path, demo_capture: Capture, keep: float) -> None:
    dump = backup_dir / demo_capture.dump.name
    data = dump.read_bytes()
    dump.write_bytes(data[: int(len(data) * keep)])
    outcome = verify(backup_dir, "saas-*.dump")
    assert outcome.status == "failed"
    problems = failed(outcome)
    assert problems[f"artifact:{dump.name}"].startswith(f"{dump.name}: sha256 differs from its manifest")
    assert "restore:restore" in problems
    assert "pg_restore" in problems["restore:restore"]


def test_truncated_dump_fails_even_when_the_manifest_agrees(backup_dir: Path, demo_capture: Capture) -> None:
    """Without the sha256 to catch it, the restore itself must fail loudly."""
    dump = backup_dir / demo_capture.dump.name
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    manifest_claiming(demo_capture.manifest, dump, backup_dir / demo_capture.manifest.name)
    outcome = verify(backup_dir, "saas-*.dump")
    problems = failed(outcome)
    assert outcome.status == "failed"
    assert "restore:restore" in problems
    assert any(k.startswith("row_count:") for k in problems)


def test_truncated_header_is_a_clear_failure(backup_dir: Path, demo_capture: Capture) -> None:
    dump = backup_dir / demo_capture.dump.name
    dump.write_bytes(dump.read_bytes()[:20])
    outcome = verify(backup_dir, "saas-*.dump")
    message = failed(outcome)["restore:restore"]
    assert str(dump) in message
    assert "header is truncated" in message
    assert outcome.sandbox is None  # nothing was started for an unreadable artifact


def test_flipped_bytes_in_the_data_fail(backup_dir: Path, demo_capture: Capture) -> None:
    dump = backup_dir / demo_capture.dump.name
    data = bytearray(dump.read_bytes())
    for offset in range(len(data) // 2, len(data) // 2 + 64, 8):
        data[offset] ^= 0xFF
    dump.write_bytes(bytes(data))
    manifest_claiming(demo_capture.manifest, dump, backup_dir / demo_capture.manifest.name)
    outcome = verify(backup_dir, "saas-*.dump")
    assert outcome.status == "failed"
    problems = failed(outcome)
    assert "restore:restore" in problems or any(k.startswith("checksum:") for k in problems), problems


def test_wrong_file_type_is_named(backup_dir: Path, demo_capture: Capture) -> None:
    dump = backup_dir / demo_capture.dump.name
    dump.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(2000))
    outcome = verify(backup_dir, "saas-*.dump")
    message = failed(outcome)["restore:restore"]
    assert f"{dump}: not a PostgreSQL dump" in message


def test_added_column_is_named(dump_variant: Callable[..., Path]) -> None:
    artifact = dump_variant("ALTER TABLE public.users ADD COLUMN extra integer")
    problems = failed(verify(artifact.parent, artifact.name))
    assert "public.users.extra: column added" in problems["schema:public.users"]
    assert "checksum:public.users" in problems  # the rows' text now has one more field
    assert "row_count:public.users" not in problems


def test_dropped_index_is_named(dump_variant: Callable[..., Path]) -> None:
    artifact = dump_variant("DROP INDEX public.events_error_kind_idx")
    problems = failed(verify(artifact.parent, artifact.name))
    assert problems["schema:public.events"].startswith("public.events: index events_error_kind_idx dropped")
    assert set(problems) == {"schema:public.events"}


def test_missing_table_fails_tables_and_its_checks(dump_variant: Callable[..., Path]) -> None:
    artifact = dump_variant("DROP TABLE public.feature_flags")
    problems = failed(verify(artifact.parent, artifact.name))
    assert problems["tables:tables"] == "missing: public.feature_flags"
    assert problems["row_count:public.feature_flags"] == "public.feature_flags is missing after restore"


def test_changed_row_fails_that_tables_checksum_only(dump_variant: Callable[..., Path]) -> None:
    artifact = dump_variant("SET session_replication_role = replica",  # the audit trigger stays quiet
                            "UPDATE billing.invoices SET amount = amount + 0.0001 WHERE id = 1500")
    outcome = verify(artifact.parent, artifact.name)
    problems = failed(outcome)
    assert set(problems) == {"checksum:billing.invoices"}
    [check] = [c for c in outcome.checks if c.check == "checksum" and not c.passed]
    assert check.observed["ranges"] == [[1024, 2047]]  # the differing key range, in the evidence too
    message = problems["checksum:billing.invoices"]
    assert message.startswith("checksum differs: restored ")
    # narrowed by key range (1,500 rows, ids 1000..2499: ranges 1,024 keys wide from 0): keys only, never the row
    assert message.endswith("; differs in id 1024..2047 (1024 rows restored, 1024 captured)")


def test_deleted_rows_fail_the_count_with_the_difference(dump_variant: Callable[..., Path]) -> None:
    artifact = dump_variant("DELETE FROM public.events WHERE id % 100 = 0")
    problems = failed(verify(artifact.parent, artifact.name))
    assert problems["row_count:public.events"] == "4950 rows restored, expected 5000 (-50)"
    narrowed = problems["checksum:public.events"]
    assert narrowed.endswith("; differs in id 0..1023 (1013 rows restored, 1023 captured); "  # ids from 1
                             "id 1024..2047 (1014 rows restored, 1024 captured); "
                             "id 2048..3071 (1014 rows restored, 1024 captured); "
                             "id 3072..4095 (1014 rows restored, 1024 captured); "
                             "id 4096..5119 (895 rows restored, 905 captured)")  # up to 5000


def test_a_table_keyed_by_text_is_narrowed_by_key_hash(dump_variant: Callable[..., Path]) -> None:
    artifact = dump_variant("INSERT INTO public.feature_flags (name, enabled) VALUES ('secret-launch', true)")
    outcome = verify(artifact.parent, artifact.name)
    problems = failed(outcome)
    assert problems["row_count:public.feature_flags"] == "1 rows restored, expected 0 (+1)"
    # an empty table at capture: one segment, the whole hash range; keys never shown, only hash bounds
    assert problems["checksum:public.feature_flags"].endswith(
        "; differs in key-hash 0x0000000000000000..0xffffffffffffffff (1 rows restored, 0 captured)")
    [check] = [c for c in outcome.checks if c.check == "checksum" and not c.passed]
    assert check.observed["ranges"] == [["key-hash 0x0000000000000000", "0xffffffffffffffff"]]
    assert "secret-launch" not in str(outcome.as_evidence())


def test_finer_segments_narrow_further_and_add_up_to_the_whole_table(
        source_server: PostgresServer, demo_capture: Capture, dump_variant: Callable[..., Path],
        tmp_path: Path) -> None:
    """`--segment-rows 20`: the same whole-table facts as the default capture's (each table's count and checksum
    are its ranges' sums, in one scan), and a differing table narrowed to 20-row ranges."""
    _, fine = capture_postgres(source_server.conninfo(SOURCE_DB), tmp_path / "fine", segment_rows=20)
    coarse_facts = load_manifest(demo_capture.manifest, store="saas").facts.tables
    fine_facts = load_manifest(fine, store="saas").facts.tables
    assert {name: (t.rows, t.checksum) for name, t in fine_facts.items()} == \
        {name: (t.rows, t.checksum) for name, t in coarse_facts.items()}
    with psycopg.connect(source_server.conninfo(SOURCE_DB)) as conn:  # and both are the whole-table checksum
        pin_session(conn)
        invoices = fine_facts["billing.invoices"]
        assert (invoices.rows, invoices.checksum) == table_checksum(conn, "billing", "invoices", invoices.method)
    # 1,500 rows / 20 = 75 ranges wanted, 20 keys wide: 32 (a power of two), from 992 (a multiple of 32) to 2527
    assert invoices.key_ranges is not None and invoices.key_ranges.buckets == 48
    artifact = dump_variant("DELETE FROM public.events WHERE id % 100 = 0")
    manifest_claiming(fine, artifact, artifact.with_name("variant.manifest.json"))
    narrowed = failed(verify(artifact.parent, artifact.name))["checksum:public.events"]
    assert "; differs in id 96..127 (31 rows restored, 32 captured); " in narrowed
    assert narrowed.endswith("; and 40 more ranges")  # 50 ranges lost a row: 10 named, the rest counted


def test_a_capture_refuses_a_segment_size_below_one_row(source_server: PostgresServer, tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="--segment-rows 0 is not a number of rows") as caught:
        capture_postgres(source_server.conninfo(SOURCE_DB), tmp_path / "out", segment_rows=0)
    assert "at least 1" in caught.value.describe()
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_row_count_tolerance_allows_small_differences(dump_variant: Callable[..., Path]) -> None:
    artifact = dump_variant("DELETE FROM public.events WHERE id % 100 = 0")
    outcome = verify(artifact.parent, artifact.name, row_count_tolerance=0.02)
    assert "row_count:public.events" not in failed(outcome)


def test_sequence_behind_its_column_fails(dump_variant: Callable[..., Path]) -> None:
    artifact = dump_variant("SELECT setval('public.events_id_seq', 10)")
    problems = failed(verify(artifact.parent, artifact.name))
    message = problems["sequence:public.events_id_seq"]
    assert message == ("next value 11 restored, captured 5001: it went back; "
                       "behind public.events.id max 5000: the next insert would collide")


def test_table_filters_limit_the_checks(backup_dir: Path) -> None:
    outcome = verify(backup_dir, "saas-*.dump", tables={"include": ["public.*"], "exclude": ["public.events"]})
    subjects = {c.subject for c in outcome.checks if c.check == "row_count"}
    assert subjects == {"public.accounts", "public.users", "public.audit_log", "public.feature_flags"}
    assert outcome.status == "passed", failed(outcome)


def test_custom_assertions_pass_and_fail(backup_dir: Path) -> None:
    outcome = verify(backup_dir, "saas-*.dump", assertions=[
        {"name": "accounts", "sql": "SELECT count(*) FROM public.accounts", "expect": 50},
        {"name": "too many", "sql": "SELECT count(*) FROM public.users", "max": 10},
        {"name": "broken", "sql": "SELECT nope FROM public.users", "min": 1},
        {"name": "read only", "sql": "INSERT INTO public.feature_flags VALUES ('x', true) RETURNING 1", "expect": 1},
    ])
    problems = failed(outcome)
    assert "assertion:accounts" not in problems
    assert problems["assertion:too many"] == "returned 400, above the maximum 10"
    assert problems["assertion:broken"].startswith('query failed: column "nope" does not exist')
    assert "read-only transaction" in problems["assertion:read only"]


def test_restore_timeout_is_an_error_in_restore_and_cleans_up(backup_dir: Path) -> None:
    outcome = verify(backup_dir, "saas-*.dump", restore_timeout="0.001s")
    dump = next(backup_dir.glob("saas-*.dump")).name
    assert outcome.status == "error" and outcome.error is not None
    assert outcome.error["phase"] == "restore"
    assert outcome.error["message"].startswith(
        f"store saas: pg_restore did not finish restoring {dump} within restore_timeout (0.001s)")
    assert "raise restore_timeout for store saas in the inventory" in outcome.error["message"]
    problems = failed(outcome)
    assert problems["restore:restore"] == f"pg_restore did not finish {dump} within restore_timeout (0s)"
    assert "teardown" in outcome.timer.seconds


def test_rto_and_rpo_targets_are_judged(backup_dir: Path) -> None:
    outcome = verify(backup_dir, "saas-*.dump", rto="0.01s", rpo="0.01s")
    problems = failed(outcome)
    assert problems["rto:rto"].startswith("restore time (RTO) ")
    assert "is over the target" in problems["rto:rto"]
    assert "backup age (RPO)" in problems["rpo:rpo"]


def test_dump_needing_a_newer_server_than_available_fails(backup_dir: Path, demo_capture: Capture) -> None:
    dump = backup_dir / demo_capture.dump.name
    header = read_header(dump)
    assert header.dump_version is not None and header.server_version is not None
    data = dump.read_bytes()
    # the pg_dump version string in the header, after the server's (they are equal now that capture uses the
    # source's own pg_dump)
    server_at = data.index(header.server_version.encode(), 40)
    at = data.index(header.dump_version.encode(), server_at + len(header.server_version))
    dump.write_bytes(data[:at] + b"99" + data[at + 2:])
    assert read_header(dump).required_major == 99
    manifest_claiming(demo_capture.manifest, dump, backup_dir / demo_capture.manifest.name)
    outcome = verify(backup_dir, "saas-*.dump")
    assert outcome.status == "failed"
    assert outcome.sandbox is None
    message = failed(outcome)["restore:restore"]
    assert f"store saas: {dump.name} was written by pg_dump 99" in message
    assert "no PostgreSQL 99 or newer" in message
    assert "install PostgreSQL 99 (the distribution's postgresql-99 package" in message


def test_missing_backup_and_missing_manifest_are_errors(tmp_path: Path, demo_capture: Capture) -> None:
    outcome = verify(tmp_path, "nothing-*.dump")
    assert outcome.status == "error"
    assert outcome.error is not None
    assert outcome.error["message"].startswith(f"store saas: no backup matches {tmp_path}/nothing-*.dump")
    shutil.copy2(demo_capture.dump, tmp_path / "lonely.dump")
    outcome = verify(tmp_path, "lonely.dump")
    assert outcome.error is not None
    assert "no manifest beside" in outcome.error["message"]


def test_restore_runs_as_an_unprivileged_user_when_root(backup_dir: Path) -> None:
    outcome = verify(backup_dir, "saas-*.dump")
    assert outcome.status == "passed"
    # The sandbox is gone; prove the user choice directly on a fresh one.
    from verifiers.stores.postgres.local_server import find_installations, local_postgres

    with local_postgres(find_installations(None, None).found[0]) as server:
        uid = Path(f"/proc/{server.pgid}").stat().st_uid
    if subprocess.run(["id", "-u"], capture_output=True, text=True).stdout.strip() == "0":
        assert uid != 0
