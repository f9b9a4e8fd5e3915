"""Sampling a large table's checksum on real PostgreSQL (issue 21, item 5): the key ranges that changed since the
previous manifest are always measured, the rest sampled; the evidence states the chance of detection; a change in
a changed range fails the check, named by its range; the row count stays exact."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.conftest import failed, manifest_claiming, verify
from verifiers.stores.postgres.capture import capture_postgres
from verifiers.stores.postgres.local_server import PgInstallation, PostgresServer

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("no_leftovers")]
DB = "sampled"
SAMPLE = {"rate": 0.05, "min_rows": 10_000}


@pytest.fixture
def big(source_server: PostgresServer) -> Iterator[str]:
    """A database of one 20,000-row table (ranges of 1,024 keys: 20 of them) and one too small to sample."""
    with psycopg.connect(source_server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(DB)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB)))
    with psycopg.connect(source_server.conninfo(DB), autocommit=True) as conn:
        conn.execute("CREATE TABLE public.big (id int PRIMARY KEY, v text NOT NULL)")
        conn.execute("INSERT INTO public.big SELECT i, 'row ' || i FROM generate_series(1, 20000) i")
        conn.execute("CREATE TABLE public.small (id int PRIMARY KEY)")
        conn.execute("INSERT INTO public.small SELECT generate_series(1, 100)")
        conn.execute("ANALYZE")
    yield source_server.conninfo(DB)
    with psycopg.connect(source_server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(DB)))


def month(day: int) -> datetime:
    return datetime(2026, day, 1, tzinfo=UTC)


def dump_now(conninfo: str, installation: PgInstallation, server: PostgresServer, out: Path) -> Path:
    subprocess.run([str(installation.tool("pg_dump")), "--format=custom", f"--file={out}", "--dbname", DB],
                   env=server.client_env(DB), check=True, capture_output=True)
    return out


def test_sampled_checksums_measure_the_changed_ranges_and_state_their_chance(
        big: str, source_server: PostgresServer, oldest_pg: PgInstallation, tmp_path: Path) -> None:
    backups, elsewhere = tmp_path / "backups", tmp_path / "elsewhere"
    capture_postgres(big, backups, name="sampled", now=month(11))  # November: the previous manifest
    with psycopg.connect(big, autocommit=True) as conn:
        conn.execute("UPDATE public.big SET v = 'changed in November' WHERE id = 5000")
    dump, manifest = capture_postgres(big, elsewhere, name="sampled", now=month(12))  # December's capture

    good = backups / "sampled-20261201T000000Z.dump"
    os.link(dump, good)
    manifest_claiming(manifest, good, backups / "sampled-20261201T000000Z.manifest.json")
    outcome = verify(backups, "sampled-*.dump", sample=SAMPLE)
    assert outcome.status == "passed", failed(outcome)
    [check] = [c for c in outcome.checks if c.check == "checksum" and c.subject == "public.big"]
    # 20 ranges of 1,024 keys and the two open-ended ones (always probed): 1 changed since November, and a 5%
    # share of the other 19
    assert re.fullmatch(r"checksum equal over 4 of 22 key ranges, \d+ rows \(1 changed since "
                        r"sampled-20261101T000000Z\.manifest\.json, 1 of the other 19 sampled\); ≥ [\d.]+% chance of "
                        r"detecting ≥ 0\.1% changed rows spread at random, ≥ [\d.]+% if they are contiguous in key "
                        r"order", check.message), check.message
    assert check.observed["ranges_changed"] == 1 and check.observed["ranges_sampled"] == 1
    assert 1024 <= check.observed["rows_measured"] <= 2048
    assert 0 < check.observed["detect_contiguous"] <= check.observed["detect_random"] <= 1
    [small] = [c for c in outcome.checks if c.check == "checksum" and c.subject == "public.small"]
    assert small.message == "checksum matches"  # under min_rows: every row, as always
    good.unlink()

    with psycopg.connect(big, autocommit=True) as conn:  # a backup whose row 5000 is not what December captured
        conn.execute("UPDATE public.big SET v = 'not what was captured' WHERE id = 5000")
    bad = dump_now(big, oldest_pg, source_server, backups / "sampled-20261201T000000Z.dump")
    manifest_claiming(manifest, bad, backups / "sampled-20261201T000000Z.manifest.json")
    outcome = verify(backups, "sampled-*.dump", sample=SAMPLE)
    problems = failed(outcome)
    assert set(problems) == {"checksum:public.big"}  # the count is exact and equal: only the checksum differs
    assert problems["checksum:public.big"].endswith("; differs in id 4096..5119 (1024 rows restored, "
                                                    "1024 captured)")
    assert "not what was captured" not in str(outcome.as_evidence())


def test_without_a_previous_manifest_every_range_is_sampled(big: str, tmp_path: Path) -> None:
    capture_postgres(big, tmp_path, name="sampled", now=month(12))
    outcome = verify(tmp_path, "sampled-*.dump", sample=SAMPLE)
    assert outcome.status == "passed", failed(outcome)
    [check] = [c for c in outcome.checks if c.check == "checksum" and c.subject == "public.big"]
    assert re.match(r"checksum equal over 3 of 22 key ranges, \d+ rows \(1 of 20 sampled: no earlier "
                    r"sampled-<stamp>\.manifest\.json beside sampled-20261201T000000Z\.manifest\.json\); ≥ ",
                    check.message), check.message
    assert check.observed["ranges_changed"] is None
