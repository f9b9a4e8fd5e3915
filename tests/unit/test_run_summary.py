"""`restoreproof summary` (the per-store Markdown table of a CI job summary) and `restoreproof suites` (the
CI matrix), run through the CLI as a workflow runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.alerts_support import RUN_ID, check, evidence, failing_store, store, write_run
from verifiers.cli import main


def test_summary_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    errored = store("cache", "error", checks=[], error={"phase": "restore", "message": "RDB v12 | too <new>"},
                    rto=None, rto_target=300, kind="redis", suite="redis")
    run_dir = write_run(tmp_path, evidence(failing_store(), errored, store("app", rto=1200.0, rto_target=3600.0)))
    assert main(["summary", str(run_dir), "--report-url", "https://ci.example/run/1"]) == 0
    assert capsys.readouterr().out == f"""### Restore verification: ⚠️ error

Run `{RUN_ID}` · 1 of 3 stores passed · [report](https://ci.example/run/1)

| Store | Status | RTO / target | RPO / target | Failed checks |
|---|---|---|---|---|
| saas | ❌ failed | 4.13s / 15m00s | 2d4h / 30d0h | checksum public.users: checksum differs: restored 0x1f, \
expected 0x2e; differs in id 1493..1515 (23 rows restored, 23 captured)<br>assertion no orphan invoices: returned 3, \
expected 0 |
| cache | ⚠️ error | — / 5m00s | 2d4h / 30d0h | error during restore: RDB v12 \\| too &lt;new&gt; |
| app | ✅ passed | 20m00s / 1h00m | 2d4h / 30d0h | — |
"""


def test_summary_of_a_reports_root_is_its_newest_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_run(tmp_path, evidence(failing_store(), run_id="20261001T061700Z-000001", started="2026-10-01T06:17:00Z"))
    write_run(tmp_path, evidence(store("saas"), run_id="20261101T061700Z-000002", started="2026-11-01T06:17:00Z"))
    assert main(["summary", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Run `20261101T061700Z-000002` · 1 of 1 stores passed\n" in out and "✅ passed" in out


def test_summary_caps_long_lists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    many = store("saas", "failed", checks=[check("row_count", f"public.t{i}", False, "0 rows") for i in range(12)])
    assert main(["summary", str(write_run(tmp_path, evidence(many)) / "evidence.json")]) == 0
    assert "row_count public.t7: 0 rows<br>… and 4 more |" in capsys.readouterr().out


@pytest.mark.parametrize(("content", "message"), [
    (None, "no evidence.json in it nor in a run under it"),
    ("{", "not JSON"),
    ('{"run": {"id": "x"}, "stores": []}', "not a restoreproof evidence record: run.started: Field required"),
])
def test_summary_bad_input_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None,
                                     message: str) -> None:
    if content is not None:
        (tmp_path / "evidence.json").write_text(content)
    assert main(["summary", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


INVENTORY = """
[[stores]]
name = "app"
kind = "postgres"
rto = "15m"
rpo = "1d"
source = { type = "file", path = "app-*.dump" }

[[stores]]
name = "cache"
kind = "redis"
rto = "5m"
rpo = "1d"
source = { type = "file", path = "cache-*.rdb" }

[[stores]]
name = "billing"
kind = "postgres"
rto = "15m"
rpo = "1d"
source = { type = "file", path = "billing-*.dump" }
"""


@pytest.mark.parametrize(("args", "suites"), [
    ([], ["rds", "redis"]),
    (["--suite", "redis"], ["redis"]),
    (["--store", "billing"], ["rds"]),
    (["--suite", "", "--store", ""], ["rds", "redis"]),  # a workflow_dispatch with its inputs left empty
])
def test_suites_for_the_ci_matrix(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                  suites: list[str]) -> None:
    (tmp_path / "inventory.toml").write_text(INVENTORY)
    assert main(["suites", "--inventory", str(tmp_path / "inventory.toml"), *args]) == 0
    assert json.loads(capsys.readouterr().out) == suites


def test_suites_nothing_matched_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "inventory.toml").write_text(INVENTORY)
    assert main(["suites", "--inventory", str(tmp_path / "inventory.toml"), "--suite", "redis",
                 "--store", "app"]) == 2
    assert "no store matches --suite redis and --store app — known suites: rds, redis" in capsys.readouterr().err


HYGIENE = """
[[stores]]
name = "billing"
kind = "postgres"
rto = "15m"
rpo = "1d"
source = { type = "file", path = "billing-*.dump" }
[stores.hygiene.configuration]
min_retention_days = 14
"""


@pytest.mark.parametrize(("inventory", "args", "suites"), [
    (INVENTORY, ["--with-hygiene"], ["rds", "redis"]),  # no store has a hygiene check: no empty hygiene job
    (INVENTORY + HYGIENE.replace("billing", "ledger"), ["--with-hygiene"], ["rds", "redis", "hygiene"]),
    (INVENTORY + HYGIENE.replace("billing", "ledger"), [], ["rds", "redis"]),  # only when asked
    (INVENTORY + HYGIENE.replace("billing", "ledger"), ["--with-hygiene", "--suite", "redis"], ["redis"]),
    (INVENTORY + HYGIENE.replace("billing", "ledger"), ["--with-hygiene", "--suite", "hygiene"], ["hygiene"]),
    (INVENTORY + HYGIENE.replace("billing", "ledger"), ["--with-hygiene", "--store", "ledger"], ["rds", "hygiene"]),
    (INVENTORY + HYGIENE.replace("billing", "ledger"), ["--with-hygiene", "--store", "app"], ["rds"]),
    ("[policy]\nmin_retention_days = 14\n" + INVENTORY, ["--with-hygiene"], ["rds", "redis", "hygiene"]),
])
def test_suites_with_the_hygiene_job(tmp_path: Path, capsys: pytest.CaptureFixture[str], inventory: str,
                                     args: list[str], suites: list[str]) -> None:
    """The monthly workflow's hygiene job (the backup configuration evidence, compared with the archive's earlier
    months) is planned only where the hygiene suite checks a store chosen."""
    (tmp_path / "inventory.toml").write_text(inventory)
    assert main(["suites", "--inventory", str(tmp_path / "inventory.toml"), *args]) == 0
    assert json.loads(capsys.readouterr().out) == suites


def test_suites_hygiene_alone_without_a_hygiene_check_is_exit_2(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "inventory.toml").write_text(INVENTORY)
    assert main(["suites", "--inventory", str(tmp_path / "inventory.toml"), "--with-hygiene", "--suite",
                 "hygiene"]) == 2
    assert "no store matches --suite hygiene" in capsys.readouterr().err
