"""Complete help texts (issue 24, item 6): every argument of every command says what it is, and the top-level
description is whole, with the exit codes."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from _pytest.assertion.rewrite import AssertionRewriter

import verifiers
from verifiers.cli import build_parser, main


def arguments(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, argparse.Action]]:
    for action in parser._actions:  # argparse has no public walk over a parser's actions
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from arguments(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction | argparse._VersionAction):
            yield path, action


def test_every_argument_of_every_command_has_help() -> None:
    missing = [f"{path} {'/'.join(a.option_strings) or a.dest}" for path, a in arguments(build_parser(), "restoreproof")
               if not a.help]
    assert missing == []


def test_the_top_level_help_is_whole_and_gives_the_exit_codes() -> None:
    parser = build_parser()
    assert parser.description is not None
    assert parser.description.endswith("check and archive the evidence (`restoreproof evidence verify|index|upload`).")
    assert parser.epilog is not None and parser.epilog.startswith("Exit codes: 0 all passed;")


def test_verify_warns_of_no_assertion_rewriting_it_cannot_do() -> None:
    """`restoreproof verify` runs pytest in the process that imported `verifiers`; pytest marks an installed
    plugin's top-level package for rewriting and warns when it was imported already, unless its docstring says
    PYTEST_DONT_REWRITE (pytest's own check, used here as pytest uses it)."""
    assert AssertionRewriter.is_rewrite_disabled(verifiers.__doc__ or "")


def test_inventory_json_lists_each_store_and_its_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "inventory.toml").write_text('[[stores]]\nname = "cache"\nkind = "redis"\nrto = "PT15M"\n'
                                             'rpo = "30d"\nsource = { type = "file", path = "none-*.rdb" }\n')
    code = main(["inventory", "--inventory", str(tmp_path / "inventory.toml"), "--json"])
    shown = json.loads(capsys.readouterr().out)
    assert code == 1 and [s["name"] for s in shown["stores"]] == ["cache"]
    [store] = shown["stores"]
    assert store["ok"] is False and store["suite"] == "redis" and "no backup matches" in store["error"]
