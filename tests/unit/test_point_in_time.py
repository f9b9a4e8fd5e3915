"""Choosing a point-in-time restore's moment (verifiers/point_in_time.py) and the rds-snapshot settings that ask
for it: random within the window and reproducible with a seed, "latest", a given time, and a time outside the
window refused naming the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from verifiers.point_in_time import OutsideWindow, RestoreWindow, choose_restore_time, parse_restore_to
from verifiers.store_settings import RdsSnapshotSource

START = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
WINDOW = RestoreWindow(START, START + timedelta(days=7))

windows = st.builds(lambda start, seconds: RestoreWindow(start, start + timedelta(seconds=seconds)),
                    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1),
                                 timezones=st.just(UTC)),
                    st.integers(min_value=0, max_value=35 * 86400))


@given(windows, st.integers())
def test_a_random_time_is_within_the_window_and_the_same_for_the_same_seed(window: RestoreWindow, seed: int) -> None:
    chosen = choose_restore_time("random", window, seed=seed)
    assert window.earliest <= chosen <= window.latest
    assert chosen == choose_restore_time("random", window, seed=seed)


def test_different_seeds_pick_different_times() -> None:
    picks = {choose_restore_time("random", WINDOW, seed=seed) for seed in range(20)}
    assert len(picks) > 15  # a week has 604,801 whole seconds to choose from


def test_latest_is_the_latest_restorable_time() -> None:
    assert choose_restore_time("latest", WINDOW) == WINDOW.latest


@given(windows, st.floats(min_value=0, max_value=1))
def test_a_given_time_within_the_window_is_kept(window: RestoreWindow, share: float) -> None:
    moment = window.earliest + (window.latest - window.earliest) * share
    moment = min(max(moment, window.earliest), window.latest)
    assert choose_restore_time(moment, window) == moment


@pytest.mark.parametrize(("moment", "side"), [(START - timedelta(seconds=1), "before the earliest"),
                                              (WINDOW.latest + timedelta(hours=3), "after the latest")])
def test_a_given_time_outside_the_window_is_refused_naming_the_window(moment: datetime, side: str) -> None:
    with pytest.raises(OutsideWindow) as raised:
        choose_restore_time(moment, WINDOW)
    assert str(raised.value) == (f"restore_to {moment.isoformat().replace('+00:00', 'Z')} is {side} restorable time: "
                                 "the restore window is [2026-11-29T03:00:00Z, 2026-12-06T03:00:00Z]")


def test_restore_to_forms() -> None:
    assert parse_restore_to("latest") == "latest"
    assert parse_restore_to("random") == "random"
    assert parse_restore_to("2026-12-01T04:00:00+01:00") == datetime(2026, 12, 1, 3, tzinfo=UTC)
    with pytest.raises(ValueError, match="has no zone"):
        parse_restore_to("2026-12-01T04:00:00")
    with pytest.raises(ValueError, match='write "latest", "random" or an ISO 8601 time with a zone'):
        parse_restore_to("yesterday")


def source(**fields: Any) -> RdsSnapshotSource:
    return RdsSnapshotSource.model_validate({"type": "rds-snapshot", "instance": "prod", **fields})


def test_settings_accept_a_point_in_time_and_a_tolerance_as_durations() -> None:
    assert source(restore_to="random", restore_seed=7).restore_seed == 7
    assert source(manifest="manifests/", manifest_tolerance="PT2H").manifest_tolerance == 7200
    assert source(manifest="manifests/", manifest_tolerance="90m").manifest_tolerance == 5400
    assert source().manifest_tolerance == 3600
    assert source().restore_to is None


@pytest.mark.parametrize(("fields", "message"), [
    ({"restore_to": "latest", "restore_seed": 3}, 'restore_seed applies only to restore_to = "random"'),
    ({"restore_seed": 3}, 'restore_seed applies only to restore_to = "random"'),
    ({"restore_to": "random", "snapshot": "snap-1"}, "remove `snapshot`"),
    ({"restore_to": "latest", "manifest": "m.manifest.json"}, "compared with the live database"),
    ({"restore_to": "2026-12-01 04:00"}, "has no zone"),
    ({"manifest_tolerance": "soon"}, "invalid duration 'soon'"),
])
def test_settings_refuse_what_cannot_work(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        source(**fields)
