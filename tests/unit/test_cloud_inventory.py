"""The inventory's Google Cloud and Azure entries: the example in docs/gcp-azure.md parses, and misfits are named."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from verifiers.errors import InventoryError
from verifiers.inventory import parse_inventory
from verifiers.inventory_cloud import GcsSource
from verifiers.stores.cloud_bucket.settings import AzureBlobStore
from verifiers.stores.postgres.settings import PostgresStore

CLOUD_PAGE = Path(__file__).resolve().parents[2] / "docs" / "gcp-azure.md"


def documented_cloud_inventory() -> dict[str, object]:
    section = CLOUD_PAGE.read_text(encoding="utf-8").split("# Google Cloud and Azure", 1)[1]
    block = re.search(r"```toml\n(.*?)```", section, re.S)
    assert block is not None
    return tomllib.loads(block.group(1))


def test_documented_example_parses() -> None:
    inventory = parse_inventory(documented_cloud_inventory(), Path("inventory.toml"))
    billing, contracts = inventory.stores
    assert isinstance(billing, PostgresStore) and isinstance(billing.source, GcsSource)
    assert isinstance(contracts, AzureBlobStore) and contracts.suite_name == "azure-blob"
    assert contracts.protection.versioning and contracts.protection.kms_key is None


def store(**fields: object) -> dict[str, object]:
    return {"stores": [{"name": "s", "rto": "1h", "rpo": "1d", **fields}]}


@pytest.mark.parametrize(("fields", "message"), [
    ({"kind": "gcs", "source": {"type": "gcs", "bucket": "b-b", "prefix": "x/"}},
     "source type `gcs` cannot be restored by a gcs store; use 'gcs-bucket'"),
    ({"kind": "redis", "source": {"type": "gcs-bucket", "bucket": "b-b", "manifest": "m.json"}},
     "source type `gcs-bucket` cannot be restored by a redis store"),
    ({"kind": "azure-blob", "source": {"type": "azure-container", "account_url": "acct", "container": "ccc",
                                       "manifest": "m"}}, "stores[0].source.account_url"),
    ({"kind": "gcs", "source": {"type": "gcs-bucket", "bucket": "b-b", "manifest": "m"},
      "assertions": [{"name": "a", "sql": "select 1", "expect": 1}]}, "do not apply to a bucket or container"),
    ({"kind": "gcs", "source": {"type": "gcs-bucket", "bucket": "b-b", "manifest": "m"},
      "protection": {"encryption": False, "kms_key": "k"}}, "leave `encryption` on"),
])
def test_misfits_are_named(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InventoryError, match=re.escape(message)):
        parse_inventory(store(**fields), Path("inventory.toml"))
