"""What a person sees while `pytest suites/rds` restores a real dump: on a terminal (a pseudo-terminal here) a
live line redrawn in place per phase — bytes hashed, pg_restore's items against its TOC, tables checksummed —
then one line per store; through a pipe (a CI log) plain lines only; with -q no progress at all. The final
table comes in every case."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from tests.conftest import Capture

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("no_leftovers")]
ROOT = Path(__file__).resolve().parents[2]
PYTEST = str(Path(sys.executable).parent / "pytest")
COLUMNS = 160


@pytest.fixture
def project(tmp_path: Path, demo_capture: Capture) -> Path:
    backups = tmp_path / "backups"
    backups.mkdir()
    for path in (demo_capture.dump, demo_capture.manifest):
        (backups / path.name).write_bytes(path.read_bytes())
    (tmp_path / "inventory.toml").write_text("""
[[stores]]
name = "saas"
kind = "postgres"
rto = "15m"
rpo = "30d"
jobs = 2
[stores.source]
type = "file"
path = "backups/saas-*.dump"
""")
    return tmp_path


def suite_argv(*extra: str) -> list[str]:
    return [PYTEST, str(ROOT / "suites" / "rds"), "--inventory", "inventory.toml", "--reports-dir", "reports",
            "-p", "no:cacheprovider", "--color=no", *extra]


def run_in_pty(argv: list[str], cwd: Path, timeout: float = 300) -> tuple[int, str]:
    """Run with stdin/stdout/stderr on a pseudo-terminal (what pytest sees in a person's shell); its output."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, COLUMNS, 0, 0))
    env = {**os.environ, "TERM": "xterm", "COLUMNS": str(COLUMNS)}
    proc = subprocess.Popen(argv, cwd=cwd, stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    chunks: list[bytes] = []
    try:
        while select.select([leader], [], [], timeout)[0]:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(leader)
        code = proc.wait(timeout=60)
    return code, b"".join(chunks).decode("utf-8", errors="replace")


def run_in_pipe(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(COLUMNS)}
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300, check=False, env=env)


def test_terminal_gets_a_live_line_per_phase_redrawn_in_place(project: Path) -> None:
    code, out = run_in_pty(suite_argv(), project)
    assert code == 0, out[-3000:]
    redraws = re.findall(r"\r(saas: [a-z]+ [^\r\n]*)", out)
    assert any(re.match(r"saas: fetch [\d.]+ KiB/[\d.]+ KiB 100% · [\d.]+ [KMG]iB/s", r) for r in redraws), redraws
    toc = [int(m.group(1)) for r in redraws if (m := re.match(r"saas: restore (\d+)/(\d+) items", r))]
    assert toc and toc[-1] > 20 and toc == sorted(toc), redraws  # pg_restore's entries, counted as they finish
    assert any(re.match(r"saas: verify \d+/6 tables", r) for r in redraws), redraws
    assert re.search(r"saas: passed — fetch [\d.]+ KiB in [\d.]+s, provision [\d.]+s, restore \d+ items in", out)
    # pytest's own line is given back: every result of the file follows the progress block on one line
    (results,) = re.findall(r"\r\n\S*suites/rds/test_rds\.py (\.+) +\[100%\]", out)
    assert len(results) == int(re.findall(r"(\d+) passed in", out)[-1])
    assert re.search(r"^saas +postgres +PASSED +[\d.]+s / 15m00s", out, re.M)


def test_a_pipe_gets_plain_lines_and_verbose_adds_one_per_phase(project: Path) -> None:
    result = run_in_pipe(suite_argv("-v"), project)
    assert result.returncode == 0, result.stdout[-3000:]
    out = result.stdout
    assert "\r" not in out and "\x1b" not in out  # a log gets no cursor tricks
    phases = re.findall(r"^saas: (fetch|provision|restore|verify|teardown) .*(?:done in|failed after)", out, re.M)
    assert phases == ["fetch", "provision", "restore", "verify", "teardown"], out[:3000]
    assert re.search(r"^saas: restore (\d+)/\1 items 100% · done in", out, re.M)
    assert re.search(r"^saas: passed — fetch .* verify 6 tables in", out, re.M)
    assert re.search(r"^saas +postgres +PASSED .* (\d+)/\1 +fetch [\d.]+s provision", out, re.M)  # -v: phases


def test_quiet_shows_no_progress_but_keeps_the_table(project: Path) -> None:
    result = run_in_pipe(suite_argv("-q"), project)
    assert result.returncode == 0, result.stdout[-3000:]
    assert not re.search(r"^saas: ", result.stdout, re.M), result.stdout
    assert re.search(r"^saas +postgres +PASSED ", result.stdout, re.M)
    code, out = run_in_pty(suite_argv("-q"), project)
    assert code == 0 and "saas: fetch" not in out and "saas: restore" not in out


def test_workers_progress_reaches_the_controllers_log_and_leaves_nothing(project: Path) -> None:
    """With `-n 2` each store restores in a worker, whose output pytest never shows: the controller relays the
    workers' progress (verifiers/plugin/progress_relay.py), so a log gets the same lines as without xdist."""
    inventory = project / "inventory.toml"
    inventory.write_text(inventory.read_text() + inventory.read_text().replace('name = "saas"', 'name = "saas2"'))
    result = run_in_pipe(suite_argv("-v", "-n", "2"), project)
    assert result.returncode == 0, result.stdout[-3000:]
    out = result.stdout
    for store in ("saas", "saas2"):
        phases = re.findall(rf"^{store}: (fetch|provision|restore|verify|teardown) .*(?:done in|failed after)", out,
                            re.M)
        assert phases == ["fetch", "provision", "restore", "verify", "teardown"], out[:4000]
        assert re.search(rf"^{store}: restore (\d+)/\1 items 100% · done in", out, re.M), out[:4000]
        assert re.search(rf"^{store}: passed — fetch .* verify 6 tables in", out, re.M), out[:4000]
    quiet = run_in_pipe(suite_argv("-q", "-n", "2"), project)
    assert quiet.returncode == 0 and not re.search(r"^saas2?: ", quiet.stdout, re.M), quiet.stdout
