"""docs/inventory-reference.md is generated from the inventory's pydantic models and must not drift from them."""

from __future__ import annotations

from pathlib import Path

from verifiers import inventory_reference
from verifiers.inventory import Inventory
from verifiers.store_settings import LocalSandbox
from verifiers.stores.postgres.settings import PostgresStore

PAGE = Path(__file__).resolve().parents[2] / "docs" / "inventory-reference.md"


def test_the_committed_reference_is_what_the_models_render() -> None:
    assert PAGE.read_text(encoding="utf-8") == inventory_reference.render(), (
        "docs/inventory-reference.md differs from the inventory's models: run `make docs` and commit it")


def test_every_field_of_every_reachable_model_is_listed() -> None:
    page = inventory_reference.render()
    models = inventory_reference._models(Inventory)
    assert PostgresStore in models and LocalSandbox in models
    for model in models:
        section = page.split(f"## {'Top level' if model is Inventory else inventory_reference._title(model)}\n", 1)
        assert len(section) == 2, f"no section for {model.__name__}"
        body = section[1].split("\n## ", 1)[0]
        for name, info in model.model_fields.items():
            if not info.exclude:
                assert f"| `{info.alias or name}` |" in body, f"{model.__name__}.{name} is not listed"


def test_a_new_field_changes_the_reference() -> None:
    """The drift test can fail: a field added to a store model appears in what is rendered."""

    class Extended(PostgresStore):
        brand_new: int = 3

    class ExtendedInventory(Inventory):
        stores: list[Extended]  # type: ignore[assignment]

    assert "brand_new" not in inventory_reference.render()
    assert "| `brand_new` | integer | `3` |" in inventory_reference.render(ExtendedInventory)


def test_durations_defaults_and_limits_read_as_an_inventory_would_write_them() -> None:
    page = inventory_reference.render()
    assert "| `restore_timeout` | duration | `\"1h00m\"` |" in page
    assert "| `row_count_tolerance` | number (≥ 0.0, ≤ 1.0) | `0.0` |" in page
    assert "| `dsn` | string (secret) (length ≥ 1) | required |" in page
    assert ("Default suite: `rds`. Source types: `aws-backup`, `azure-blob`, `cloudsql-backup`, `file`, `gcs`, "
            "`rds-snapshot`, `s3`.") in page
