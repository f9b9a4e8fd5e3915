"""credentials = "iam" names its database user: the role `restoreproof init --iac aws` writes allows rds-db:connect
as its IamDatabaseUser only, so defaulting to the snapshot's master user would mint a token the database refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifiers.errors import InventoryError
from verifiers.inventory import parse_inventory
from verifiers.store_settings import RdsSnapshotSource

SOURCE = {"type": "rds-snapshot", "instance": "app-prod", "region": "eu-west-1"}


def inventory(**source: object) -> dict[str, object]:
    return {"stores": [{"name": "saas", "kind": "postgres", "rto": "1h", "rpo": "1d", "source": {**SOURCE, **source}}]}


def test_iam_without_iam_user_is_refused_naming_the_template_parameter(tmp_path: Path) -> None:
    with pytest.raises(InventoryError) as raised:
        parse_inventory(inventory(credentials="iam"), tmp_path / "inventory.toml")
    message = str(raised.value)
    assert 'credentials = "iam" needs `iam_user`' in message
    assert "IamDatabaseUser" in message and "restoreproof init --iac aws" in message


@pytest.mark.parametrize("source", [{"credentials": "iam", "iam_user": "restoreproof"}, {"credentials": "reset"},
                                    {"credentials": "environment"}, {}])
def test_iam_with_its_user_and_the_other_modes_are_accepted(source: dict[str, str]) -> None:
    parsed = RdsSnapshotSource.model_validate({**SOURCE, **source})
    assert parsed.iam_user == source.get("iam_user")
