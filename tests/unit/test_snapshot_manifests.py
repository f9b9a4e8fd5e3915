"""Pairing an RDS snapshot with its manifest among many (verifiers/sources/snapshot_manifests.py): by the snapshot
id the manifest records, else the newest capture at or before the snapshot within the tolerance; none, or two
equally good, is a failure naming the snapshot, the closest candidates and the tolerance."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifiers.errors import SourceError
from verifiers.sources.snapshot_manifests import Candidate, Pairing, manifest_candidates, pair

CREATED = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
SNAPSHOT = "rds:prod-2026-12-06-03-00"
ARN = f"arn:aws:rds:us-east-1:123456789012:snapshot:{SNAPSHOT}"
HOUR = 3600.0


def manifest(name: str, captured: datetime, snapshot_id: str | None = None) -> Candidate:
    return Candidate(f"manifests/{name}.manifest.json", f"/tmp/{name}", captured.isoformat(), snapshot_id)


def paired(*candidates: Candidate, tolerance: float = HOUR) -> Pairing:
    return pair(list(candidates), snapshot_id=SNAPSHOT, snapshot_arn=ARN, created=CREATED, tolerance=tolerance)


def test_the_manifest_recording_the_snapshot_id_wins_over_a_closer_capture() -> None:
    by_id = manifest("a", CREATED - timedelta(hours=5), SNAPSHOT)
    result = paired(by_id, manifest("b", CREATED - timedelta(minutes=1)))
    assert result.matched == by_id and result.how == "snapshot id"
    assert result.message() == (f"snapshot {SNAPSHOT} (created 2026-12-06T03:00:00+00:00) paired by snapshot id with "
                                "manifest manifests/a.manifest.json (captured 2026-12-05T22:00:00+00:00, 5h00m before "
                                f"the snapshot, snapshot id {SNAPSHOT})")


def test_the_arn_counts_as_the_snapshot_id() -> None:
    assert paired(manifest("a", CREATED, ARN)).how == "snapshot id"


def test_the_newest_capture_at_or_before_the_snapshot_within_the_tolerance_wins() -> None:
    newest = manifest("newest", CREATED - timedelta(minutes=10))
    result = paired(manifest("older", CREATED - timedelta(minutes=50)), newest,
                    manifest("after", CREATED + timedelta(minutes=1)))
    assert result.matched == newest and result.how == "capture time"


def test_a_capture_three_hours_before_fails_naming_it_and_the_tolerance() -> None:
    result = paired(manifest("old", CREATED - timedelta(hours=3)))
    assert not result.paired
    assert result.message() == (
        f"no manifest matches snapshot {SNAPSHOT} (created 2026-12-06T03:00:00+00:00): none records this snapshot's "
        "id, and none that records no snapshot was captured at or before its creation within the tolerance "
        "(manifest_tolerance 1h00m); closest: manifests/old.manifest.json (captured 2026-12-06T00:00:00+00:00, 3h00m "
        "before the snapshot, snapshot id not recorded)")


def test_a_manifest_of_another_snapshot_never_pairs_by_time() -> None:
    result = paired(manifest("other", CREATED - timedelta(minutes=1), "rds:prod-2026-12-05-03-00"))
    assert not result.paired
    assert "snapshot id rds:prod-2026-12-05-03-00" in result.message()


def test_two_manifests_of_the_same_snapshot_are_ambiguous() -> None:
    result = paired(manifest("a", CREATED, SNAPSHOT), manifest("b", CREATED, SNAPSHOT))
    assert not result.paired
    assert "2 manifests record this snapshot (manifests/a.manifest.json, manifests/b.manifest.json)" in result.message()


def test_two_captures_at_the_same_newest_time_are_ambiguous() -> None:
    result = paired(manifest("a", CREATED - timedelta(minutes=5)), manifest("b", CREATED - timedelta(minutes=5)))
    assert not result.paired
    assert "2 manifests were captured at 2026-12-06T02:55:00+00:00" in result.message()


def test_the_closest_three_are_named_nearest_first() -> None:
    far = [manifest(f"m{h}", CREATED - timedelta(hours=h)) for h in (9, 2, 30, 4)]
    message = paired(*far).message()
    closest = message.split("closest: ")[1]
    assert [part.split(" ")[0] for part in closest.split("; ")] == [
        "manifests/m2.manifest.json", "manifests/m4.manifest.json", "manifests/m9.manifest.json"]


def test_the_pairing_survives_the_plan_details() -> None:
    result = paired(manifest("a", CREATED - timedelta(minutes=3)))
    assert Pairing.from_json(result.to_json()) == result


offsets = st.lists(st.tuples(st.integers(min_value=-6 * 3600, max_value=6 * 3600), st.booleans()), max_size=8)


@given(offsets, st.integers(min_value=1, max_value=4 * 3600))
def test_a_match_is_always_a_capture_that_may_describe_the_snapshot(found: list[tuple[int, bool]],
                                                                    tolerance: int) -> None:
    candidates = [manifest(f"m{i}", CREATED + timedelta(seconds=offset), SNAPSHOT if by_id else None)
                  for i, (offset, by_id) in enumerate(found)]
    result = paired(*candidates, tolerance=tolerance)
    if result.matched is None:
        ids = [c for c in candidates if c.snapshot_id]
        timed = [c.captured for c in candidates
                 if not c.snapshot_id and 0 <= (CREATED - c.captured).total_seconds() <= tolerance]
        assert len(ids) > 1 or (not ids and (not timed or timed.count(max(timed)) > 1))
    elif result.how == "snapshot id":
        assert result.matched.snapshot_id == SNAPSHOT
    else:
        gap = (CREATED - result.matched.captured).total_seconds()
        assert 0 <= gap <= tolerance and not result.matched.snapshot_id
        assert all(c.captured <= result.matched.captured for c in candidates
                   if not c.snapshot_id and c.captured <= CREATED)


def test_a_folder_is_read_for_every_manifest_and_an_unreadable_one_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "a.manifest.json").write_text(json.dumps({"captured_at": "2026-12-06T02:50:00Z", "snapshot_id": None}))
    (folder / "b.manifest.json").write_text(json.dumps({"captured_at": "2026-12-06T02:00:00+00:00",
                                                       "snapshot_id": SNAPSHOT}))
    (folder / "broken.manifest.json").write_text("{")
    (folder / "notes.txt").write_text("not a manifest")
    found = manifest_candidates("manifests", base_dir=tmp_path, store="saas", region=None, endpoint_url=None)
    assert [(Path(c.location).name, c.captured_at, c.snapshot_id, c.problem) for c in found] == [
        ("a.manifest.json", "2026-12-06T02:50:00+00:00", None, None),
        ("b.manifest.json", "2026-12-06T02:00:00+00:00", SNAPSHOT, None),
        ("broken.manifest.json", None, None, "not a readable manifest: JSONDecodeError")]
    assert pair(found, snapshot_id=SNAPSHOT, snapshot_arn=ARN, created=CREATED, tolerance=HOUR).matched == found[1]


def test_a_missing_manifest_location_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"store saas: manifest .*nowhere \(stores.source.manifest\) does not exist"):
        manifest_candidates("nowhere", base_dir=tmp_path, store="saas", region=None, endpoint_url=None)
