"""A store kind is one package plus one registry line (issue 22): a toy kind, written here into a temporary
directory outside the repository and registered the way an installed plugin is (an entry point in the
`restoreproof.kinds` group, in a .dist-info on the path), appears in `restoreproof capture`, is validated by the
inventory with field paths, and is verified by `restoreproof verify --suite toy`, evidence and exit code included.
Nothing in verifiers/ names it. The toy's backup is a text file; its restore copies it, its check counts lines."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from verifiers.errors import InventoryError
from verifiers.stores import registry

TOY = {
    "__init__.py": '"""A toy store kind: a text file restored by copying it, judged by its line count."""\n',
    "settings.py": '''
from typing import ClassVar, Literal

from pydantic import Field

from verifiers.store_settings import StoreSettings


class ToyStore(StoreSettings):
    """A text file; restored by copying it, judged by its line count."""

    DEFAULT_SUITE: ClassVar[str] = "toy"
    FILE_SOURCES: ClassVar[frozenset[str]] = frozenset({"file"})
    kind: Literal["toy"]
    lines: int = Field(ge=0, description="how many lines the restored file has")


SETTINGS = (ToyStore,)
''',
    "cli.py": '''
import argparse
from pathlib import Path


def add_capture_parsers(kinds: argparse._SubParsersAction) -> None:
    toy = kinds.add_parser("toy", help="copy a toy text file into the backups directory")
    toy.add_argument("--text", required=True, type=Path)
    toy.add_argument("--out", required=True, type=Path)
''',
    "capture.py": '''
import argparse
import shutil


def run(args: argparse.Namespace) -> str:
    args.out.mkdir(parents=True, exist_ok=True)
    backup = args.out / "toy-1.txt"
    shutil.copyfile(args.text, backup)
    return f"backup:   {backup}"
''',
    "kind.py": '''
import shutil
from dataclasses import dataclass

from verifiers import checks
from verifiers.checks import CheckResult, CheckSpec
from verifiers.stores.base import KindPlan, StorePlan, narrowed

from toykind.settings import ToyStore


class ToyKind:
    def plan(self, store, located):
        store = narrowed(store, ToyStore)
        specs = (CheckSpec("restore", "restore"), CheckSpec("line_count", "lines"), CheckSpec("rto", "rto"),
                 CheckSpec("rpo", "rpo"))
        return StorePlan(store=store, located=located, specs=specs, reference_time=located.modified,
                         kind_plan=ToyPlan(store), reference="inventory")


@dataclass(frozen=True)
class ToyPlan(KindPlan):
    store: ToyStore

    def restore_and_judge(self, plan, artifact, timer, work_dir, result):
        with timer.phase("restore"):
            restored = shutil.copyfile(artifact.path, work_dir / "restored.txt")
        result.checks.append(CheckResult("restore", "restore", True, None, None, "copied"))
        with timer.phase("verify"):
            lines = len(restored.read_text().splitlines())
        return [checks.equal("line_count", "lines", lines, self.store.lines, what="lines")]


KIND = ToyKind()
''',
}


@pytest.fixture
def toy_project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A project directory and an environment whose Python path holds the toy kind's package and its
    distribution's metadata (the entry point), as `pip install` of a plugin would leave them."""
    plugins = tmp_path / "plugins"
    package = plugins / "toykind"
    package.mkdir(parents=True)
    for name, text in TOY.items():
        (package / name).write_text(text.lstrip("\n"))
    dist = plugins / "toykind-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toykind\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[restoreproof.kinds]\ntoy = toykind\n")  # the one registry line
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes.txt").write_text("one\ntwo\nthree\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugins), os.environ.get("PYTHONPATH", "")])}
    return project, env


def restoreproof(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "verifiers.cli", *args], cwd=project, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def write_inventory(project: Path, *, lines: object) -> None:
    (project / "inventory.toml").write_text(f"""
[[stores]]
name = "notes"
kind = "toy"
rto = "5m"
rpo = "30d"
lines = {lines}
[stores.source]
type = "file"
path = "backups/toy-*.txt"
""")


def test_a_toy_kind_in_one_package_is_in_the_cli_the_inventory_and_a_suite(
        toy_project: tuple[Path, dict[str, str]]) -> None:
    project, env = toy_project
    listed = restoreproof(project, env, "capture", "--help")
    assert listed.returncode == 0 and "toy" in listed.stdout, listed.stderr
    assert "postgres" in listed.stdout  # the built-in kinds stay

    captured = restoreproof(project, env, "capture", "toy", "--text", "notes.txt", "--out", "backups")
    assert captured.returncode == 0, captured.stderr
    assert "backup:" in captured.stdout and (project / "backups" / "toy-1.txt").is_file()

    write_inventory(project, lines=-1)  # the kind's own model validates its own field, with its path
    invalid = restoreproof(project, env, "inventory")
    assert invalid.returncode == 2
    assert "stores[0].lines" in invalid.stderr and "greater than or equal to 0" in invalid.stderr

    write_inventory(project, lines=3)
    shown = restoreproof(project, env, "inventory")
    assert shown.returncode == 0, shown.stderr
    assert "notes" in shown.stdout and "toy-1.txt" in shown.stdout

    verified = restoreproof(project, env, "verify", "--suite", "toy", "--reports-dir", "reports")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    [evidence_file] = (project / "reports").glob("*/*/evidence.json")
    [store] = json.loads(evidence_file.read_text())["stores"]
    assert (store["kind"], store["suite"], store["status"]) == ("toy", "toy", "passed")
    checks = {c["check"]: c for c in store["checks"]}
    assert checks["line_count"]["passed"] and checks["line_count"]["observed"] == 3


def test_a_toy_kind_fails_its_own_check_loudly(toy_project: tuple[Path, dict[str, str]]) -> None:
    project, env = toy_project
    assert restoreproof(project, env, "capture", "toy", "--text", "notes.txt", "--out", "backups").returncode == 0
    write_inventory(project, lines=4)  # the backup has 3
    verified = restoreproof(project, env, "verify", "--suite", "toy", "--reports-dir", "reports")
    assert verified.returncode == 1, verified.stdout + verified.stderr
    [evidence_file] = (project / "reports").glob("*/*/evidence.json")
    [store] = json.loads(evidence_file.read_text())["stores"]
    assert store["status"] == "failed"
    assert [c["passed"] for c in store["checks"] if c["check"] == "line_count"] == [False]


def test_the_same_kind_registered_twice_is_an_error_naming_both(toy_project: tuple[Path, dict[str, str]],
                                                                tmp_path: Path) -> None:
    project, env = toy_project
    twin = tmp_path / "plugins" / "toytwin"
    shutil.copytree(tmp_path / "plugins" / "toykind", twin)
    dist = tmp_path / "plugins" / "toytwin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toytwin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[restoreproof.kinds]\ntoy = toytwin\n")
    write_inventory(project, lines=3)
    shown = restoreproof(project, env, "inventory")
    assert shown.returncode == 2, shown.stderr
    assert "store kind package toytwin" in shown.stderr and "conflicting subparser: toy" in shown.stderr
    # the registry's own check (the inventory's path, apart from the CLI's) names both packages
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(tmp_path / "plugins"))
        registry.packages.cache_clear()
        registry._settings.cache_clear()
        try:
            with pytest.raises(InventoryError, match="store kind 'toy' is registered twice: by toykind and toytwin"):
                registry.settings_models()
        finally:
            registry.packages.cache_clear()
            registry._settings.cache_clear()
            for name in [m for m in sys.modules if m.split(".")[0] in ("toykind", "toytwin")]:
                del sys.modules[name]
    assert "toy" not in registry.kinds()
