"""Migrations on the restored copy: can today's code still upgrade last month's backup? The team's migration
command runs against the sandbox (its URL in `env_var`, and what else the kind's MigrationTarget puts in the
environment, e.g. libpq's PG* variables), bounded by `timeout`."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from verifiers.checks import CheckResult
from verifiers.compliance.restored import MigrationTarget
from verifiers.compliance.settings import MigrateSettings
from verifiers.durations import format_duration

SUBJECT = "migrate"
TAIL = 10  # output lines shown on failure, redacted


def run_migrations(settings: MigrateSettings, target: MigrationTarget, *, base_dir: Path) -> CheckResult:
    cwd = base_dir if settings.cwd is None else (
        Path(settings.cwd) if Path(settings.cwd).is_absolute() else base_dir / settings.cwd)
    env = {**os.environ, **target.env, settings.env_var: target.url}
    # the program only: arguments may carry credentials
    shown = Path(settings.command[0]).name + (" …" if len(settings.command) > 1 else "")
    try:
        done = subprocess.run(settings.command, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=settings.timeout, check=False, errors="replace")
    except subprocess.TimeoutExpired:
        return CheckResult("migrate", SUBJECT, False, "timed out", "exit 0",
                           f"`{shown}` did not finish within {format_duration(settings.timeout)} (migrate.timeout)")
    except OSError as exc:
        return CheckResult("migrate", SUBJECT, False, "not started", "exit 0",
                           f"`{shown}` could not start in {cwd}: {exc.strerror} — fix stores.migrate.command/cwd")
    if done.returncode == 0:
        return CheckResult("migrate", SUBJECT, True, "exit 0", "exit 0",
                           f"`{shown}` upgraded the restored copy (exit 0)")
    return CheckResult("migrate", SUBJECT, False, f"exit {done.returncode}", "exit 0",
                       f"`{shown}` failed on the restored copy (exit {done.returncode}):\n"
                       + _tail(done, target.redact))


def _tail(done: subprocess.CompletedProcess[str], redact: Callable[[str], str]) -> str:
    lines = [line for line in (done.stderr or done.stdout or "").splitlines() if line.strip()]
    return "\n".join(redact(line)[:300] for line in lines[-TAIL:]) or "(no output)"
