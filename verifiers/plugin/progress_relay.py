"""Progress from pytest-xdist workers to the controlling process's terminal (`pytest -n N suites/...`).

A worker's output is never shown, and xdist carries only its own events between processes. So a worker's
stores report to a `ProgressWriter`, which appends each event as a JSON line to a file of its own in a
directory the controller made for the run; the controller's `ProgressRelay` thread reads the new lines of
every worker's file ten times a second and hands them to the terminal display (progress_display.py),
which already takes events from several threads. pytest writes a test's result line in several writes, so the
relay draws only under `terminal`, a lock the controller also holds while pytest reports a test
(distributed.ControllerMerge): progress lines never land inside a result line. Only what the display shows
travels: store and phase names, counts, units. The directory is removed when the session ends.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from verifiers.progress import ProgressReporter, Unit

log = logging.getLogger(__name__)
POLL_SECONDS = 0.1
ADVANCE_EVERY_SECONDS = 0.1  # a worker writes at most ten `advanced` lines a second per store and phase


def event_file(directory: Path, worker: str) -> Path:
    """The file a worker (xdist's `gw0`, `gw1`...) appends its events to."""
    return directory / f"{worker}.jsonl"


class ProgressWriter:
    """Worker side: a ProgressReporter that appends events to `path`, one JSON object a line. `advanced`
    events are thinned to ADVANCE_EVERY_SECONDS, but a phase's last count is always written before it ends."""

    def __init__(self, path: Path, clock: Any = time.monotonic) -> None:
        self._file: IO[str] = path.open("a", encoding="utf-8")
        self._clock = clock
        self._lock = threading.Lock()
        self._written: dict[tuple[str, str], float] = {}
        self._pending: dict[tuple[str, str], tuple[float, float | None, Unit]] = {}

    def _write(self, event: dict[str, Any]) -> None:
        try:
            self._file.write(json.dumps(event) + "\n")
            self._file.flush()
        except (OSError, ValueError) as exc:  # showing progress must never fail a restore
            log.warning("progress relay turned off: %s", exc)

    def phase_started(self, store: str, phase: str) -> None:
        with self._lock:
            self._write({"event": "phase_started", "store": store, "phase": phase})

    def advanced(self, store: str, phase: str, done: float, total: float | None, unit: Unit) -> None:
        with self._lock:
            key, now = (store, phase), self._clock()
            finished = total is not None and done >= total
            if finished or now - self._written.get(key, float("-inf")) >= ADVANCE_EVERY_SECONDS:
                self._written[key] = now
                self._pending.pop(key, None)
                self._write({"event": "advanced", "store": store, "phase": phase, "done": done, "total": total,
                             "unit": unit})
            else:
                self._pending[key] = (done, total, unit)

    def phase_ended(self, store: str, phase: str, *, failed: bool) -> None:
        with self._lock:
            pending = self._pending.pop((store, phase), None)
            if pending is not None:
                done, total, unit = pending
                self._write({"event": "advanced", "store": store, "phase": phase, "done": done, "total": total,
                             "unit": unit})
            self._write({"event": "phase_ended", "store": store, "phase": phase, "failed": failed})

    def store_finished(self, store: str, status: str) -> None:
        with self._lock:
            self._write({"event": "store_finished", "store": store, "status": status})

    def close(self) -> None:
        with self._lock:
            self._file.close()


def dispatch(reporter: ProgressReporter, event: dict[str, Any]) -> None:
    """Replay one event on `reporter`; an event of another shape (a newer or older worker) is skipped."""
    try:
        kind, store = event["event"], str(event["store"])
        if kind == "phase_started":
            reporter.phase_started(store, str(event["phase"]))
        elif kind == "advanced":
            reporter.advanced(store, str(event["phase"]), float(event["done"]),
                              None if event["total"] is None else float(event["total"]), event["unit"])
        elif kind == "phase_ended":
            reporter.phase_ended(store, str(event["phase"]), failed=bool(event["failed"]))
        elif kind == "store_finished":
            reporter.store_finished(store, str(event["status"]))
    except (KeyError, TypeError, ValueError):
        log.debug("progress relay: skipped an event it does not know: %r", event)


class ProgressRelay:
    """Controller side: a directory for the workers' event files and a thread replaying them on `reporter`
    (called with the current reporter each time, so it may be set after the relay starts)."""

    def __init__(self, reporter: Any) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="restoreproof-progress-"))
        self._reporter = reporter
        self._offsets: dict[Path, int] = {}
        self._partial: dict[Path, bytes] = {}
        self._stop = threading.Event()
        self._draining = threading.Lock()  # the thread and close() may drain at once: one reader at a time
        self.terminal = threading.RLock()  # held by the controller's main thread while pytest writes a result
        self._thread = threading.Thread(target=self._run, name="restoreproof-progress-relay", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self.drain()
            except Exception:  # showing progress must never break the run it shows
                log.warning("progress relay stopped", exc_info=True)
                return

    def drain(self) -> None:
        """Replay every complete line written since the last call, file by file."""
        with self._draining:
            self._drain()

    def _drain(self) -> None:
        try:
            paths = sorted(self.directory.glob("*.jsonl"))
        except OSError:
            return
        for path in paths:
            try:
                with path.open("rb") as handle:
                    handle.seek(self._offsets.get(path, 0))
                    chunk = handle.read()
                    self._offsets[path] = handle.tell()
            except OSError:
                continue
            *lines, rest = (self._partial.pop(path, b"") + chunk).split(b"\n")
            if rest:
                self._partial[path] = rest  # a line still being written
            for line in lines:
                try:
                    event = json.loads(line)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    continue
                if isinstance(event, dict):
                    with self.terminal:
                        dispatch(self._reporter(), event)

    def close(self) -> None:
        """Stop the thread, replay what is left, remove the directory."""
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self.drain()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
