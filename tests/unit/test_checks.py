"""Judgement: each result carries observed, expected and a message that names what differs."""

from __future__ import annotations

from verifiers import checks
from verifiers.stores.postgres.facts import SequenceFacts


def test_schema_diff_names_each_drifted_object() -> None:
    expected = {"column id": "#1 bigint NOT NULL", "index track_name_idx": "CREATE INDEX ...",
                "constraint track_pkey": "PRIMARY KEY (id)", "trigger t": "CREATE TRIGGER t ..."}
    observed = {"column id": "#1 integer NOT NULL", "column extra": "#2 integer",
                "constraint track_pkey": "PRIMARY KEY (id)", "trigger t": "CREATE TRIGGER t ... (DISABLED)"}
    result = checks.schema("public.track", observed, expected)
    assert not result.passed
    assert result.observed == [
        "public.track.extra: column added",
        "public.track.id: column changed (was: #1 bigint NOT NULL; now: #1 integer NOT NULL)",
        "public.track: index track_name_idx dropped",
        "public.track: trigger t changed (was: CREATE TRIGGER t ...; now: CREATE TRIGGER t ... (DISABLED))",
    ]


def test_database_objects_are_named_by_kind() -> None:
    result = checks.schema(checks.DATABASE_SUBJECT, {"view public.v": "SELECT 2"}, {"view public.v": "SELECT 1",
                                                                                   "enum public.e": "'a'"})
    assert result.message == ("public.e: enum dropped; public.v: view changed (was: SELECT 1; now: SELECT 2)")


def test_identical_schema_passes() -> None:
    defs = {"column id": "#1 bigint"}
    result = checks.schema("public.t", dict(defs), defs)
    assert result.passed and result.message == "1 objects match"


def test_row_count_with_and_without_tolerance() -> None:
    assert checks.row_count("t", 100, 100, 0).passed
    exact = checks.row_count("t", 99, 100, 0)
    assert not exact.passed and exact.message == "99 rows restored, expected 100 (-1)"
    loose = checks.row_count("t", 99, 100, 0.01)
    assert loose.passed and loose.expected == {"min": 99, "max": 101}
    assert not checks.row_count("t", None, 100, 0.5).passed


def test_table_set_names_missing_and_unexpected() -> None:
    result = checks.table_set({"a", "c"}, {"a", "b"})
    assert result.message == "missing: b; unexpected: c" and not result.passed


def test_sequences_may_run_ahead_but_never_back_or_behind_their_data() -> None:
    captured = SequenceFacts(last_value=50, is_called=True, increment=1, feeds=["t.id"], column_max=50)
    assert checks.sequence("s", captured, captured).passed
    ahead = SequenceFacts(last_value=60, is_called=True, increment=1, feeds=["t.id"], column_max=50)
    assert checks.sequence("s", ahead, captured).passed
    behind = SequenceFacts(last_value=50, is_called=False, increment=1, feeds=["t.id"], column_max=50)
    message = checks.sequence("s", behind, captured).message
    assert message == ("next value 50 restored, captured 51: it went back; "
                       "behind t.id max 50: the next insert would collide")
    down = SequenceFacts(last_value=-5, is_called=True, increment=-1, feeds=[], column_max=None)
    assert not checks.sequence("s", SequenceFacts(last_value=-3, is_called=True, increment=-1), down).passed


def test_assertions_compare_exact_min_and_max() -> None:
    assert checks.assertion("a", 5, expect=5).passed
    assert checks.assertion("a", 5.0, expect=5).passed
    assert checks.assertion("a", 3, minimum=1, maximum=5).passed
    assert checks.assertion("a", 0, minimum=1).message == "returned 0, below the minimum 1"
    assert not checks.assertion("a", "x", minimum=1).passed
    assert checks.assertion("a", None, expect=1, error="boom").message == "query failed: boom"


def test_targets() -> None:
    within = checks.within_target("rto", 30, 900)
    assert within.passed and within.message == "restore time (RTO) 30.0s is within the target 15m00s"
    over = checks.within_target("rpo", 3 * 86400, 86400)
    assert not over.passed and over.message == "backup age (RPO) 3d0h is over the target 24h00m"


def test_a_checksum_lists_at_most_a_thousand_differing_ranges() -> None:
    ranges = [(i * 10, i * 10 + 9) for i in range(1500)]
    result = checks.checksum("public.t", "0" * 16, "1" * 16, where="id 0..9 and more", ranges=ranges)
    assert not result.passed and len(result.observed["ranges"]) == 1000
    assert result.observed["ranges"][-1] == [9990, 9999] and result.observed["ranges_not_listed"] == 500
