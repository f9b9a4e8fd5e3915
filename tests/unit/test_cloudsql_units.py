"""The cloudsql-backup source's settings (bad input named before anything is asked of Google), the labels and
names the harness gives its temporary instances, and what `doctor` says of such a store. The API flow itself:
tests/integration/test_gcp_cloudsql.py."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from verifiers.cli import main
from verifiers.cloudsql import (
    ENDPOINT_ENV,
    LABEL_CREATED,
    created_from_labels,
    temporary_labels,
    temporary_name,
)
from verifiers.errors import InventoryError
from verifiers.inventory import parse_inventory
from verifiers.inventory_cloud import CloudSqlBackupSource

SOURCE = {"type": "cloudsql-backup", "project": "acme-prod", "instance": "prod-db",
          "authorized_networks": ["192.0.2.0/24"], "manifest": "saas.manifest.json"}
LABEL = re.compile(r"^[a-z0-9_-]{0,63}$")


def parse(tmp_path: Path, source: dict[str, object] | None = None, kind: str = "postgres") -> None:
    store = {"name": "saas", "kind": kind, "rto": "15m", "rpo": "1d", "source": {**SOURCE, **(source or {})}}
    parse_inventory({"stores": [store]}, tmp_path / "inventory.toml")


@pytest.mark.parametrize(("fields", "message"), [
    ({"authorized_networks": []}, "set `network` (a private IP in the VPC the harness runs in) or "
     "`authorized_networks`"),
    ({"network": "projects/acme-prod/global/networks/default"}, "set `network` (private IP) or "
     "`authorized_networks` (public IP), not both"),
    ({"authorized_networks": ["192.0.2.300/24"]}, "authorized_networks: '192.0.2.300/24' does not appear to be"),
    ({"backup": "yesterday"}, "backup"),
    ({"instance": "Prod_DB"}, "instance"),
    ({"network": "default", "authorized_networks": []}, "network"),
])
def test_bad_settings_are_named(tmp_path: Path, fields: dict[str, object], message: str) -> None:
    with pytest.raises(InventoryError) as raised:
        parse(tmp_path, fields)
    assert message in str(raised.value)


def test_good_settings_parse_and_other_kinds_refuse_the_source(tmp_path: Path) -> None:
    parse(tmp_path)
    parse(tmp_path, {"network": "projects/acme-prod/global/networks/default", "authorized_networks": []})
    parse(tmp_path, {"authorized_networks": [], "endpoint_override": "host=db.internal"})
    with pytest.raises(InventoryError) as raised:
        parse(tmp_path, kind="redis")
    assert "source type `cloudsql-backup` cannot be restored by a redis store" in str(raised.value)


def test_names_and_labels_are_valid_for_cloud_sql() -> None:
    name = temporary_name("Billing_DB.eu")
    assert re.fullmatch(r"restoreproof-billing-db-eu-[0-9a-f]{8}", name)
    assert temporary_name("x") != temporary_name("x")  # never reused: Cloud SQL keeps a deleted name a week
    now = datetime(2026, 12, 6, 18, 15, tzinfo=UTC)
    labels = temporary_labels("Run 42/Attempt:1", "Billing_DB", now)
    assert all(LABEL.match(k) and LABEL.match(v) for k, v in labels.items())
    assert labels[LABEL_CREATED] == "20261206t181500z"
    assert created_from_labels(labels, None) == now
    assert created_from_labels({}, "2026-01-02T03:04:05.678Z") == datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert created_from_labels({LABEL_CREATED: "garbage"}, None) is None


def test_doctor_names_the_admin_api_and_project(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(ENDPOINT_ENV, "http://127.0.0.1:9/")
    Path("inventory.toml").write_text(
        '[[stores]]\nname = "saas"\nkind = "postgres"\nrto = "15m"\nrpo = "1d"\n'
        'source = { type = "cloudsql-backup", project = "acme-prod", instance = "prod-db", '
        'authorized_networks = ["192.0.2.0/24"], manifest = "saas.manifest.json" }\n')
    main(["doctor", "--inventory", "inventory.toml", "--json"])
    shown = json.loads(capsys.readouterr().out)
    (saas,) = shown["stores"]
    found = {f["subject"]: f for f in saas["findings"]}
    assert found["credentials"]["status"] == "ok"
    assert f"the Cloud SQL Admin API at http://127.0.0.1:9/ ({ENDPOINT_ENV})" in found["credentials"]["detail"]
    assert found["project"]["detail"] == "acme-prod (from the inventory)"
    assert "restored or read in the cloud" in found["sandbox"]["detail"]


def test_the_documented_example_parses() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "cloudsql.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(.*?)```", page, re.S)
    assert block is not None
    (billing,) = parse_inventory(tomllib.loads(block.group(1)), Path("inventory.toml")).stores
    assert isinstance(billing.source, CloudSqlBackupSource)
    assert billing.source.network == "projects/acme-prod/global/networks/ci" and billing.source.backup == "latest"
