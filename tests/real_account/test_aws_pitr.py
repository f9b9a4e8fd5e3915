"""Point-in-time restore and manifest pairing against a real AWS account: what moto cannot prove — that RDS
accepts the chosen RestoreTime inside a real restore window, that the restored instance holds the data of that
moment (the live reference's `{restore_time}` rows match), and that the temporary instance is deleted.

Creates a billed temporary instance (tagged restoreproof:sandbox) and deletes it; `restoreproof janitor --delete`
sweeps one a killed run left. Environment (each required; a missing one fails naming it):

- RESTOREPROOF_PITR_INSTANCE: a PostgreSQL RDS instance with automated backups (retention >= 1 day)
- RESTOREPROOF_PITR_LIVE_DSN: a libpq DSN of that instance (or a read replica) for the live reference
- RESTOREPROOF_PITR_STABLE_TABLE: a schema.table with a timestamptz column `created_at` (rows never updated)
- RESTOREPROOF_PITR_SUBNET_GROUP, RESTOREPROOF_PITR_SECURITY_GROUP: where the temporary instance goes, reachable
  from this machine
- PGPASSWORD: the instance's master password (the restored instance keeps it)
- AWS credentials and region from the standard chain (AWS_PROFILE / AWS_REGION, or a role)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import failed
from tests.real_account.support import required_env as env
from verifiers.inventory import parse_inventory
from verifiers.runner import PlanFailure, plan_store, run_store

pytestmark = pytest.mark.real_account


def test_a_random_point_in_time_is_restored_verified_against_live_and_deleted(tmp_path: Path) -> None:
    instance, table = env("RESTOREPROOF_PITR_INSTANCE"), env("RESTOREPROOF_PITR_STABLE_TABLE")
    env("RESTOREPROOF_PITR_LIVE_DSN")
    env("PGPASSWORD")
    store = {"name": "pitr-real", "kind": "postgres", "rto": "2h", "rpo": "1h",
             "source": {"type": "rds-snapshot", "instance": instance, "restore_to": "random",
                        "instance_class": "db.t4g.micro", "subnet_group": env("RESTOREPROOF_PITR_SUBNET_GROUP"),
                        "security_groups": [env("RESTOREPROOF_PITR_SECURITY_GROUP")], "restore_timeout": "90m"},
             "live": {"dsn_env": "RESTOREPROOF_PITR_LIVE_DSN", "row_count_tolerance": 1.0,
                      "stable": {table: "created_at < {restore_time}"}}}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    plan = plan_store(inventory.stores[0], inventory.base_dir)
    assert not isinstance(plan, PlanFailure), plan.message
    outcome = run_store(plan)
    assert outcome.status == "passed", failed(outcome) or outcome.error
    artifact = outcome.as_evidence()["artifact"]
    assert artifact["earliest_restorable"] <= artifact["restore_time"] <= artifact["latest_restorable"]
    assert any(c.check == "checksum" and c.subject == table and c.compared and c.passed for c in outcome.checks)
