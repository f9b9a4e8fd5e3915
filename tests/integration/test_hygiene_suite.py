"""`pytest suites/hygiene` end to end, in a subprocess as a user runs it: no restore, one item per check per store,
a store whose backups stopped for a week fails its rpo_gap item, and evidence.json (valid against the shipped
schema) and report.html show each check's observed and expected values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import jsonschema

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NOW = datetime.now(UTC)


def backups(directory: Path, name: str, ages_days: list[float]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for age in ages_days:
        path = directory / f"{name}-{age:05.1f}.dump"
        path.write_bytes(b"PGDMP")
        stamp = (NOW - timedelta(days=age)).timestamp()
        os.utime(path, (stamp, stamp))


def test_hygiene_suite_judges_gaps_and_writes_evidence(tmp_path: Path) -> None:
    backups(tmp_path / "steady", "steady", [d + 0.25 for d in range(40)])
    backups(tmp_path / "gappy", "gappy", [0.25, 1.25, 9.25, 10.25, 11.25])  # nothing for 8 days
    store = '[[stores]]\nname = "{0}"\nkind = "postgres"\nrto = "1h"\nrpo = "1d"\n[stores.source]\ntype = "file"\n' \
            'path = "{0}/{0}-*.dump"\n[stores.hygiene]\nretention_days = 30\n'
    (tmp_path / "inventory.toml").write_text(store.format("steady") + store.format("gappy"))
    result = subprocess.run([str(BIN / "pytest"), str(ROOT / "suites" / "hygiene"), "--inventory", "inventory.toml",
                             "--reports-dir", "reports", "-p", "no:cacheprovider", "-q"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "2 failed, 2 passed" in result.stdout
    assert "gappy: rpo_gap rpo_gap: largest gap between recovery points over the last 30d0h: 8d0h" in result.stdout
    assert "days old; backups must be kept 30 days" in result.stdout
    (run,) = (tmp_path / "reports").glob("*/*")
    evidence = json.loads((run / "evidence.json").read_text())
    schema = json.loads(resources.files("verifiers.evidence").joinpath("schema/evidence.schema.json").read_text())
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(evidence)) == []
    stores = {s["name"]: s for s in evidence["stores"]}
    assert {s["suite"] for s in stores.values()} == {"hygiene"}
    assert (stores["steady"]["status"], stores["gappy"]["status"]) == ("passed", "failed")
    gap = next(c for c in stores["gappy"]["checks"] if c["check"] == "rpo_gap")
    assert (gap["passed"], gap["observed"], gap["expected"]) == (False, 8 * 86400.0, 86400.0)
    report = (run / "report.html").read_text()
    assert "gappy" in report and "8d0h" in report and "24h00m" in report  # observed vs expected, as durations


def test_restoreproof_verify_runs_the_packaged_hygiene_suite_from_any_folder(tmp_path: Path) -> None:
    """Issue 24, item 2: the suites ship in the package, so a team's own repository (here a plain folder, not
    this one) runs `restoreproof verify --suite hygiene` without suites/ beside it."""
    backups(tmp_path / "gappy", "gappy", [0.25, 1.25, 9.25, 10.25, 11.25])  # nothing for 8 days
    (tmp_path / "inventory.toml").write_text(
        '[[stores]]\nname = "gappy"\nkind = "postgres"\nrto = "PT1H"\nrpo = "P1D"\n[stores.source]\ntype = "file"\n'
        'path = "gappy/gappy-*.dump"\n[stores.hygiene]\nretention_days = 30\n')
    result = subprocess.run([str(BIN / "restoreproof"), "verify", "--suite", "hygiene"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert "no store" not in result.stderr
    assert "gappy: rpo_gap rpo_gap: largest gap between recovery points over the last 30d0h: 8d0h" in result.stdout
    (run,) = (tmp_path / "reports").glob("*/*")
    assert {s["suite"] for s in json.loads((run / "evidence.json").read_text())["stores"]} == {"hygiene"}
