"""The backup-configuration policy and facts without a cloud: the inventory's [policy] under a store's own rules,
rules judged against facts (unknown never passes, a rule that does not apply is not compared), the change since an
earlier record and how it reads, a file source's retention read from the kept files, and the earlier record found
among sealed runs of earlier months only."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.evidence_runs import at, hygiene_record, make_run
from verifiers.checks import CheckSpec
from verifiers.compliance import configuration, configuration_aws, configuration_facts
from verifiers.compliance.configuration import Change, Configuration, Fact, changes, describe_changes
from verifiers.compliance.configuration_history import earlier_configurations
from verifiers.compliance.configuration_policy import ConfigurationPolicy
from verifiers.errors import InventoryError
from verifiers.evidence.configuration_html import configuration_html
from verifiers.evidence.conformance import evidence_problems
from verifiers.evidence.report_html import plain_value
from verifiers.inventory import parse_inventory

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


def inventory(stores: list[dict[str, Any]], policy: dict[str, Any] | None = None, base: Path = Path("/inv")) -> Any:
    return parse_inventory({"stores": stores, **({"policy": policy} if policy else {})}, base / "inventory.toml")


def store(source: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "app", "kind": "postgres", "rto": "1h", "rpo": "1d", "source": source, **extra}


FILE = {"type": "file", "path": "dumps/app-*.dump"}


def test_a_stores_rules_override_the_inventory_policy_rule_by_rule() -> None:
    inv = inventory([store(FILE, hygiene={"rpo_gap": False, "configuration": {"min_retention_days": 30}}),
                     {**store({"type": "gcs", "bucket": "bkt"}), "name": "gcs-app"},
                     {**store(FILE), "name": "plain"}],
                    policy={"min_retention_days": 14, "encryption": True})
    own, gcs, plain = inv.stores
    assert configuration_facts.policy_of(own, inv.policy) == ConfigurationPolicy(min_retention_days=30,
                                                                                 encryption=True)
    assert configuration_facts.policy_of(plain, inv.policy) == inv.policy  # covered by [policy] alone
    assert configuration_facts.policy_of(gcs, inv.policy) is None  # its configuration is not read: said, see below
    assert configuration_facts.specs(gcs, inv.policy) == [CheckSpec("configuration", "not_read")]
    assert configuration_facts.specs(own, None) == [CheckSpec("configuration", "retention")]
    assert configuration_facts.specs(plain, None) == []
    opted_out = ConfigurationPolicy.model_validate({"copy": False}).over(ConfigurationPolicy.model_validate(
        {"copy": True, "pitr": True}))
    assert opted_out.required() == {"pitr": True}
    assert ConfigurationPolicy(kms_key="alias/backups").required() == {"encryption": "alias/backups"}


@pytest.mark.parametrize(("source", "says"), [
    ({"type": "gcs", "bucket": "bkt"}, "configuration not read for gcs sources, so the inventory's [policy] is not "
     "judged for this store: restoreproof reads the backup configuration of rds-snapshot, dynamodb-backup, s3, file "
     "sources only"),
    ({"type": "aws-backup", "vault": "prod", "resource_type": "RDS", "resource_name": "db"},
     "configuration not read for aws-backup sources, so the inventory's [policy] is not judged for this store: the "
     "retention and copy rules of its AWS Backup plan and vault are not read yet; judge the protected resource "
     "through its rds-snapshot, dynamodb-backup or s3 source instead"),
])
def test_a_store_the_policy_covers_but_whose_configuration_is_not_read_says_so(source: dict[str, Any],
                                                                               says: str) -> None:
    covered = inventory([store(source)], policy={"min_retention_days": 14}).stores[0]
    assert configuration_facts.specs(covered, ConfigurationPolicy(min_retention_days=14)) == [
        CheckSpec("configuration", "not_read")]
    found = configuration_facts.record(covered, ConfigurationPolicy(min_retention_days=14), Path("/inv"), NOW, None)
    [check] = found.checks
    assert found.block is None
    assert (check.check, check.subject, check.passed, check.compared, check.observed, check.expected) == (
        "configuration", "not_read", True, False, None, None)
    assert check.message == "not compared: " + says
    uncovered = inventory([store(source)]).stores[0]  # no [policy]: nothing asked, nothing said
    assert configuration_facts.specs(uncovered, None) == []
    assert configuration_facts.record(uncovered, None, Path("/inv"), NOW, None).checks == []


@pytest.mark.parametrize(("raw", "says"), [
    ({"stores": [store({"type": "gcs", "bucket": "bkt"}, hygiene={"rpo_gap": False, "configuration": {}})]},
     "hygiene.configuration applies to rds-snapshot, dynamodb-backup, s3, file sources, not gcs"),
    ({"stores": [store(FILE)], "policy": {"min_retention_days": 0}}, "policy.min_retention_days"),
    ({"stores": [store(FILE)], "policy": {"retention": 14}}, "policy.retention"),
])
def test_bad_policies_are_refused_naming_the_field(raw: dict[str, Any], says: str) -> None:
    with pytest.raises(InventoryError) as caught:
        parse_inventory(raw, Path("/inv/inventory.toml"))
    assert says in str(caught.value)


def facts(**values: Fact) -> Configuration:
    return Configuration("rds-snapshot", values)


def test_an_unknown_fact_fails_its_rule_with_the_reason() -> None:
    why = "store app: cannot describe instance db: AccessDenied — grant the harness's AWS identity " \
          "rds:DescribeDBInstances"
    found = facts(retention_days=Fact.not_read(why), encrypted=Fact(True), kms_key=Fact.not_read(why),
                  pitr=Fact(True))
    results = {r.subject: r for r in configuration.judge(ConfigurationPolicy(
        min_retention_days=14, kms_key="alias/backups", pitr=True), found)}
    assert (results["retention"].passed, results["retention"].observed) == (False, {"retention_days": "unknown"})
    assert results["encryption"].observed == {"kms_key": "unknown"}
    assert results["encryption"].expected == {"encrypted": True, "kms_key": "alias/backups"}
    assert (results["pitr"].observed, results["pitr"].expected) == ({"pitr": True}, {"pitr": True})
    assert why in results["retention"].message
    assert not results["encryption"].passed and why in results["encryption"].message
    assert results["pitr"].passed
    assert found.as_evidence(None)["unknown"] == {"retention_days": why, "kms_key": why}


def test_a_rule_that_does_not_apply_is_not_compared_and_no_rule_records_only() -> None:
    found = Configuration("file", {"retention_days": Fact(40.0), "kept_backups": Fact(40)})
    results = configuration.judge(ConfigurationPolicy(min_retention_days=30, pitr=True), found)
    assert [(r.subject, r.passed, r.compared) for r in results] == [("retention", True, True),
                                                                   ("pitr", True, False)]
    assert "pitr does not apply to file sources" in results[1].message
    [recorded] = configuration.judge(ConfigurationPolicy(), found)
    assert (recorded.subject, recorded.compared) == ("recorded", False)
    assert configuration.specs(ConfigurationPolicy()) == [CheckSpec("configuration", "recorded")]


def test_changes_read_as_people_say_them() -> None:
    found = changes({"retention_days": 35, "encrypted": True, "copy_to": ["us-west-2"], "pitr": True},
                    {"retention_days": 7, "encrypted": True, "copy_to": [], "pitr": "unknown", "kept_backups": 3})
    assert [c.describe() for c in found] == ["retention 35 → 7 days", "copies to us-west-2 → none",
                                             "point-in-time recovery on → unknown"]
    assert Change("deletion_protection", True, False).describe() == "deletion protection on → off"
    assert Change("retention_days", 35, None).describe() == "retention 35 days → no expiry"
    assert Change("retention_days", "unknown", 7).describe() == "retention unknown → 7 days"
    assert describe_changes(None) == "no earlier record"
    assert describe_changes({"run": "r1", "month": "2026-11", "changes": []}) == "no change since run r1 (2026-11)"


def test_a_file_sources_retention_is_the_age_of_the_oldest_kept_file(tmp_path: Path) -> None:
    (tmp_path / "dumps").mkdir()
    for age in (1, 5, 9):
        path = tmp_path / "dumps" / f"app-{age}.dump"
        path.write_bytes(b"PGDMP")
        stamp = (NOW - timedelta(days=age)).timestamp()
        os.utime(path, (stamp, stamp))
    inv = inventory([store(FILE)], policy={"min_retention_days": 14}, base=tmp_path)
    found = configuration_facts.record(inv.stores[0], inv.policy, tmp_path, NOW, None)
    assert found.block is not None
    assert found.block["facts"] == {"retention_days": 9.0, "kept_backups": 3}
    [check] = found.checks
    assert (check.passed, check.observed, check.expected) == (False, {"retention_days": 9.0}, {"min_days": 14})
    assert "retention is 9.0 days; the policy requires at least 14 days" in check.message
    empty = configuration_facts.record(inv.stores[0], inv.policy, tmp_path / "none", NOW, None)
    assert empty.block is not None and "no backup file matches" in empty.block["unknown"]["retention_days"]
    assert not empty.checks[0].passed


def with_configuration(retention: int, name: str = "app") -> dict[str, Any]:
    record = hygiene_record(name)
    record["configuration"] = {"source": "file", "facts": {"retention_days": retention}, "notes": {}, "unknown": {},
                               "previous": None}
    return record


def test_the_earlier_record_is_the_newest_sealed_run_of_an_earlier_month(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    make_run(root, at(2026, 10), [with_configuration(60), with_configuration(90, "other")])
    make_run(root, at(2026, 11, day=2), [with_configuration(35)])
    tampered = make_run(root, at(2026, 11, day=20), [with_configuration(21)])
    make_run(root, at(2026, 12, day=1), [with_configuration(7)])  # this month: not an earlier month
    make_run(root, at(2026, 11, day=25), [hygiene_record("app")])  # no configuration recorded
    evidence = tampered / "evidence.json"
    evidence.write_text(evidence.read_text().replace('"retention_days": 21', '"retention_days": 90'))
    earlier = earlier_configurations(root, NOW)["app"]
    assert (earlier.month, earlier.facts) == ("2026-11", {"retention_days": 35})
    assert earlier.run == json.loads((root / "2026-11").glob("20261102*/evidence.json").__next__().read_text())[
        "run"]["id"]
    assert earlier_configurations(tmp_path / "no-reports-yet", NOW) == {}
    assert earlier_configurations(root, NOW)["other"].month == "2026-10"
    assert set(earlier_configurations(root, NOW, stores=["app"])) == {"app"}  # found in November: October not read


def test_the_report_table_shows_facts_unknowns_and_changes() -> None:
    block = Configuration("rds-snapshot", {"retention_days": Fact(7, note="automated backups of instance db"),
                                           "pitr": Fact.not_read("AccessDenied <rds:DescribeDBInstances>")})
    html = configuration_html([("app", block.as_evidence(None)),
                               ("other", {**block.as_evidence(None), "previous": {
                                   "run": "r1", "month": "2026-11",
                                   "changes": [{"fact": "retention_days", "was": 35, "now": 7}]}})])
    assert "<dt>retention</dt><dd>7 days<div class='rp-dim'>automated backups of instance db</div></dd>" in html
    assert "AccessDenied &lt;rds:DescribeDBInstances&gt;" in html  # escaped
    assert "no earlier record" in html
    assert "<strong>since run r1 (2026-11): retention 35 → 7 days</strong>" in html
    assert configuration_html([]) == ""


def test_the_block_is_valid_evidence_and_the_schema_stays_closed() -> None:
    record = hygiene_record("app")
    block = Configuration("rds-snapshot", {"retention_days": Fact(7), "copy_to": Fact(("replicated to eu-west-1",)),
                                           "pitr": Fact.not_read("AccessDenied")}).as_evidence(None)
    good = {**record, "configuration": {**block, "previous": {
        "run": "20261103T020000Z-a1b2c3", "month": "2026-11",
        "changes": [{"fact": "retention_days", "was": 35, "now": 7}]}}}
    assert evidence_problems("2026-12/run", run_with(good)) == []
    assert evidence_problems("2026-12/run", run_with(record)) == []  # optional: older evidence has none
    bad = {**record, "configuration": {**block, "facts": {"retention": 7}}}  # not a fact name
    [problem] = evidence_problems("2026-12/run", run_with(bad))
    assert "$.stores[0].configuration.facts: 'retention' is not one of" in str(problem)


def run_with(store_record: dict[str, Any]) -> dict[str, Any]:
    return {"schema_version": 2,
            "run": {"id": "20261206T120000Z-abcdef", "started": "2026-12-06T12:00:00Z",
                    "finished": "2026-12-06T12:00:30Z", "tool_version": "0.1.0", "git_commit": None, "host": "ci",
                    "status": "passed"},
            "stores": [store_record], "chain": {"sequence": 1, "previous": None, "signature": None}}


@pytest.mark.parametrize(("types", "value", "says"), [
    (Fact(("USER", "AWS_BACKUP")), None, "1 on-demand backup, kept until deleted"),
    (Fact(("AWS_BACKUP", "AWS_BACKUP")), "unknown", "the table's 2 backups are AWS Backup's: they expire by the "
     "backup plan's lifecycle, which is not read here"),
    (Fact(()), 0, "no on-demand backup: no backup is kept"),
    (Fact.not_read("AccessDenied dynamodb:ListBackups"), "unknown", "could not be listed: AccessDenied "
     "dynamodb:ListBackups"),
])
def test_dynamodb_retention_with_pitr_off_is_what_its_backups_keep(types: Fact, value: Any, says: str) -> None:
    """PITR off: on-demand backups never expire; AWS Backup's expire by a lifecycle not read; none keeps 0 days.
    Only the first passes a min_retention_days rule."""
    retention = configuration_aws.on_demand_retention(types)
    assert retention.value == value and says in (retention.note or retention.unknown or "")
    [check] = configuration.judge(ConfigurationPolicy(min_retention_days=7),
                                  Configuration("dynamodb-backup", {"retention_days": retention}))
    assert check.passed is (value is None), check.message


def test_every_rules_observed_and_expected_are_data_the_evidence_schema_takes() -> None:
    """STYLE 10: each rule's observed and expected are values (a copy's region and account, not a sentence)."""
    found = Configuration("rds-snapshot", {
        "retention_days": Fact(7), "encrypted": Fact(True), "kms_key": Fact("arn:aws:kms:us-east-1:1:key/k"),
        "pitr": Fact(False), "survives_deletion": Fact.not_read("AccessDenied"), "deletion_protection": Fact(True),
        "copy_to": Fact.of_copies([configuration.CopyPlace("replicated to eu-west-1", "eu-west-1", "123456789012"),
                                   configuration.CopyPlace("replication to arn:aws:s3:::dr", configuration.NOT_READ,
                                                           "222222222222"),
                                   configuration.CopyPlace("snapshot copy in us-west-2", "us-west-2")])})
    policy = ConfigurationPolicy(min_retention_days=14, kms_key="alias/other", copy=True, pitr=True,
                                 survives_deletion=True, deletion_protection=True)
    results = {r.subject: r for r in configuration.judge(policy, found)}
    assert {rule: (r.observed, r.expected) for rule, r in results.items()} == {
        "retention": ({"retention_days": 7}, {"min_days": 14}),
        "encryption": ({"encrypted": True, "kms_key": "arn:aws:kms:us-east-1:1:key/k"},
                       {"encrypted": True, "kms_key": "alias/other"}),
        "copy": ({"copies": [{"region": "eu-west-1", "account": "123456789012"},
                             {"region": "not read", "account": "222222222222"},
                             {"region": "us-west-2", "account": "same"}]}, {"min_copies": 1}),
        "pitr": ({"pitr": False}, {"pitr": True}),
        "survives_deletion": ({"survives_deletion": "unknown"}, {"survives_deletion": True}),
        "deletion_protection": ({"deletion_protection": True}, {"deletion_protection": True}),
    }
    assert results["copy"].message == ("copies to replicated to eu-west-1, replication to arn:aws:s3:::dr, snapshot "
                                       "copy in us-west-2")
    assert plain_value(results["copy"].observed) == (  # as the report shows it: no "None"
        "copies (region eu-west-1, account 123456789012), (region not read, account 222222222222), "
        "(region us-west-2, account same)")
    record = hygiene_record("app")
    record["checks"] += [{"check": r.check, "subject": r.subject, "passed": r.passed, "observed": r.observed,
                          "expected": r.expected, "message": r.message} for r in results.values()]
    none = configuration.judge(ConfigurationPolicy(copy=True), Configuration("s3", {"copy_to": Fact.of_copies([])}))
    record["checks"] += [{"check": r.check, "subject": r.subject, "passed": r.passed, "observed": r.observed,
                          "expected": r.expected, "message": r.message} for r in none]
    assert none[0].observed == {"copies": []}
    # evidence written before "same" / "not read" recorded null for both: it still validates
    record["checks"].append({**record["checks"][-1], "observed": {"copies": [{"region": None, "account": None}]}})
    assert evidence_problems("2026-12/run", run_with(record)) == []


def test_encryption_with_its_key_not_read_says_so_and_records_the_key_unknown() -> None:
    [check] = configuration.judge(ConfigurationPolicy(encryption=True), facts(
        encrypted=Fact(True), kms_key=Fact.not_read("AccessDenied")))
    assert (check.passed, check.observed, check.message) == (True, {"encrypted": True, "kms_key": "unknown"},
                                                             "encrypted (its key not read)")
