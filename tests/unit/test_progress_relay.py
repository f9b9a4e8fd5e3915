"""Progress from xdist workers to the controller's display (verifiers/plugin/progress_relay.py): events survive the
trip in order, a worker's thinned counts still end on the last value, half-written lines wait, lines of another
shape are skipped, and the relay leaves no directory behind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from verifiers.plugin.progress_relay import ProgressRelay, ProgressWriter, event_file


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def phase_started(self, store: str, phase: str) -> None:
        self.events.append(("started", store, phase))

    def advanced(self, store: str, phase: str, done: float, total: float | None, unit: str) -> None:
        self.events.append(("advanced", store, phase, done, total, unit))

    def phase_ended(self, store: str, phase: str, *, failed: bool) -> None:
        self.events.append(("ended", store, phase, failed))

    def store_finished(self, store: str, status: str) -> None:
        self.events.append(("finished", store, status))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_events_reach_the_display_in_order_with_the_last_count() -> None:
    shown = Recorder()
    relay = ProgressRelay(lambda: shown)
    try:
        clock = Clock()
        writer = ProgressWriter(event_file(relay.directory, "gw0"), clock=clock)
        writer.phase_started("app", "restore")
        for done in range(1, 6):  # within one thinning interval: only the first is written at once
            writer.advanced("app", "restore", done, 10, "items")
        writer.phase_ended("app", "restore", failed=False)
        writer.store_finished("app", "passed")
        writer.close()
        relay.close()
    finally:
        relay.close()
    assert shown.events == [("started", "app", "restore"), ("advanced", "app", "restore", 1.0, 10.0, "items"),
                            ("advanced", "app", "restore", 5.0, 10.0, "items"), ("ended", "app", "restore", False),
                            ("finished", "app", "passed")]
    assert not relay.directory.exists()


def test_a_half_written_line_waits_and_a_foreign_line_is_skipped(tmp_path: Path) -> None:
    shown = Recorder()
    relay = ProgressRelay(lambda: shown)
    try:
        path = event_file(relay.directory, "gw1")
        line = json.dumps({"event": "store_finished", "store": "app", "status": "failed"})
        with path.open("ab") as handle:
            handle.write(b'{"event": "from the future"}\nnot json\n' + line[:10].encode())
            handle.flush()
            relay.drain()
            assert shown.events == []
            handle.write(line[10:].encode() + b"\n")
        relay.drain()
        assert shown.events == [("finished", "app", "failed")]
    finally:
        relay.close()
    assert not relay.directory.exists()
