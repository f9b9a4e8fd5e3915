"""The progress seam and its display: events reach the reporter only inside a `reporting` block, the live line
is redrawn at most ten times a second, a log gets a line per long phase per interval, the ETA follows the
recent rate, -q shows nothing and -v adds a line per phase; and the end-of-run table."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from verifiers import progress
from verifiers.checks import CheckResult
from verifiers.inventory import parse_inventory
from verifiers.plugin.progress_display import (
    LIVE_REDRAW_SECONDS,
    Mode,
    PhaseProgress,
    TerminalProgress,
    describe,
    format_bytes,
    format_eta,
    resolve_mode,
)
from verifiers.runner import StoreOutcome
from verifiers.sources import Artifact
from verifiers.stores.redis.local_server import report_loading
from verifiers.terminal_summary import summary_lines
from verifiers.timing import RestoreTimer


@dataclass
class FakeScreen:
    """Records what would be drawn: ('live', text), ('line', text), ('end', '')."""

    width: int = 100
    drawn: list[tuple[str, str]] = field(default_factory=list)

    def live(self, text: str) -> None:
        self.drawn.append(("live", text))

    def line(self, text: str) -> None:
        self.drawn.append(("line", text))

    def end(self) -> None:
        self.drawn.append(("end", ""))

    def kinds(self, kind: str) -> list[str]:
        return [text for k, text in self.drawn if k == kind]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def reporter(mode: Mode, verbosity: int = 0, interval: float = 30.0) -> tuple[TerminalProgress, FakeScreen, Clock]:
    screen, clock = FakeScreen(), Clock()
    return TerminalProgress(screen, mode=mode, verbosity=verbosity, clock=clock, interval=interval), screen, clock


def test_tasks_report_only_inside_a_reporting_block_and_follow_the_phase_clock() -> None:
    shown, screen, clock = reporter("live")
    silent = progress.task("bytes", total=10)
    silent.advance(5)  # nobody listens: a no-op, not an error
    assert not silent.active and screen.drawn == []
    timer = RestoreTimer()
    with progress.reporting(shown, "app"), timer.phase("fetch"):
        task = progress.task("bytes", total=2048)
        assert task.active
        clock.now += 1
        task.advance(1024)
        clock.now += 1
        task.advance(1024)
    assert screen.kinds("live")[0] == "app: fetch · 0.00s"
    assert screen.kinds("live")[1] == "app: fetch 1.0 KiB/2.0 KiB 50% · 1.0 KiB/s · ETA 1s · 1.00s"
    assert screen.kinds("live")[-1] == "app: fetch 2.0 KiB/2.0 KiB 100% · 1.0 KiB/s · done in 2.00s"
    assert progress.task("items").active is False  # the block is over


def test_live_line_is_rate_limited_but_always_shows_the_end() -> None:
    shown, screen, clock = reporter("live")
    shown.phase_started("app", "restore")
    for done in range(1, 101):
        clock.now += 0.01  # 100 updates in one second
        shown.advanced("app", "restore", done, 100, "items")
    lines = screen.kinds("live")
    assert 10 <= len(lines) <= 1 + round(1 / LIVE_REDRAW_SECONDS) + 1  # start, ~10 redraws, the final 100/100
    assert lines[-1].startswith("app: restore 100/100 items 100%")
    assert screen.kinds("line") == []  # nothing permanent until the store is done


def test_plain_lines_only_for_long_phases_and_at_most_once_per_interval() -> None:
    shown, screen, clock = reporter("plain", interval=30)
    shown.phase_started("app", "verify")
    for done in range(1, 4):
        clock.now += 5
        shown.advanced("app", "verify", done, 100, "tables")
    assert screen.drawn == []  # a quick phase prints nothing in a log
    for done in range(4, 40):
        clock.now += 5  # 180 s more
        shown.advanced("app", "verify", done, 100, "tables")
    lines = screen.kinds("line")
    assert len(lines) == 6 and all(line.startswith("app: verify ") for line in lines)
    assert "\r" not in "".join(lines) and screen.kinds("live") == []
    shown.phase_ended("app", "verify", failed=False)
    shown.store_finished("app", "passed")
    assert screen.drawn[-2] == ("line", "app: passed — verify 39 tables in 3m15s")
    assert screen.drawn[-1] == ("end", "")


def test_quiet_shows_nothing_and_verbose_adds_a_line_per_phase() -> None:
    quiet, screen, _clock = reporter("live", verbosity=-1)
    quiet.phase_started("app", "fetch")
    quiet.advanced("app", "fetch", 1, 2, "bytes")
    quiet.phase_ended("app", "fetch", failed=False)
    quiet.store_finished("app", "passed")
    assert screen.drawn == []

    verbose, screen, clock = reporter("plain", verbosity=1)
    for phase in ("fetch", "provision", "provision", "restore"):  # provision is timed in two parts
        verbose.phase_started("app", phase)
        clock.now += 2
        verbose.phase_ended("app", phase, failed=phase == "restore")
    verbose.store_finished("app", "error")
    assert screen.kinds("line") == ["app: fetch · done in 2.00s", "app: provision · done in 4.00s",
                                    "app: restore · failed after 2.00s",
                                    "app: error — fetch 2.00s, provision 4.00s, restore 2.00s"]


def test_rate_follows_the_recent_window_and_eta_comes_from_it() -> None:
    state = PhaseProgress(started=0.0)
    for second in range(1, 21):  # 1 MiB/s for 20 s, then 4 MiB/s
        state.record(float(second), second * 2**20, 100 * 2**20, "bytes")
    for second in range(21, 31):
        state.record(float(second), (20 + 4 * (second - 20)) * 2**20, 100 * 2**20, "bytes")
    assert state.rate(30.0) == pytest.approx(4 * 2**20 * 9 / 9, rel=0.01)  # the last 10 s, not the 2 MiB/s average
    assert state.eta(30.0) == pytest.approx((100 - 60) / 4, rel=0.01)
    assert describe("app", "fetch", state, 30.0) == (
        "app: fetch 60.0 MiB/100.0 MiB 60% · 4.0 MiB/s · ETA 10s · 30.0s")
    unknown = PhaseProgress(started=0.0)
    unknown.record(2.0, 3 * 2**30, None, "bytes")
    assert unknown.eta(2.0) is None
    assert describe("app", "fetch", unknown, 2.0) == "app: fetch 3.0 GiB · 1.5 GiB/s · 2.00s"


def test_formats() -> None:
    assert [format_bytes(n) for n in (0, 1023, 1536, 5 * 2**30)] == ["0 B", "1023 B", "1.5 KiB", "5.0 GiB"]
    assert [format_eta(s) for s in (4.4, 59.4, 65, 7200)] == ["4s", "59s", "1m05s", "2h00m"]


@pytest.mark.parametrize(("requested", "tty", "verbosity", "term", "expected"), [
    ("auto", True, 0, "xterm", "live"), ("auto", False, 0, "xterm", "plain"), ("auto", True, 0, "dumb", "plain"),
    ("auto", True, -1, "xterm", "off"), ("live", False, 0, "xterm", "live"), ("plain", True, 2, "xterm", "plain"),
    ("off", True, 1, "xterm", "off"),
])
def test_mode_resolution(requested: str, tty: bool, verbosity: int, term: str, expected: str,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", term)
    assert resolve_mode(requested, tty=tty, verbosity=verbosity) == expected


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="choose one of auto, live, plain, off"):
        resolve_mode("fancy", tty=True, verbosity=0)


def test_reporting_from_worker_threads_is_safe() -> None:
    shown, screen, _clock = reporter("live")

    def work(tables: progress.Task) -> None:
        for _ in range(100):
            tables.advance()

    with progress.reporting(shown, "app"), RestoreTimer().phase("verify"):
        tables = progress.task("tables", total=400)
        workers = [threading.Thread(target=work, args=(tables,)) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert tables.done == 400
    assert screen.kinds("live")[-1].startswith("app: verify 400/400 tables 100% · done in")


def test_a_broken_terminal_turns_progress_off_instead_of_failing_the_restore() -> None:
    class Broken(FakeScreen):
        def live(self, text: str) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    shown = TerminalProgress(Broken(), mode="live")
    shown.phase_started("app", "restore")  # no exception
    assert shown.mode == "off"


def outcome(name: str, status: str, checks: list[CheckResult], error: dict[str, str] | None = None) -> StoreOutcome:
    inventory = parse_inventory({"stores": [{"name": name, "kind": "postgres", "rto": "15m", "rpo": "1d",
                                             "source": {"type": "file", "path": "x.dump"}}]}, Path("inventory.toml"))
    timer = RestoreTimer(seconds={"fetch": 1.5, "provision": 2.0, "restore": 30.0, "verify": 10.0, "teardown": 1.0})
    artifact = Artifact(location=f"/backups/{name}-1.dump", path=Path("x"), sha256="0" * 64, bytes=1,
                        modified=datetime.now(UTC), manifest_path=None)
    return StoreOutcome(store=inventory.stores[0], status=status, checks=checks, timer=timer, artifact=artifact,
                        rpo_seconds=3600.0, error=error)


def test_summary_table_aligns_stores_and_lists_what_failed() -> None:
    ok = CheckResult("row_count", "public.a", True, 1, 1, "count matches")
    bad = [CheckResult("checksum", f"public.t{i}", False, "x", "y", f"checksum differs: t{i}\nsecond line")
           for i in range(7)]
    outcomes = [outcome("app", "passed", [ok]), outcome("billing-db", "failed", [ok, *bad]),
                outcome("cache", "error", [], error={"phase": "restore", "message": "pg_restore died\nmore"})]
    lines = summary_lines(outcomes)
    text = [line.text for line in lines]
    assert text[0].split() == ["store", "kind", "status", "RTO", "/", "target", "RPO", "/", "target", "checks"]
    assert text[1].split()[:3] == ["app", "postgres", "PASSED"] and text[1].endswith("1/1")
    assert text[2].index("FAILED") == text[1].index("PASSED")  # aligned columns
    assert "43.5s / 15m00s" in text[1] and "1h00m / 24h00m" in text[1]
    assert text[4] == "billing-db (billing-db-1.dump): checksum public.t0: checksum differs: t0"
    assert "… and 2 more failed checks (-v lists them)" in text[9]
    assert text[10] == "cache (cache-1.dump): error in restore: pg_restore died"
    assert text[-1] == "3 stores: 1 passed, 1 failed, 1 error"
    assert [line.colour for line in lines[1:4]] == ["green", "red", "yellow"]
    verbose = [line.text for line in summary_lines(outcomes, verbosity=1)]
    assert verbose[0].endswith("phases") and "restore 30.0s" in verbose[1]
    assert sum("checksum public.t" in line for line in verbose) == 7


def test_redis_loading_progress_is_read_from_info_persistence() -> None:
    shown, screen, clock = reporter("live")
    with progress.reporting(shown, "cache"), RestoreTimer().phase("restore"):
        loading = progress.task("bytes")
        report_loading("# Persistence\r\nloading:0\r\nasync_loading:0\r\n", loading)  # not loading: nothing
        assert loading.total is None
        clock.now += 2
        report_loading("loading:1\r\nloading_start_time:1764200000\r\nloading_total_bytes:4194304\r\n"
                       "loading_rdb_used_mem:0\r\nloading_loaded_bytes:1048576\r\nloading_loaded_perc:25.00\r\n",
                       loading)
    assert loading.done == 1048576
    assert loading.total == 4194304
    assert screen.kinds("live")[1] == "cache: restore 1.0 MiB/4.0 MiB 25% · 512.0 KiB/s · ETA 6s · 2.00s"
