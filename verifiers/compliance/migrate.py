"""Migrations on the restored copy: can today's code still upgrade last month's backup? The team's migration
command runs against the sandbox (its URL in `env_var`, libpq's PG* variables too), bounded by `timeout`."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from verifiers.checks import CheckResult
from verifiers.compliance.settings import MigrateSettings
from verifiers.durations import format_duration

SUBJECT = "migrate"
TAIL = 10  # output lines shown on failure, redacted


def run_migrations(settings: MigrateSettings, *, url: str, pg_env: Mapping[str, str], base_dir: Path) -> CheckResult:
    cwd = base_dir if settings.cwd is None else (
        Path(settings.cwd) if Path(settings.cwd).is_absolute() else base_dir / settings.cwd)
    env = {**os.environ, **pg_env, settings.env_var: url}
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
                       f"`{shown}` failed on the restored copy (exit {done.returncode}):\n" + _tail(done))


def _tail(done: subprocess.CompletedProcess[str]) -> str:
    from verifiers.stores.postgres.restore import redact

    lines = [line for line in (done.stderr or done.stdout or "").splitlines() if line.strip()]
    return "\n".join(redact(line)[:300] for line in lines[-TAIL:]) or "(no output)"


def sandbox_url(server: object, database: str | None = None) -> str:
    """postgresql:// URL of the restored database in a local sandbox (unix socket, no password)."""
    from urllib.parse import quote

    from verifiers.stores.postgres.local_server import SUPERUSER, PostgresServer
    from verifiers.stores.postgres.restore import RESTORE_DATABASE

    assert isinstance(server, PostgresServer)
    return (f"postgresql://{SUPERUSER}@/{quote(database or RESTORE_DATABASE, safe='')}"
            f"?host={quote(str(server.socket_dir), safe='')}&port={server.port}")
