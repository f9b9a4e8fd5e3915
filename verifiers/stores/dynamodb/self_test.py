"""Each run proves its checks can fail, for DynamoDB (issue 21): after a store's checks pass, one item of the
restored table (a scratch copy the run deletes) is removed and one item changed (an attribute added), the table
is measured and judged again with the run's own code, and the item is put back as it was. A change not detected
fails its `self_test` check and the store. Keys and values never leave the run: a check names the table only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from verifiers.checks import CheckResult, CheckSpec
from verifiers.stores.dynamodb.manifest import TableFacts, key_attributes, measure_table
from verifiers.stores.self_test import CHECK, nothing_to_prove, verdict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ITEM_REMOVED, ITEM_CHANGED = "item removed", "item changed"
SPECS = (CheckSpec(CHECK, ITEM_REMOVED), CheckSpec(CHECK, ITEM_CHANGED))
MARK = "restoreproof_self_test"  # the attribute the change adds (unless the item has it: then it is removed)

Judge = Callable[[TableFacts], list[CheckResult]]


def run(client: DynamoDBClient, table: str, judged: list[CheckResult], judge: Judge, *,
        bits: int | None) -> list[CheckResult]:
    """The self-test checks on the restored `table`, once its `judged` checks all passed."""
    if not all(c.passed for c in judged):
        return nothing_to_prove(SPECS)
    found = client.scan(TableName=table, Limit=1, ConsistentRead=True).get("Items", [])
    if not found:
        return [CheckResult(CHECK, subject, False, "nothing to change", "detected", "the restored table has no "
                            "items to change: these checks were never seen failing") for subject in
                (ITEM_REMOVED, ITEM_CHANGED)]
    item = found[0]
    key = {name: item[name] for name in key_attributes(client.describe_table(TableName=table)["Table"])}

    def judged_after(change: Callable[[], Any]) -> list[CheckResult]:
        try:
            change()
            return judge(measure_table(client, table, bits=bits))
        finally:
            client.put_item(TableName=table, Item=item)  # as it was: the whole item, every attribute

    changed = {k: v for k, v in item.items() if k != MARK} if MARK in item else {**item, MARK: {"S": "changed"}}
    return [
        verdict(ITEM_REMOVED, f"one item of {table} removed", judged_after(
            lambda: client.delete_item(TableName=table, Key=key)), undone="put back"),
        verdict(ITEM_CHANGED, f"one item of {table} changed (an attribute added)", judged_after(
            lambda: client.put_item(TableName=table, Item=changed)), undone="put back"),
    ]
