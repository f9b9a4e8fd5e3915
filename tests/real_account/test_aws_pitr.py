"""Point-in-time restore of an RDS PostgreSQL or MySQL / MariaDB instance against a real AWS account, verified
against the live database (verifiers/stores/postgres/live.py, mysql/live.py): what moto cannot prove — that RDS
accepts the chosen RestoreTime inside a real restore window, that the restored instance holds the data of that
moment (the rows of the `{restore_time}` condition match the live ones), and that the temporary instance is deleted.

Creates a billed temporary instance (tagged restoreproof:sandbox) and deletes it; `restoreproof janitor --delete`
sweeps one a killed run left. Environment (each required by its kind's test; a missing one fails naming it):

- PostgreSQL: RESTOREPROOF_PITR_INSTANCE (an instance with automated backups, retention >= 1 day),
  RESTOREPROOF_PITR_LIVE_DSN (a libpq DSN of it or a read replica), RESTOREPROOF_PITR_STABLE_TABLE (a schema.table
  with a timestamptz column `created_at`, rows never updated), PGPASSWORD (the master password, which the restored
  instance keeps)
- MySQL / MariaDB: RESTOREPROOF_PITR_MYSQL_INSTANCE, RESTOREPROOF_PITR_MYSQL_LIVE_DSN
  (mysql://USER:PASSWORD@HOST:PORT/DATABASE), RESTOREPROOF_PITR_MYSQL_STABLE_TABLE (a database.table with a
  DATETIME/TIMESTAMP column `created_at` in UTC, rows never updated), MYSQL_PWD
- both: RESTOREPROOF_PITR_SUBNET_GROUP, RESTOREPROOF_PITR_SECURITY_GROUP (where the temporary instance goes,
  reachable from this machine); AWS credentials and region from the standard chain (AWS_PROFILE / AWS_REGION, or a
  role)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import failed
from tests.real_account.support import required_env as env
from verifiers.inventory import parse_inventory
from verifiers.runner import PlanFailure, plan_store, run_store

pytestmark = pytest.mark.real_account

# kind -> (the prefix of its RESTOREPROOF_PITR_* variables, the password variable its client reads)
KINDS = {"postgres": ("RESTOREPROOF_PITR", "PGPASSWORD"), "mysql": ("RESTOREPROOF_PITR_MYSQL", "MYSQL_PWD")}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_random_point_in_time_is_restored_verified_against_live_and_deleted(tmp_path: Path, kind: str) -> None:
    prefix, password = KINDS[kind]
    instance, table = env(f"{prefix}_INSTANCE"), env(f"{prefix}_STABLE_TABLE")
    live_dsn = env(f"{prefix}_LIVE_DSN")
    env(password)
    store = {"name": f"pitr-{kind}-real", "kind": kind, "rto": "2h", "rpo": "1h",
             "source": {"type": "rds-snapshot", "instance": instance, "restore_to": "random",
                        "instance_class": "db.t4g.micro", "subnet_group": env("RESTOREPROOF_PITR_SUBNET_GROUP"),
                        "security_groups": [env("RESTOREPROOF_PITR_SECURITY_GROUP")], "restore_timeout": "90m"},
             "live": {"dsn_env": f"{prefix}_LIVE_DSN", "row_count_tolerance": 1.0,
                      "stable": {table: "created_at < {restore_time}"}}}
    inventory = parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")
    plan = plan_store(inventory.stores[0], inventory.base_dir)
    assert not isinstance(plan, PlanFailure), plan.message
    outcome = run_store(plan)
    assert outcome.status == "passed", failed(outcome) or outcome.error
    artifact = outcome.as_evidence()["artifact"]
    assert artifact["earliest_restorable"] <= artifact["restore_time"] <= artifact["latest_restorable"]
    assert any(c.check == "checksum" and c.subject == table and c.compared and c.passed for c in outcome.checks)
    assert live_dsn not in str(outcome.as_evidence())
