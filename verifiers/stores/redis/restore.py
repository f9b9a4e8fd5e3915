"""Restoring an RDB is loading it: first `<flavour>-check-rdb` on the sandbox's copy, then a server started on
it. Both verdicts end up in the `restore` check, with key names and values redacted."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field

from verifiers.checks import CheckResult
from verifiers.stores.redis.installations import RedisInstallation
from verifiers.stores.redis.local_server import RedisWorkdir, check_rdb, load_errors

EXPECTED = "check-rdb OK, loaded"


@dataclass(frozen=True)
class CheckVerdict:
    tool: str
    ok: bool
    errors: list[str] = field(default_factory=list)
    timeout: float | None = None  # set when it did not finish in time


def run_check(installation: RedisInstallation, workdir: RedisWorkdir, *, timeout: float) -> CheckVerdict:
    tool = f"{installation.flavor}-check-rdb ({installation.label})"
    try:
        result = check_rdb(installation, workdir, timeout=timeout)
    except subprocess.TimeoutExpired:
        return CheckVerdict(tool, False, timeout=timeout)
    output = result.stdout + "\n" + result.stderr
    ok = result.returncode == 0 and "RDB looks OK" in output
    errors = load_errors(output)
    if not ok and not errors:
        errors = [f"exited {result.returncode} without saying why"]
    return CheckVerdict(tool, ok, errors)


def check_failed(verdict: CheckVerdict, artifact_name: str) -> CheckResult:
    if verdict.timeout is not None:
        return CheckResult("restore", "restore", False, "timed out", EXPECTED,
                           f"{verdict.tool} on {artifact_name} did not finish within restore_timeout "
                           f"({verdict.timeout:g}s)")
    return CheckResult("restore", "restore", False, "check-rdb failed", EXPECTED,
                       f"{verdict.tool} found the RDB damaged ({artifact_name}):\n" + "\n".join(verdict.errors[:30]))


def load_failed(message: str) -> CheckResult:
    return CheckResult("restore", "restore", False, "load failed", EXPECTED, message)


def loaded(verdict: CheckVerdict, installation: RedisInstallation) -> CheckResult:
    return CheckResult("restore", "restore", True, "loaded", EXPECTED,
                       f"{verdict.tool}: RDB looks OK; {installation.label} loaded it")
