"""Compliance checks' judgement and inputs without servers: RPO gaps (with hypothesis), PITR lag, AWS Backup job
success rate (against a botocore Stubber: moto does not implement backup:ListBackupJobs), erasure ledgers,
subject hashing, canary logs, and the inventory's refusal of settings a store cannot use."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st

from verifiers.compliance import canary, gdpr, hygiene, hygiene_plan
from verifiers.compliance.recovery_points import judge_gap, judge_pitr, largest_gap
from verifiers.compliance.settings import GdprSettings
from verifiers.errors import InventoryError
from verifiers.inventory import parse_inventory

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
DAY = 86400.0


def days_ago(*days: float) -> list[datetime]:
    return [NOW - timedelta(days=d) for d in days]


def test_a_missed_week_is_the_gap_even_when_the_latest_backup_is_fresh() -> None:
    points = days_ago(0.5, 1.5, 2.5, 10.5, 11.5)  # nothing between day 10.5 and day 2.5
    result = judge_gap(points, rpo=DAY, window=30 * DAY, now=NOW, what="artifacts")
    assert not result.passed
    assert result.observed == 8 * DAY
    assert "from 2026-11-17T00:00:00Z to 2026-11-25T00:00:00Z" in result.message and "5 artifacts" in result.message


def test_daily_backups_pass_and_the_open_gap_to_now_counts() -> None:
    assert judge_gap(days_ago(*[d + 0.5 for d in range(30)]), rpo=DAY, window=30 * DAY, now=NOW, what="x").passed
    stale = judge_gap(days_ago(3, 4, 5), rpo=DAY, window=30 * DAY, now=NOW, what="x")
    assert not stale.passed and stale.observed == 3 * DAY and "to now" in stale.message


def test_a_point_before_the_window_anchors_the_first_gap_and_no_point_is_the_whole_window() -> None:
    gap, inside = largest_gap(days_ago(40, 1), now=NOW, window=30 * DAY)
    assert (gap.seconds, inside) == (39 * DAY, 1)
    gap, inside = largest_gap([], now=NOW, window=30 * DAY)
    assert (gap.seconds, inside) == (30 * DAY, 0)


@given(st.lists(st.floats(min_value=0, max_value=60), min_size=1, max_size=40),
       st.floats(min_value=1, max_value=60))
def test_largest_gap_bounds_every_consecutive_gap_in_the_window(ages: list[float], window_days: float) -> None:
    points = days_ago(*ages)
    gap, _ = largest_gap(points, now=NOW, window=window_days * DAY)
    inside = sorted(p for p in points if p >= NOW - timedelta(days=window_days))
    for a, b in itertools.pairwise([*inside, NOW]):
        assert gap.seconds >= (b - a).total_seconds() - 1e-6
    assert gap.seconds >= (NOW - max(points)).total_seconds() - 1e-6  # never less than the newest's age


def test_pitr_lag_and_pitr_off() -> None:
    assert judge_pitr(NOW - timedelta(minutes=5), rpo=3600, now=NOW, what="instance db").passed
    late = judge_pitr(NOW - timedelta(hours=3), rpo=3600, now=NOW, what="instance db")
    assert not late.passed and late.observed == 3 * 3600
    off = judge_pitr(None, rpo=3600, now=NOW, what="table t")
    assert not off.passed and "not enabled" in off.message


def _jobs(completed: int, failed: int) -> list[dict[str, Any]]:
    jobs = [{"BackupJobId": f"ok-{i}", "State": "COMPLETED", "ResourceArn": "arn:aws:rds:x:1:db:app"}
            for i in range(completed)]
    jobs += [{"BackupJobId": f"bad-{i}", "State": "FAILED", "ResourceArn": "arn:aws:rds:x:1:db:app"}
             for i in range(failed)]
    jobs.append({"BackupJobId": "running", "State": "RUNNING"})  # not finished: not counted
    return jobs


@pytest.mark.parametrize(("completed", "failed", "passed"), [(999, 1, True), (98, 2, False), (0, 0, False)])
def test_backup_job_success_rate_through_the_real_client(monkeypatch: pytest.MonkeyPatch, completed: int,
                                                         failed: int, passed: bool) -> None:
    """The real boto3 backup client and paginator, its answers stubbed (moto has no ListBackupJobs)."""
    client = hygiene.backup_client("us-east-1", None)
    stubber = Stubber(client)
    jobs = _jobs(completed, failed)
    stubber.add_response("list_backup_jobs", {"BackupJobs": jobs[:500], "NextToken": "more"},
                         {"ByCreatedAfter": NOW - timedelta(days=30), "ByBackupVaultName": "prod"})
    stubber.add_response("list_backup_jobs", {"BackupJobs": jobs[500:]},
                         {"ByCreatedAfter": NOW - timedelta(days=30), "ByBackupVaultName": "prod",
                          "NextToken": "more"})
    monkeypatch.setattr(hygiene, "backup_client", lambda region, endpoint: client)
    store = _store({"source": {"type": "file", "path": "x.dump"},
                    "hygiene": {"rpo_gap": False, "backup_jobs": {"vault": "prod", "region": "us-east-1"}}})
    with stubber:
        result = hygiene.judge(store, hygiene_plan.specs(store)[0], NOW, Path("."))
    stubber.assert_no_pending_responses()
    assert result.passed is passed
    if failed:
        assert "bad-0 FAILED" in result.message
    if not completed:
        assert "no AWS Backup job finished" in result.message


def _store(extra: dict[str, Any], kind: str = "postgres") -> Any:
    store = {"name": "app", "kind": kind, "rto": "1h", "rpo": "1d", **extra}
    return parse_inventory({"stores": [store]}, Path("/inv/inventory.toml")).stores[0]


@pytest.mark.parametrize(("extra", "kind", "says"), [
    ({"source": {"type": "file", "path": "x"}, "hygiene": {"pitr": True}}, "postgres", "hygiene.pitr applies to"),
    ({"source": {"type": "file", "path": "x"}, "hygiene": {"require_manual": True}}, "postgres", "rds-snapshot"),
    ({"source": {"type": "s3", "bucket": "bkt"}, "hygiene": {"copy": {"region": "eu-west-1"}}}, "postgres",
     "needs `bucket`"),
    ({"source": {"type": "file", "path": "x"}, "gdpr": {"ledger": "l.csv", "places": [{"pattern": "u:{subject}"}]}},
     "postgres", "gdpr.places of a postgres store"),
    ({"source": {"type": "file", "path": "x"}, "gdpr": {"ledger": "l.csv", "places": [{"table": "t"}]}}, "postgres",
     "gdpr.places[0].column: required field is missing"),
    ({"source": {"type": "file", "path": "x"}, "gdpr": {"ledger": "l.csv", "places": [{"pattern": "user:1"}]}},
     "redis", "{subject}"),
    ({"source": {"type": "file", "path": "x"}, "migrate": {"command": ["true"]}}, "redis", "postgres stores only"),
    ({"source": {"type": "file", "path": "x"}, "gdpr": {"places": [{"table": "t", "column": "c"}]}}, "postgres",
     "exactly one of `ledger`"),
])
def test_inventory_refuses_settings_the_store_cannot_use(extra: dict[str, Any], kind: str, says: str) -> None:
    with pytest.raises(InventoryError) as caught:
        _store(extra, kind)
    assert says in str(caught.value)


def test_a_copy_in_the_sources_own_region_and_account_is_refused_naming_the_store_and_the_fix() -> None:
    """hygiene.copy in the source's own region without role_arn would find the source's own snapshots and call
    them a copy: refused at load, naming the store, the setting and the fix."""
    source = {"type": "rds-snapshot", "instance": "db", "region": "us-east-1"}
    with pytest.raises(InventoryError) as caught:
        _store({"source": source, "hygiene": {"rpo_gap": False, "copy": {"region": "us-east-1"}}})
    message = str(caught.value)
    assert "app" in message and "hygiene.copy.region us-east-1 is the source's own region" in message
    assert "set region to the region holding the copies, or role_arn" in message
    s3 = {"type": "s3", "bucket": "bkt", "region": "eu-west-1"}
    with pytest.raises(InventoryError, match="own region"):
        _store({"source": s3, "hygiene": {"copy": {"region": "eu-west-1", "bucket": "bkt-replica"}}})
    # another region, or another account's role in the same region, or a source naming no region: accepted
    assert _store({"source": source, "hygiene": {"rpo_gap": False, "copy": {"region": "us-west-2"}}}).hygiene
    role = "arn:aws:iam::222222222222:role/restoreproof-read"
    assert _store({"source": source, "hygiene": {"rpo_gap": False, "copy": {"region": "us-east-1",
                                                                            "role_arn": role}}}).hygiene
    assert _store({"source": {**source, "region": None},
                   "hygiene": {"rpo_gap": False, "copy": {"region": "us-east-1"}}}).hygiene


def test_ledger_csv_and_jsonl_and_errors_that_never_show_a_subject(tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text("subject_id,erased_at\nalice@example.com,2026-11-01T10:00:00Z\n42,2026-11-02\n")
    settings = GdprSettings(ledger="l.csv", places=[{"table": "t", "column": "c"}])  # type: ignore[list-item]
    ledger = gdpr.read_ledger(settings, base_dir=tmp_path, store="app")
    assert [e.subject for e in ledger] == ["alice@example.com", "42"]
    assert ledger[1].erased_at == datetime(2026, 11, 2, tzinfo=UTC)  # no offset: UTC
    (tmp_path / "l.jsonl").write_text(json.dumps({"subject_id": "bob", "erased_at": "2026-11-03T00:00:00+01:00"})
                                      + "\n\n" + json.dumps({"subject_id": "carol@x", "erased_at": "last week"}))
    with pytest.raises(InventoryError) as caught:
        gdpr.read_ledger(settings.model_copy(update={"ledger": "l.jsonl"}), base_dir=tmp_path, store="app")
    assert "line 3" in str(caught.value) and "carol" not in str(caught.value)
    (tmp_path / "bad.csv").write_text("who,when\nx,y\n")
    with pytest.raises(InventoryError, match="no header"):
        gdpr.read_ledger(settings.model_copy(update={"ledger": "bad.csv"}), base_dir=tmp_path, store="app")


def test_split_by_backup_uses_each_subjects_last_erasure() -> None:
    backup = NOW - timedelta(days=1)
    ledger = [gdpr.Erasure("a", NOW - timedelta(days=3)), gdpr.Erasure("b", NOW),
              gdpr.Erasure("c", NOW - timedelta(days=5)), gdpr.Erasure("c", NOW)]
    assert gdpr.split_by_backup(ledger, backup) == ({"a"}, {"b", "c"})


def test_subject_hashes_are_salted_and_never_the_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALT_A", "one")
    monkeypatch.setenv("SALT_B", "two")
    a, b = gdpr.SubjectHasher.from_env("SALT_A"), gdpr.SubjectHasher.from_env("SALT_B")
    assert a("alice") == gdpr.SubjectHasher.from_env("SALT_A")("alice") != b("alice")
    assert "alice" not in a("alice")
    assert gdpr.SubjectHasher.from_env("SALT_UNSET").random
    results = gdpr.judge_presence({"alice", "bob"}, {"carol"}, {"alice", "carol"}, a)
    before, after = results
    assert not before.passed and before.observed == 1 and a("alice") in before.message
    assert after.passed and after.observed == 1 and "must be re-erased before this backup goes live" in after.message
    assert not any(name in r.message for r in results for name in ("alice", "carol"))


def test_canary_log_newest_before_the_backup(tmp_path: Path) -> None:
    log = tmp_path / "canary.jsonl"
    for hours in (30, 5, 1):
        canary.append_log(log, canary.Canary(f"t{hours}", NOW - timedelta(hours=hours)), store="app")
    canary.append_log(log, canary.Canary("other", NOW - timedelta(hours=2)), store="another-store")
    found = canary.read_log(log, store="app")
    assert canary.newest_before(found, NOW - timedelta(hours=3)) == found[1]
    assert canary.newest_before(found, NOW - timedelta(days=3)) is None
    assert canary.read_log(tmp_path / "none.jsonl", store="app") == []
    log.write_text(log.read_text() + "not json\n")
    with pytest.raises(InventoryError, match="line 5"):
        canary.read_log(log, store="app")


def test_canary_write_refuses_a_store_without_canary_settings(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from verifiers import cli

    (tmp_path / "inventory.toml").write_text('[[stores]]\nname = "app"\nkind = "postgres"\nrto = "1h"\nrpo = "1d"\n'
                                            '[stores.source]\ntype = "file"\npath = "x.dump"\n')
    code = cli.main(["canary", "write", "--inventory", str(tmp_path / "inventory.toml"), "--store", "app",
                     "--dsn", "host=/nonexistent dbname=app"])
    assert code == 2
    assert "store app has no [stores.canary] table" in capsys.readouterr().err
    assert not list(tmp_path.glob("canary-*.jsonl"))
