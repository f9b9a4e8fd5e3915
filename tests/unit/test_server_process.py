"""ServerProcess.stop: a sandbox server's whole process group is gone when stop returns, also when its
processes ignore the polite signal and when a second Ctrl-C/SIGTERM cuts the wait short."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from verifiers.sandboxes.process import ServerProcess, group_alive, group_members

# A parent that ignores SIGTERM, with two children that do too (as a postmaster's backends outlive it).
STUBBORN = "trap '' TERM; sleep 300 & sleep 300 & echo ready; wait"


def stubborn(tmp_path: Path) -> ServerProcess:
    server = ServerProcess(["sh", "-c", STUBBORN], log_path=tmp_path / "server.log", user=None,
                           env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    deadline = time.monotonic() + 10
    while "ready" not in server.log_tail() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(group_members(server.pid)) == 3
    return server


def test_stop_returns_only_when_no_process_of_the_group_is_alive(tmp_path: Path) -> None:
    server = stubborn(tmp_path)
    server.stop(timeout=0.5)  # SIGTERM ignored: the group is killed, and waited for
    assert group_members(server.pid) == []
    server.stop()  # idempotent


def test_a_second_interrupt_during_the_polite_wait_still_ends_the_group(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    server = stubborn(tmp_path)
    real_wait = server.popen.wait
    calls = []

    def interrupted_once(timeout: float | None = None) -> int:
        calls.append(timeout)
        if len(calls) == 1:
            raise KeyboardInterrupt("signal 15")  # the plugin's SIGTERM handler, a second time
        return real_wait(timeout)

    monkeypatch.setattr(server.popen, "wait", interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        server.stop(timeout=5)
    assert group_members(server.pid) == []
    assert not group_alive(server.pid) or group_members(server.pid) == []


def test_group_members_counts_only_the_group_asked_for() -> None:
    with subprocess.Popen(["sleep", "5"], process_group=0) as child:
        try:
            assert group_members(child.pid) == [child.pid]
        finally:
            child.kill()
            child.wait()
    assert group_members(child.pid) == []
