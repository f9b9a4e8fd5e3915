"""The MySQL checksum's pure-Python reference keeps its promises (order independence, duplicates counted,
NULL distinct from '', any single changed value changes it); identifiers are quoted; restore errors are
redacted; the inventory knows the mysql kind."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifiers.inventory import parse_inventory
from verifiers.stores.mysql.restore import redact
from verifiers.stores.mysql.rowhash import (
    canonical_sql,
    checksum_rows,
    quote_identifier,
    row_hash,
    table_checksum_sql,
)
from verifiers.stores.mysql.settings import MysqlStore

values = st.one_of(st.none(), st.binary(max_size=40))
tables = st.lists(st.lists(values, min_size=3, max_size=3), max_size=20)


@given(rows=tables, data=st.data())
def test_order_independent(rows: list[list[bytes | None]], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(rows))
    assert checksum_rows(rows) == checksum_rows(shuffled)


@given(rows=tables.filter(bool), data=st.data())
def test_any_single_changed_value_changes_it(rows: list[list[bytes | None]], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(rows) - 1))
    column = data.draw(st.integers(0, 2))
    new = data.draw(values.filter(lambda v: v != rows[index][column]))
    changed = [list(r) for r in rows]
    changed[index][column] = new
    assert checksum_rows(rows) != checksum_rows(changed)


def test_duplicates_count_and_null_is_not_empty() -> None:
    assert checksum_rows([[b"a"]]) != checksum_rows([[b"a"], [b"a"]])
    assert row_hash([None]) != row_hash([b""])
    assert row_hash([b"a", None]) != row_hash([None, b"a"])
    assert row_hash([b"a|v"]) != row_hash([b"a", b"v"])  # a separator inside a value cannot shift columns
    assert checksum_rows([]) == "0000000000000000"


def test_identifiers_are_quoted_never_formatted_raw() -> None:
    assert quote_identifier("we`ird") == "`we``ird`"
    assert canonical_sql("x`; DROP TABLE t; --", "varchar") == "`x``; DROP TABLE t; --`"
    assert canonical_sql("b", "bit") == "CAST(CAST(`b` AS UNSIGNED) AS CHAR)"
    assert canonical_sql("d", "datetime") == "CAST(`d` AS CHAR)"
    sql = table_checksum_sql("s`", "t`", [("c", "int")])
    assert sql.endswith("FROM `s```.`t```")
    with pytest.raises(ValueError, match="NUL"):
        quote_identifier("a\0b")


@pytest.mark.parametrize(("line", "expected"), [
    ("ERROR 1064 (42000) at line 57: You have an error in your SQL syntax; check the manual that corresponds "
     "to your MariaDB server version for the right syntax to use near 'secret-value','x')' at line 3",
     "ERROR 1064 (42000) at line 57: You have an error in your SQL syntax; check the manual that corresponds "
     "to your MariaDB server version for the right syntax to use near '<redacted>' at line 3"),
    ("ERROR 1062 (23000) at line 80: Duplicate entry 'alice@example.com' for key 'users_email_uq'",
     "ERROR 1062 (23000) at line 80: Duplicate entry '<redacted>' for key 'users_email_uq'"),
    ("ERROR 1366 (22007) at line 9: Incorrect string value: '\\xF0\\x9F' for column `shop`.`t`.`v` at row 1",
     "ERROR 1366 (22007) at line 9: Incorrect string value: '<redacted>' for column `shop`.`t`.`v` at row 1"),
    ("ERROR 1273 (HY000) at line 25: Unknown collation: 'utf8mb4_0900_ai_ci'",
     "ERROR 1273 (HY000) at line 25: Unknown collation: 'utf8mb4_0900_ai_ci'"),
])
def test_restore_errors_lose_row_values(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_inventory_mysql_store() -> None:
    inventory = parse_inventory({"stores": [{
        "name": "billing", "kind": "mysql", "rto": "30m", "rpo": "1d", "row_count_tolerance": 0.01,
        "source": {"type": "file", "path": "dumps/billing-*.sql.gz"},
        "tables": {"include": ["billing.*"], "exclude": ["billing.audit_*"]},
    }]}, Path("inv.toml"))
    store = inventory.stores[0]
    assert isinstance(store, MysqlStore)
    assert (store.suite_name, store.row_count_tolerance, store.tables.exclude) == ("mysql", 0.01, ["billing.audit_*"])
