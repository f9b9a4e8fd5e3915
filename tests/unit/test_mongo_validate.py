"""MongoDB's `validate` after a restore (issue 21, item 3), judged from the server's replies: invalid collections
named with counts only (never validate's messages, which quote keys), a server without the command failing as
not verified, an exhausted budget "not compared"; never a pass. The server path runs in
tests/integration/test_mongo_server.py where mongod or Docker exists."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.errors import OperationFailure

from verifiers.stores.mongo.corruption import judge, problems, validate_collections
from verifiers.stores.mongo.namespaces import NamespaceMap

VALID = {"valid": True, "errors": [], "warnings": [], "nInvalidDocuments": 0}
BROKEN = {"valid": False, "errors": ["Index with name: email_1 has inconsistencies: key { email: \"a@b.c\" }"],
          "nInvalidDocuments": 2, "corruptRecords": []}


def test_an_invalid_collection_fails_with_counts_and_no_messages() -> None:
    result = judge(2, {"app.users": BROKEN, "app.orders": VALID}, full=True, budget=600)
    assert not result.passed and result.observed == "1 invalid of 2 checked"
    assert result.message == ("validate (full) found 1 invalid collection(s) of 2: app.users (1 errors, 2 invalid "
                              "documents)")
    assert "a@b.c" not in str(result)


def test_all_valid_passes_and_a_short_budget_is_not_compared() -> None:
    assert judge(2, {"app.users": VALID, "app.orders": VALID}, full=False, budget=600).passed
    short = judge(3, {"app.users": VALID}, full=False, budget=1)
    assert short.passed and not short.compared  # not compared: claims nothing, fails nothing
    assert "checked 1 of 3 collections within validate_budget (1 s)" in short.message
    assert problems({"valid": False}) == "not valid"
    nothing = judge(0, {}, full=False, budget=600)
    assert not nothing.compared and nothing.message == "not compared: validate found no restored collection to check"


class FakeDatabase:
    """pymongo's Database as validate_collections uses it: list_collections and command."""

    def __init__(self, collections: list[str], reply: Any) -> None:
        self.collections, self.reply = collections, reply

    def list_collections(self) -> list[dict[str, Any]]:
        # a view as mongoeco 4.11 lists it (type "collection", a viewOn option): never validated as one
        return [{"name": name, "type": "collection"} for name in self.collections] + [
            {"name": "paid", "type": "collection", "options": {"viewOn": "orders", "pipeline": []}}]

    def command(self, name: str, collection: str, *, full: bool) -> Any:
        assert name == "validate"
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply


class FakeClient:
    def __init__(self, databases: dict[str, FakeDatabase]) -> None:
        self.databases = databases

    def list_database_names(self) -> list[str]:
        return list(self.databases)

    def __getitem__(self, name: str) -> FakeDatabase:
        return self.databases[name]


@pytest.mark.parametrize("reply", [OperationFailure("no such command: 'validate'", code=59),
                                   # mongoeco 4.11's refusal of a command it lacks: no code
                                   OperationFailure("unsupported wire command: validate", details={
                                       "ok": 0.0, "errmsg": "unsupported wire command: validate"})])
def test_a_server_without_validate_is_not_compared_and_names_the_command(reply: Exception) -> None:
    client = FakeClient({"app": FakeDatabase(["users", "system.views"], reply)})
    result = validate_collections(client, NamespaceMap(), full=False, budget=600, store="shop")  # type: ignore[arg-type]
    assert not result.passed and result.message.startswith("not verified: the server has no `validate` command")


def test_server_and_system_collections_are_not_validated() -> None:
    client = FakeClient({"app": FakeDatabase(["users", "system.views"], VALID), "local": FakeDatabase(["x"], BROKEN)})
    result = validate_collections(client, NamespaceMap(), full=False, budget=600, store="shop")  # type: ignore[arg-type]
    assert result.passed and result.message == "validate found all 1 collections valid"
