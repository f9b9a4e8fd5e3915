"""Cloud SQL against a real Google Cloud project: what the contract-checked fake (tests/cloudsql_support.py)
cannot prove — that Cloud SQL accepts the temporary instance's settings, restores a real backup run into it,
takes the harness's password, is reachable from here, and deletes it; and that a refused request still leaves
nothing behind. Creates billed instances labelled restoreproof-temporary=true (`restoreproof janitor --cloud gcp
--gcp-project P --delete` sweeps them if a run is killed).

Run with RESTOREPROOF_REAL_ACCOUNT=gcp (or aws,gcp) and:
- RESTOREPROOF_GCP_PROJECT: the project (Application Default Credentials with roles/cloudsql.admin on it);
- RESTOREPROOF_CLOUDSQL_INSTANCE: a Cloud SQL for PostgreSQL instance with at least one SUCCESSFUL backup run;
- RESTOREPROOF_CLOUDSQL_MANIFEST: the manifest `restoreproof capture postgres` wrote from that instance's
  database when the newest backup was taken (its facts must match the backup);
- RESTOREPROOF_CLOUDSQL_DATABASE: the database the manifest was captured from;
- RESTOREPROOF_CLOUDSQL_NETWORK (projects/P/global/networks/N, the harness running in that VPC) or
  RESTOREPROOF_CLOUDSQL_AUTHORIZED_NETWORK (this machine's public egress CIDR, e.g. 203.0.113.7/32);
- optional RESTOREPROOF_CLOUDSQL_TIER (default: the source instance's tier).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import failed, real_accounts
from tests.real_account.support import required_env as env
from verifiers.cloudsql import sqladmin_client
from verifiers.inventory import parse_inventory
from verifiers.runner import PlanFailure, StoreOutcome, plan_store, run_store
from verifiers.sandboxes.gcp_janitor import leftovers

pytestmark = pytest.mark.real_account


def run(tmp_path: Path, **extra: object) -> StoreOutcome:
    source: dict[str, object] = {"type": "cloudsql-backup", "project": env("RESTOREPROOF_GCP_PROJECT"),
                                 "instance": env("RESTOREPROOF_CLOUDSQL_INSTANCE"),
                                 "manifest": env("RESTOREPROOF_CLOUDSQL_MANIFEST"),
                                 "database": env("RESTOREPROOF_CLOUDSQL_DATABASE")}
    if os.environ.get("RESTOREPROOF_CLOUDSQL_NETWORK"):
        source["network"] = os.environ["RESTOREPROOF_CLOUDSQL_NETWORK"]
    else:
        source["authorized_networks"] = [env("RESTOREPROOF_CLOUDSQL_AUTHORIZED_NETWORK")]
    if os.environ.get("RESTOREPROOF_CLOUDSQL_TIER"):
        source["tier"] = os.environ["RESTOREPROOF_CLOUDSQL_TIER"]
    source.update(extra)
    store = {"name": "real-cloudsql", "kind": "postgres", "rto": "2h", "rpo": "2d", "source": source}
    loaded = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    plan = plan_store(loaded.stores[0], loaded.base_dir)
    assert not isinstance(plan, PlanFailure), plan.message
    return run_store(plan)


def left_behind() -> list[str]:
    project = env("RESTOREPROOF_GCP_PROJECT")
    return [f.name for f in leftovers(sqladmin_client(), project) if f.store == "real-cloudsql"]


if "gcp" in real_accounts():  # opted in to other clouds only: nothing here to run

    def test_the_newest_backup_is_restored_verified_and_deleted(tmp_path: Path) -> None:
        outcome = run(tmp_path)
        assert outcome.status == "passed", failed(outcome) or outcome.error
        assert outcome.as_evidence()["sandbox"]["type"] == "gcp-cloudsql"
        assert left_behind() == []

    def test_a_refused_temporary_instance_leaves_nothing_behind(tmp_path: Path) -> None:
        outcome = run(tmp_path, tier="db-no-such-tier-1")
        assert outcome.status == "error" and outcome.error is not None
        assert outcome.error["phase"] == "provision" and "instances.insert" in outcome.error["message"]
        assert left_behind() == []
