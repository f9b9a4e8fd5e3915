"""Server processes we own: started in their own process group, as an unprivileged user when we are root,
logging to a file, and stopped for sure (polite signal, then the whole group killed)."""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from verifiers.errors import SandboxError


@dataclass(frozen=True)
class RunAs:
    """The OS user a sandbox server runs as (only when the harness itself runs as root)."""

    name: str
    uid: int
    gid: int

    def own(self, path: Path) -> None:
        os.chown(path, self.uid, self.gid)


def unprivileged_user(configured: str | None, fallbacks: Sequence[str]) -> RunAs | None:
    """None when we are not root; else the configured user or the first fallback that exists."""
    if os.geteuid() != 0:
        return None
    names = [configured] if configured else list(fallbacks)
    for name in names:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        if entry.pw_uid != 0:
            return RunAs(name=name, uid=entry.pw_uid, gid=entry.pw_gid)
    raise SandboxError(
        f"running as root, and no unprivileged user to run the sandbox server as (tried {', '.join(names)})",
        hint="set sandbox.user in the inventory to an existing non-root user, or run as a non-root user",
    )


def run_as(argv: Sequence[str], user: RunAs | None, *, timeout: float, env: dict[str, str] | None = None,
           cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a short command (initdb, --version) as `user`, capturing its output."""
    return subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
        cwd=cwd,
        user=user.uid if user else None,
        group=user.gid if user else None,
        extra_groups=[] if user else None,
        process_group=0,
    )


class ServerProcess:
    """A long-running server in its own process group; `stop()` is idempotent and always ends the group."""

    def __init__(self, argv: Sequence[str], *, log_path: Path, user: RunAs | None, env: dict[str, str],
                 cwd: Path, stop_signal: signal.Signals = signal.SIGTERM) -> None:
        self.log_path = log_path
        self.stop_signal = stop_signal
        with log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                list(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                user=user.uid if user else None,
                group=user.gid if user else None,
                extra_groups=[] if user else None,
                process_group=0,  # its own group: our Ctrl-C does not reach it, and we can end all of it
            )
        self.pid = self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"

    def stop(self, timeout: float = 10.0) -> None:
        """The polite signal, then SIGKILL to the whole group, then wait until no process of the group is alive:
        a run must not exit while a server of its own still runs (on a busy machine a killed postmaster's
        backends take a while to go). The group is ended even if a second Ctrl-C/SIGTERM cuts the first wait."""
        try:
            if self.alive():
                self.popen.send_signal(self.stop_signal)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(timeout)
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            self._wait_gone(timeout)

    def _wait_gone(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            raise SandboxError(f"server process {self.pid} did not exit after SIGKILL") from exc
        while left := group_members(self.pid):
            if time.monotonic() > deadline:
                raise SandboxError(f"processes {left} of server group {self.pid} still alive {timeout:g}s after "
                                   "SIGKILL", hint="the machine may be overloaded; kill them by hand")
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)  # one forked between our kill and its parent's death
            time.sleep(0.01)


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group `pgid`, from /proc; where there is no /proc, whether
    the group answers a signal at all."""
    proc = Path("/proc")
    if not proc.is_dir():
        return [pgid] if group_alive(pgid) else []
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after its last ")"
        state, _ppid, pgrp, *_ = stat[stat.rindex(")") + 2:].split()
        if int(pgrp) == pgid and state not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def group_alive(pgid: int) -> bool:
    """Whether any process of the group remains (used by tests and by teardown checks)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
