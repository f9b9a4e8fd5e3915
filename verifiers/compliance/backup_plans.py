"""The AWS Backup plans that copy a resource's backups to another region or account (the `aws` extra): the plans'
selections (ListBackupSelections, GetBackupSelection) that assign the resource, and the copy actions of their
rules (GetBackupPlan) whose destination vault is in another region or account than the plan's.

A selection assigns a resource when it matches `Resources` (ARNs, `*` a wildcard) or one of `ListOfTags` (either
list empty: every resource), and every one of `Conditions`, and none of `NotResources` (AWS Backup's
"Assigning resources programmatically"). Tags are read only when a selection asks for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from verifiers.compliance.aws_points import aws_error

TAG_KEY = "aws:ResourceTag/"


@dataclass(frozen=True)
class PlanCopy:
    """A copy action of a plan's rule that copies the resource's recovery points out of the plan's region or
    account."""

    plan: str
    rule: str
    destination: str  # the destination vault's ARN
    region: str
    account: str

    def describe(self) -> str:
        return (f"AWS Backup plan {self.plan} rule {self.rule} copies to {self.destination} (region {self.region}, "
                f"account {self.account})")


def plan_copies(store: str, client: Any, arn: str, tags: Callable[[], Mapping[str, str]]) -> list[PlanCopy]:
    """The copies to another region or account made by the plans that assign `arn`; `tags` reads the resource's
    tags (called at most once, when a selection matches by tag). SourceError names a denied call's permission."""
    read_tags = cache(tags)
    found: list[PlanCopy] = []
    for plan in _listed(store, client, "list_backup_plans", "BackupPlansList", "the AWS Backup plans",
                         "backup:ListBackupPlans", {}):
        if plan.get("DeletionDate"):
            continue
        plan_id, name = str(plan["BackupPlanId"]), str(plan.get("BackupPlanName") or plan["BackupPlanId"])
        if any(assigns(_selection(store, client, plan_id, s), arn, read_tags) for s in _selection_ids(
                store, client, plan_id)):
            found += _copies(store, client, plan_id, name, str(plan.get("BackupPlanArn", "")))
    return found


def _selection_ids(store: str, client: Any, plan_id: str) -> Iterator[str]:
    for selection in _listed(store, client, "list_backup_selections", "BackupSelectionsList",
                             f"the selections of AWS Backup plan {plan_id}", "backup:ListBackupSelections",
                             {"BackupPlanId": plan_id}):
        yield str(selection["SelectionId"])


def _selection(store: str, client: Any, plan_id: str, selection_id: str) -> Any:
    try:
        return client.get_backup_selection(BackupPlanId=plan_id, SelectionId=selection_id)["BackupSelection"]
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(store, f"cannot read selection {selection_id} of AWS Backup plan {plan_id}", exc,
                        "backup:GetBackupSelection") from None


def _copies(store: str, client: Any, plan_id: str, name: str, plan_arn: str) -> list[PlanCopy]:
    try:
        plan = client.get_backup_plan(BackupPlanId=plan_id)["BackupPlan"]
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(store, f"cannot read AWS Backup plan {name}", exc, "backup:GetBackupPlan") from None
    home = arn_place(plan_arn)
    copies: list[PlanCopy] = []
    for rule in plan.get("Rules", []):
        for action in rule.get("CopyActions") or []:
            destination = str(action.get("DestinationBackupVaultArn", ""))
            region, account = arn_place(destination)
            if (region, account) != home:
                copies.append(PlanCopy(name, str(rule.get("RuleName", "")), destination, region, account))
    return copies


def arn_place(arn: str) -> tuple[str, str]:
    """(region, account) of an ARN: arn:PARTITION:SERVICE:REGION:ACCOUNT:..."""
    parts = arn.split(":")
    return (parts[3], parts[4]) if len(parts) > 5 else ("", "")


def assigns(selection: Mapping[str, Any], arn: str, tags: Callable[[], Mapping[str, str]]) -> bool:
    resources, by_tags = selection.get("Resources") or [], selection.get("ListOfTags") or []
    if any(_arn_matches(pattern, arn) for pattern in selection.get("NotResources") or []):
        return False
    listed = any(_arn_matches(p, arn) for p in resources) or any(
        tags().get(_key(t["ConditionKey"])) == t["ConditionValue"] for t in by_tags)
    if (resources or by_tags) and not listed:
        return False
    return all(_condition(operator, c, tags) for operator, conditions in (selection.get("Conditions") or {}).items()
               for c in conditions or [])


def _condition(operator: str, condition: Mapping[str, Any], tags: Callable[[], Mapping[str, str]]) -> bool:
    value = tags().get(_key(str(condition["ConditionKey"])))
    wanted = str(condition["ConditionValue"])
    if operator == "StringEquals":
        return value == wanted
    if operator == "StringNotEquals":
        return value != wanted
    like = value is not None and _glob(wanted).fullmatch(value) is not None
    return like if operator == "StringLike" else not like  # StringNotLike


def _key(key: str) -> str:
    return key.removeprefix(TAG_KEY)


def _arn_matches(pattern: str, arn: str) -> bool:
    return _glob(pattern).fullmatch(arn) is not None


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def _listed(store: str, client: Any, operation: str, key: str, what: str, action: str,
            query: dict[str, Any]) -> list[Any]:
    try:
        return [item for page in client.get_paginator(operation).paginate(**query) for item in page.get(key, [])]
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(store, f"cannot list {what}", exc, action) from None
