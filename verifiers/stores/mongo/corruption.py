"""Corruption checks on a restored MongoDB (issue 21): the server's `validate` command on every restored
collection, within a time budget (`validate_budget`, looked at between collections).

A mongorestore writes every collection afresh, so this is opt-in (`validate_collections = true`); it matters
most when the backup is a copy of the data files. The check names the invalid collections with the counts
validate reports (errors, invalid documents, corrupt records), never its messages, which can quote key values.
A server that does not know `validate` (a MongoDB-wire-compatible server, issue 26) fails the check as not
verified, naming the command; collections left when the budget ran out make it "not compared". Never a pass.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import MongoClient
from pymongo.errors import ConnectionFailure, OperationFailure

from verifiers import checks
from verifiers.checks import CheckResult, CheckSpec
from verifiers.errors import SandboxError
from verifiers.stores.mongo.engine import unsupported
from verifiers.stores.mongo.measure import measured, server_databases
from verifiers.stores.mongo.metadata import listed_type
from verifiers.stores.mongo.namespaces import NamespaceMap

CHECK = "corruption"
SUBJECT = "collections"
SPEC = CheckSpec(CHECK, SUBJECT)
SHOWN = 10


def validate_collections(client: MongoClient[Any], namespaces: NamespaceMap, *, full: bool, budget: float,
                         store: str, restored: Sequence[str] | None = None, engine: str | None = None) -> CheckResult:
    """`validate` (with `full` when asked) on every application collection the restore wrote, named by the
    backup's own namespaces; about `budget` seconds at most. `restored`: as for measure.server_databases.

    `engine`: the server, when it is not MongoDB (mongoeco, FerretDB). Its `validate` does not check MongoDB's
    storage engine, which is what this check is for: mongoeco 4.11's reply is `valid: true` whatever it holds (it
    counts records, and ignores `full`). Its answer would be a pass that cannot fail, so the check fails as not
    verified without asking."""
    if engine is not None:
        return CheckResult(CHECK, SUBJECT, False, None, "0 invalid",
                           f"not verified: {engine} is not MongoDB, and its `validate` checks no MongoDB storage "
                           "engine (mongoeco's always answers valid); run the store on mongod, or set "
                           "validate_collections = false")
    deadline = time.monotonic() + budget
    replies: dict[str, Mapping[str, Any] | None] = {}
    try:
        targets = [(server_db, source) for server_db in server_databases(client, namespaces, restored)
                   if (source := namespaces.source_db(server_db)) is not None]
        # the type judged here, not by a listCollections filter: mongoeco lists views as "collection"
        collections = [(server_db, source, info["name"]) for server_db, source in targets
                       for info in client[server_db].list_collections()
                       if listed_type(info) == "collection" and measured(f"{source}.{info['name']}")
                       and info["name"] not in namespaces.hidden]
        for server_db, source, name in collections:
            if time.monotonic() >= deadline:
                break
            try:
                replies[f"{source}.{name}"] = client[server_db].command("validate", name, full=full)
            except OperationFailure as exc:
                if unsupported(exc) is not None:  # asked for and impossible: not verified, so never a pass
                    return CheckResult(CHECK, SUBJECT, False, None, "0 invalid", "not verified: the server has no "
                                       "`validate` command (a MongoDB-wire-compatible server?); run the store on "
                                       "mongod, or set validate_collections = false")
                replies[f"{source}.{name}"] = None
    except ConnectionFailure as exc:
        raise SandboxError(f"store {store}: lost the sandbox server during validate: {type(exc).__name__}",
                           hint="the server may have been killed or run out of memory or disk") from None
    return judge(len(collections), replies, full=full, budget=budget)


def problems(reply: Mapping[str, Any]) -> str:
    """'' for a valid collection; else what validate counted (never its messages, which can quote keys)."""
    if reply.get("valid", False) is True and not reply.get("errors"):
        return ""
    counts = {"errors": len(reply.get("errors") or ()), "invalid documents": int(reply.get("nInvalidDocuments") or 0),
              "corrupt records": len(reply.get("corruptRecords") or ())}
    found = ", ".join(f"{n} {what}" for what, n in counts.items() if n)
    return found or "not valid"


def judge(total: int, replies: Mapping[str, Mapping[str, Any] | None], *, full: bool, budget: float) -> CheckResult:
    """The check from validate's replies by namespace (None: validate refused that collection)."""
    invalid = [f"{ns} ({found})" for ns, reply in sorted(replies.items())
               if reply is not None and (found := problems(reply))]
    refused = sorted(ns for ns, reply in replies.items() if reply is None)
    checked = len(replies) - len(refused)
    how = "validate (full)" if full else "validate"
    observed = f"{len(invalid)} invalid of {checked} checked"
    if total == 0:
        return checks.not_compared(CHECK, SUBJECT, observed, f"{how} found no restored collection to check")
    if invalid:
        shown = ", ".join(invalid[:SHOWN]) + (f" and {len(invalid) - SHOWN} more" if len(invalid) > SHOWN else "")
        return CheckResult(CHECK, SUBJECT, False, observed, "0 invalid",
                           f"{how} found {len(invalid)} invalid collection(s) of {total}: {shown}")
    if refused:
        return checks.not_compared(CHECK, SUBJECT, observed, f"{how} refused {', '.join(refused[:SHOWN])}")
    if checked < total:
        return checks.not_compared(CHECK, SUBJECT, observed, f"{how} checked {checked} of {total} collections "
                                   f"within validate_budget ({budget:g} s), none invalid; the other "
                                   f"{total - checked} were not checked: raise validate_budget")
    return CheckResult(CHECK, SUBJECT, True, observed, "0 invalid", f"{how} found all {total} collections valid")
