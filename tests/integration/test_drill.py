"""`restoreproof drill --service NAME` end to end, in a subprocess as users run it: a service of two local stores
(the demo's PostgreSQL dump and Redis RDB) restored together, the service RTO measured and judged, participants
and findings recorded, drill.html written and sealed with the run; a corrupt backup fails the drill, names its
store and leaves the service RTO not compared; nothing is left running."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fixtures.saas_demo import MARKER
from tests.conftest import Capture
from tests.mysql_support import MysqlCapture
from tests.redis_support import RedisCapture
from verifiers.alerts.payload import store_alerts
from verifiers.cli import main
from verifiers.evidence import chain
from verifiers.run_record import load_run

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.usefixtures("no_leftovers", "no_redis_leftovers")]
BIN = Path(sys.executable).parent
HOSTILE = "Mallory <script>alert('pwned')</script> & \"friends\" (observer)"
INVENTORY = """
[[stores]]
name = "saas"
kind = "postgres"
rto = "15m"
rpo = "30d"
[stores.source]
type = "file"
path = "backups/saas/saas-*.dump"

[[stores]]
name = "cache"
kind = "redis"
rto = "5m"
rpo = "30d"
keys = [{ pattern = "session:*", min = 1 }]
[stores.source]
type = "file"
path = "backups/cache/cache-*.rdb"

[[services]]
name = "checkout"
stores = ["saas", "cache"]
rto = "{rto}"
owner = "payments <team>"
description = "the SaaS database and its session cache"

[[stores]]
name = "shop"
kind = "mysql"
rto = "15m"
rpo = "30d"
[stores.source]
type = "file"
path = "backups/shop/shop-*.sql.gz"

[[services]]
name = "reporting"
stores = ["saas"]
rto = "4h"

[[services]]
name = "platform"
stores = ["saas", "cache", "shop"]
rto = "1h"
"""


@pytest.fixture
def project(tmp_path: Path, demo_capture: Capture, redis_capture: RedisCapture) -> Path:
    for name, files in (("saas", (demo_capture.dump, demo_capture.manifest)),
                        ("cache", (redis_capture.rdb, redis_capture.manifest))):
        (tmp_path / "backups" / name).mkdir(parents=True)
        for path in files:
            shutil.copyfile(path, tmp_path / "backups" / name / path.name)
    write_inventory(tmp_path, rto="1h")
    return tmp_path


def write_inventory(project: Path, *, rto: str) -> None:
    (project / "inventory.toml").write_text(INVENTORY.replace("{rto}", rto))


def drill(project: Path, *args: str, service: str = "checkout") -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "restoreproof"), "drill", "--service", service, *args], cwd=project,
                          capture_output=True, text=True, timeout=600, check=False)


def only_run(project: Path) -> tuple[Path, dict[str, Any]]:
    (run_dir,) = (project / "reports").glob("*/*/")
    return run_dir, json.loads((run_dir / "evidence.json").read_text())


def sealed_files(run_dir: Path) -> set[str]:
    entries, why = chain.read_sums(run_dir / chain.SUMS)
    assert why is None, why
    return set(entries)


def test_a_drill_restores_the_services_stores_together_and_seals_its_report(project: Path) -> None:
    findings = project / "findings.md"
    findings.write_text("- the runbook's cache step is out of date\n- <img src=x onerror=alert(1)> pasted here\n")
    result = drill(project, "--participant", "Ada Lovelace (incident commander)", "--participant", HOSTILE,
                   "--finding", "restore started 4 minutes after the page", "--findings-file", str(findings),
                   "--", "-n", "2")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    run_dir, evidence = only_run(project)
    record = evidence["run"]["drill"]
    assert {s["name"]: s["status"] for s in evidence["stores"]} == {"saas": "passed", "cache": "passed"}
    assert (record["service"], record["stores"], record["owner"]) == ("checkout", ["saas", "cache"], "payments <team>")
    assert record["participants"] == ["Ada Lovelace (incident commander)", HOSTILE]  # recorded as typed
    assert record["findings"] == ["restore started 4 minutes after the page", "the runbook's cache step is out of "
                                  "date", "<img src=x onerror=alert(1)> pasted here"]
    assert (record["mode"], record["workers"]) == ("parallel", 2)
    assert "service checkout: 2 stores restored in parallel (2 pytest-xdist workers)" in result.stdout
    ready = record["store_ready_seconds"]
    assert set(ready) == {"saas", "cache"}
    assert record["service_rto_seconds"] == max(ready.values()) and record["rto_target_seconds"] == 3600
    # each store's time from the drill's start covers at least its own restore
    assert all(ready[s["name"]] >= s["rto"]["seconds"] for s in evidence["stores"])
    assert (record["rto"]["status"], record["passed"]) == ("met", True)
    assert f"service RTO: {record['rto']['message']}" in result.stdout
    (check,) = [c for c in evidence["run_checks"] if c["check"] == "drill"]  # the drill's verdict is the run's
    assert (check["subject"], check["passed"], evidence["run"]["status"]) == ("checkout", True, "passed")
    assert check["observed"] == {"service_rto_seconds": record["service_rto_seconds"], "stores_passed": 2,
                                 "stores": 2}
    assert check["expected"] == {"rto_target_seconds": 3600.0}

    assert {"drill.html", "evidence.json", "report.html", "junit.xml"} <= sealed_files(run_dir)
    verified = subprocess.run([str(BIN / "restoreproof"), "evidence", "verify", "reports"], cwd=project,
                              capture_output=True, text=True, timeout=120, check=False)
    assert verified.returncode == 0, verified.stdout  # seals, chain and the evidence schema
    page = (run_dir / "drill.html").read_text()
    assert "<script" not in page and "<img" not in page  # people's text is escaped, never markup
    assert "Mallory &lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; &amp; &#34;friends&#34; (observer)" in page
    assert "&lt;img src=x onerror=alert(1)&gt; pasted here" in page and "payments &lt;team&gt;" in page
    assert re.search(r"id='verdict'>PASSED: service RTO [\d.]+s, within the target 1h00m</p>", page)
    assert "in parallel (2 pytest-xdist workers)" in page and evidence["run"]["id"] in page
    for store in ("saas", "cache"):
        assert re.search(rf"<tr><td>{store}</td><td>\w+</td><td class='passed'>passed</td>", page), store
    for store in evidence["stores"]:  # under which conditions each restore time was measured
        sandbox = store["sandbox"]
        assert f"<td class='conditions'>{sandbox['type']} sandbox, {sandbox['engine']} {sandbox['version']}<br>" in page
    saas_sandbox = next(s["sandbox"] for s in evidence["stores"] if s["name"] == "saas")
    assert saas_sandbox["mode"] in ("fast", "production-like") and f"{saas_sandbox['mode']} mode (" in page
    assert MARKER not in page  # names, counts and durations: never row contents


@pytest.mark.mysql
@pytest.mark.usefixtures("no_mysql_leftovers")
def test_three_kinds_of_store_are_restored_at_the_same_time_by_two_workers(project: Path,
                                                                          mysql_capture: MysqlCapture) -> None:
    (project / "backups" / "shop").mkdir()
    for path in (mysql_capture.dump, mysql_capture.manifest):
        shutil.copyfile(path, project / "backups" / "shop" / path.name)
    result = drill(project, "--", "-n", "2", "-v", service="platform")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    _, evidence = only_run(project)
    assert {s["name"]: s["status"] for s in evidence["stores"]} == {"saas": "passed", "cache": "passed",
                                                                    "shop": "passed"}
    record = evidence["run"]["drill"]
    assert (record["mode"], record["workers"], record["stores"]) == ("parallel", 2, ["saas", "cache", "shop"])
    assert record["service_rto_seconds"] == max(record["store_ready_seconds"].values())
    assert set(record["store_ready_seconds"]) == {"saas", "cache", "shop"} and record["passed"] is True
    workers: dict[str, set[str]] = {}  # `-v`: `[gw1] [ 40%] PASSED verifiers/all_suites.py::test_restore[shop:...]`
    for match in re.finditer(r"^\[(gw\d)\] \[ *\d+%\] \w+ \S+\[(\w+):", result.stdout, re.MULTILINE):
        workers.setdefault(match.group(2), set()).add(match.group(1))
    assert set(workers) == {"saas", "cache", "shop"}
    assert all(len(ran_on) == 1 for ran_on in workers.values())  # each store restored once, on one worker
    assert set().union(*workers.values()) == {"gw0", "gw1"}  # and both workers restored at the same time


def test_a_corrupt_backup_fails_the_drill_names_its_store_and_compares_no_service_rto(project: Path) -> None:
    dump = next((project / "backups" / "saas").glob("*.dump"))
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 3])  # a truncated dump
    result = drill(project, "--participant", "Ada (IC)", "--", "-n", "0")
    assert result.returncode == 1, result.stdout[-3000:]
    run_dir, evidence = only_run(project)
    statuses = {s["name"]: s["status"] for s in evidence["stores"]}
    assert statuses["cache"] == "passed" and statuses["saas"] in ("failed", "error")
    assert re.search(r"^saas\s+postgres\s+(FAILED|ERROR)", result.stdout, re.MULTILINE), result.stdout[-3000:]
    record = evidence["run"]["drill"]
    assert (record["mode"], record["workers"]) == ("sequential", 1)
    assert (record["passed"], record["service_rto_seconds"], record["rto"]["status"]) == (False, None, "not compared")
    assert record["rto"]["message"].startswith(f"not compared: the service was not recovered (saas {statuses['saas']})")
    assert "service checkout: 2 stores restored one after another (one session)" in result.stdout
    assert "drill.html" in sealed_files(run_dir)
    page = (run_dir / "drill.html").read_text()
    assert "id='verdict'>FAILED: service RTO not compared (target 1h00m)</p>" in page
    assert "within the target" not in page
    (check,) = [c for c in evidence["run_checks"] if c["check"] == "drill"]
    assert (check["passed"], check["observed"]) == (None, {"service_rto_seconds": None, "stores_passed": 1,
                                                           "stores": 2})
    assert f"not recovered (saas {statuses['saas']})" in check["detail"]
    verified = subprocess.run([str(BIN / "restoreproof"), "evidence", "verify", "reports"], cwd=project,
                              capture_output=True, text=True, timeout=120, check=False)
    assert "every evidence.json matches the evidence schema" in verified.stdout, verified.stdout
    assert evidence["run"]["status"] == statuses["saas"]  # failed or error: never passed
    assert re.search(r"^drill checkout: NOT COMPARED — DR drill of service checkout: not compared", result.stdout,
                     re.MULTILINE), result.stdout[-3000:]


def test_a_service_rto_over_its_target_fails_the_run_though_every_store_passed(project: Path) -> None:
    """A missed service RTO is a failed run check `drill`: the run's status, exit code, terminal, report.html, the
    job summary and notify all say failed, not only drill.html."""
    write_inventory(project, rto="0.01s")  # no restore of a real server is this quick
    result = drill(project)
    assert result.returncode == 1, result.stdout[-3000:]
    run_dir, evidence = only_run(project)
    assert {s["status"] for s in evidence["stores"]} == {"passed"} and evidence["run"]["status"] == "failed"
    record = evidence["run"]["drill"]
    assert (record["passed"], record["rto"]["status"]) == (False, "missed")
    assert record["service_rto_seconds"] > record["rto_target_seconds"]
    (check,) = [c for c in evidence["run_checks"] if c["check"] == "drill"]
    assert (check["subject"], check["passed"], check["expected"]) == ("checkout", False, {"rto_target_seconds": 0.01})
    assert check["observed"]["service_rto_seconds"] == record["service_rto_seconds"]
    assert check["detail"] == f"DR drill of service checkout: {record['rto']['message']}"
    assert re.search(r"^drill checkout: FAILED — DR drill of service checkout: every store verified .* over the "
                     r"service's target 0\.01s", result.stdout, re.MULTILINE), result.stdout[-3000:]
    report = (run_dir / "report.html").read_text()
    assert "Run NOT passed: 1 of 1 run checks failed." in report and "DR drill of service checkout" in report
    summary = subprocess.run([str(BIN / "restoreproof"), "summary", str(run_dir)], cwd=project, capture_output=True,
                             text=True, timeout=120, check=False)
    assert "### Restore verification: ❌ failed" in summary.stdout, summary.stdout + summary.stderr
    assert "Run checks failed (1):" in summary.stdout and "- DR drill of service checkout: every store" in \
        summary.stdout
    alerts = {a.store.name: a for a in store_alerts(load_run(run_dir), None)}  # what `restoreproof notify` sends
    assert alerts["run:drill"].store.status == "failed"
    assert alerts["run:drill"].store.problems() == [f"drill checkout: {check['detail']}"]


def test_an_unknown_service_is_bad_input_naming_the_services(project: Path, capsys: pytest.CaptureFixture[str]
                                                            ) -> None:
    inventory = str(project / "inventory.toml")
    assert main(["drill", "--service", "payroll", "--inventory", inventory,
                 "--reports-dir", str(project / "reports")]) == 2
    assert capsys.readouterr().err.strip() == (f"restoreproof: error: {inventory}: no service named 'payroll' — its "
                                               "services: checkout, reporting, platform")
    assert main(["drill", "--service", "checkout", "--inventory", inventory, "--findings-file",
                 str(project / "nope.md"), "--reports-dir", str(project / "reports")]) == 2
    assert f"findings file {project / 'nope.md'} does not exist" in capsys.readouterr().err
    assert not (project / "reports").exists()  # nothing ran, nothing half-written
