"""Progress as people expect it: on a terminal, one live line per store and phase (bytes with rate and ETA,
restore items, tables), redrawn in place; in a CI log, plain lines, rate limited; nothing with --quiet.

`TerminalProgress` turns events (verifiers/progress.py) into text and decides when to show it; a `Screen`
puts text somewhere. `PytestScreen` writes through pytest's terminal reporter with output capture
suspended while it writes (as pytest's own live logging does), so the lines land between the test
results instead of in a captured buffer. Only counts, sizes, rates and store names are shown: never a
path with credentials, a row, or a key.

Hand-written rather than rich/tqdm: both draw to their own stream and fight pytest's terminal reporter
and output capture over the same line; this needs one line and pytest's writer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from verifiers.durations import format_duration
from verifiers.progress import Unit

log = logging.getLogger(__name__)
Mode = Literal["live", "plain", "off"]
MODES = ("auto", "live", "plain", "off")
LIVE_REDRAW_SECONDS = 0.1  # at most ten redraws a second: smooth, and cheap next to the work it reports
PLAIN_INTERVAL_SECONDS = 30.0  # a CI log gets a line per long phase every 30 s, and none for a quick one
RATE_WINDOW_SECONDS = 10.0  # the rate (and so the ETA) follows the last 10 s, not the average since start


class Screen(Protocol):
    @property
    def width(self) -> int: ...

    def live(self, text: str) -> None:
        """Show `text` on the live line, replacing what it showed."""
        ...

    def line(self, text: str) -> None:
        """Show `text` as a line that stays (it replaces the live line, if one is shown)."""
        ...

    def end(self) -> None:
        """A store is done: hand the terminal back to whoever was writing before."""
        ...


def format_bytes(count: float) -> str:
    """1023 B, 1.5 KiB, 12.3 MiB, 4.0 GiB."""
    if count < 1024:
        return f"{count:.0f} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        count /= 1024
        if count < 1024 or unit == "TiB":
            break
    return f"{count:.1f} {unit}"


def format_eta(seconds: float) -> str:
    return f"{seconds:.0f}s" if seconds < 60 else format_duration(seconds)


@dataclass
class PhaseProgress:
    """One phase of one store: when it ran, how far its task got, and recent samples for the rate."""

    started: float
    ended: float | None = None
    failed: bool = False
    done: float = 0.0
    total: float | None = None
    unit: Unit | None = None
    samples: deque[tuple[float, float]] = field(default_factory=deque)

    def record(self, now: float, done: float, total: float | None, unit: Unit) -> None:
        self.done, self.total, self.unit = done, total, unit
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[0][0] > RATE_WINDOW_SECONDS:
            self.samples.popleft()

    def rate(self, now: float) -> float | None:
        """Units per second over the recent window; the average since the phase began while that is short."""
        if len(self.samples) >= 2:
            (t0, d0), (t1, d1) = self.samples[0], self.samples[-1]
            if t1 - t0 >= 1.0:
                return (d1 - d0) / (t1 - t0)
        elapsed = now - self.started
        return self.done / elapsed if elapsed > 0 and self.done > 0 else None

    def eta(self, now: float) -> float | None:
        rate = self.rate(now)
        if self.total is None or rate is None or rate <= 0 or self.done >= self.total:
            return None
        return (self.total - self.done) / rate

    def elapsed(self, now: float) -> float:
        return (self.ended if self.ended is not None else now) - self.started

    def amount(self) -> str:
        """What the phase did, for the store's closing line: `351.2 KiB`, `51 items`, `6 tables`."""
        if self.unit is None:
            return ""
        if self.unit == "bytes":
            return format_bytes(self.done)
        return f"{self.done:.0f} {self.unit}"


def describe(store: str, phase: str, state: PhaseProgress, now: float) -> str:
    """`saas: fetch 12.3/50.0 MiB 25% · 8.1 MiB/s · ETA 5s · 1.52s` — counts and times only."""
    parts = [f"{store}: {phase}"]
    if state.unit == "bytes":
        size = (f"{format_bytes(state.done)}/{format_bytes(state.total)}" if state.total
                else format_bytes(state.done))
        parts[0] += f" {size}" + (f" {_percent(state)}" if state.total else "")
        rate, eta = state.rate(now), state.eta(now)
        if rate:
            parts.append(f"{format_bytes(rate)}/s")
        if eta is not None:
            parts.append(f"ETA {format_eta(eta)}")
    elif state.unit is not None:
        count = f"{state.done:.0f}/{state.total:.0f}" if state.total else f"{state.done:.0f}"
        parts[0] += f" {count} {state.unit}" + (f" {_percent(state)}" if state.total else "")
    if state.ended is not None:
        parts.append(("failed after " if state.failed else "done in ") + format_duration(state.elapsed(now)))
    else:
        parts.append(format_duration(state.elapsed(now)))
    return " · ".join(parts)


def _percent(state: PhaseProgress) -> str:
    assert state.total
    return f"{min(100.0, 100 * state.done / state.total):.0f}%"


class TerminalProgress:
    """The ProgressReporter people see. `mode`: live (a TTY), plain (a log), off; `verbosity` is pytest's:
    below 0 shows nothing, 1 and above adds a line as each phase ends. Thread-safe: one lock around state
    and drawing, so worker threads reporting tables never interleave half-lines."""

    def __init__(self, screen: Screen, *, mode: Mode, verbosity: int = 0,
                 clock: Callable[[], float] = time.monotonic, interval: float = PLAIN_INTERVAL_SECONDS) -> None:
        self.screen = screen
        self.mode: Mode = "off" if verbosity < 0 else mode
        self.verbosity = verbosity
        self.clock = clock
        self.interval = interval
        self._phases: dict[str, dict[str, PhaseProgress]] = {}
        self._last_shown: dict[tuple[str, str], float] = {}
        self._ended: dict[str, str] = {}  # -v: the phase whose closing line waits (it may resume: provision)
        self._lock = threading.RLock()

    def phase_started(self, store: str, phase: str) -> None:
        with self._lock:
            now = self.clock()
            if self._ended.get(store) != phase:
                self._flush_ended(store)
            self._ended.pop(store, None)
            state = PhaseProgress(started=now)
            previous = self._phases.setdefault(store, {}).get(phase)
            if previous is not None:  # a phase timed in two parts (provision): one entry, the time adds up
                state = previous
                state.started, state.ended = now - previous.elapsed(now), None
            self._phases[store][phase] = state
            if self.mode == "live":
                self._show_live(store, phase, now)

    def advanced(self, store: str, phase: str, done: float, total: float | None, unit: Unit) -> None:
        with self._lock:
            state = self._phases.get(store, {}).get(phase)
            if state is None:
                return
            now = self.clock()
            state.record(now, done, total, unit)
            last = self._last_shown.get((store, phase))
            if self.mode == "live":
                finished = total is not None and done >= total
                if last is None or finished or now - last >= LIVE_REDRAW_SECONDS:
                    self._show_live(store, phase, now)
            elif self.mode == "plain" and now - state.started >= self.interval and (
                    last is None or now - last >= self.interval):
                self._last_shown[(store, phase)] = now
                self._show(self.screen.line, describe(store, phase, state, now))

    def phase_ended(self, store: str, phase: str, *, failed: bool) -> None:
        with self._lock:
            state = self._phases.get(store, {}).get(phase)
            if state is None or self.mode == "off":
                return
            now = self.clock()
            state.ended, state.failed = now, failed
            if state.unit == "items" and state.total is not None and not failed:
                state.done = max(state.done, state.total)  # items pg_restore skips print no line: all done
            if self.verbosity >= 1:
                self._ended[store] = phase
            if self.mode == "live":
                self._show_live(store, phase, now)

    def store_finished(self, store: str, status: str) -> None:
        with self._lock:
            self._flush_ended(store)
            phases = self._phases.pop(store, {})
            if self.mode == "off" or not phases:
                return
            steps = []
            for phase, state in phases.items():
                amount = state.amount()
                took = format_duration(state.elapsed(self.clock()))
                steps.append(f"{phase} {amount} in {took}" if amount else f"{phase} {took}")
            self._show(self.screen.line, f"{store}: {status} — " + ", ".join(steps))
            self._show(lambda _text: self.screen.end(), "")

    def _flush_ended(self, store: str) -> None:
        phase = self._ended.pop(store, None)
        if phase is not None and self.mode != "off":
            self._show(self.screen.line, describe(store, phase, self._phases[store][phase], self.clock()))

    def _show_live(self, store: str, phase: str, now: float) -> None:
        self._last_shown[(store, phase)] = now
        self._show(self.screen.live, describe(store, phase, self._phases[store][phase], now))

    def _show(self, draw: Callable[[str], None], text: str) -> None:
        """Showing progress must never fail a restore: a closed or broken terminal turns it off."""
        try:
            draw(text)
        except (OSError, ValueError) as exc:
            self.mode = "off"
            log.warning("progress display turned off: %s", exc)


class PytestScreen:
    """Draws on pytest's terminal, between test results. A store's progress is a block of lines of its own
    (on a terminal, the live line is the block's last line, redrawn in place); when the store is done, the
    line pytest was writing ("suites/rds/test_rds.py " or a test id in -v) is printed again after the block
    and pytest carries on writing its results there."""

    def __init__(self, config: Any, *, tty: bool) -> None:
        self.config = config
        self.tty = tty
        self._block = False  # our block is on the terminal and pytest's line not yet given back
        self._saved: Any = None  # pytest's current line: a file path (default), a test id (-v) or None
        self._live = False  # the block ends with a live line (no newline after it)
        self._left_at: int | None = None  # the terminal's line width after our last write

    @property
    def width(self) -> int:
        return int(self.config.get_terminal_writer().fullwidth)

    def live(self, text: str) -> None:
        with self._terminal() as reporter:
            if reporter is not None:
                self._begin(reporter)
                reporter.rewrite(self._fit(text), erase=True)
                reporter.flush()
                self._live = True
                self._left_at = self._current_width()

    def line(self, text: str) -> None:
        with self._terminal() as reporter:
            if reporter is None:
                return
            self._begin(reporter)
            if self.tty:  # over the live line; a line that stays may wrap
                reporter.rewrite(text, erase=True)
                reporter.write("\n")
            else:
                reporter.write(text + "\n")
            reporter.flush()
            self._live = False
            self._left_at = self._current_width()

    def end(self) -> None:
        """Give the line back to pytest: print what it had written of it, so its results continue there."""
        with self._terminal() as reporter:
            if reporter is None or not self._block:
                return
            if self._live:
                reporter.write("\n")
            prefix = self._prefix_text(reporter, self._saved)
            if prefix:
                reporter.write(prefix)
                reporter.currentfspath = self._saved
            else:
                reporter.currentfspath = None
            reporter.flush()
            self._block = self._live = False

    def _current_width(self) -> int:
        return int(self.config.get_terminal_writer().width_of_current_line)

    def _begin(self, reporter: Any) -> None:
        if self._block:
            # pytest wrote since our last line (under xdist results arrive while a store runs): leave its line
            # as it is, below it on a fresh one, instead of writing into or over it
            if self._current_width() != self._left_at:
                reporter.write("\n")
                self._live = False
            return
        self._saved = reporter.currentfspath
        shown = self.config.get_terminal_writer().width_of_current_line
        prefix = self._prefix_text(reporter, self._saved)
        # On a terminal the block starts on pytest's line when it holds only the prefix, which end() reprints;
        # otherwise (results already on it, or a log) that line is left as it is and the block starts below it.
        if shown != 0 and not (self.tty and prefix and shown == len(prefix)):
            reporter.write("\n")
        self._block = True

    @staticmethod
    def _prefix_text(reporter: Any, saved: Any) -> str:
        if isinstance(saved, os.PathLike):
            return os.path.relpath(os.fspath(saved), str(reporter.startpath)) + " "
        return saved if isinstance(saved, str) else ""

    def _fit(self, text: str) -> str:
        room = max(10, self.width - 1)  # never wrap: a wrapped line cannot be redrawn in place
        return text if len(text) <= room else text[: room - 1] + "…"

    @contextlib.contextmanager
    def _terminal(self) -> Iterator[Any]:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        if reporter is None:
            yield None
            return
        with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
            yield reporter


def resolve_mode(requested: str, *, tty: bool, verbosity: int) -> Mode:
    """auto: live on a terminal (not TERM=dumb), plain elsewhere; quiet (-q) turns progress off."""
    if requested not in MODES:
        raise ValueError(f"--progress {requested!r}: choose one of {', '.join(MODES)}")
    if verbosity < 0 or requested == "off":
        return "off"
    if requested == "auto":
        return "live" if tty and os.environ.get("TERM") != "dumb" else "plain"
    return "live" if requested == "live" else "plain"


def for_pytest(config: Any, requested: str) -> TerminalProgress:
    """The reporter of a pytest session: its terminal, its verbosity (-q/-v), live on a TTY."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    tty = bool(reporter is not None and reporter.isatty())
    verbosity = int(config.get_verbosity())
    mode = resolve_mode(requested, tty=tty, verbosity=verbosity) if reporter is not None else "off"
    return TerminalProgress(PytestScreen(config, tty=mode == "live"), mode=mode, verbosity=verbosity)
