"""The inventory's `[discovery]`, `[[discovery.ignore]]`, `[[declared]]` and the per-store SOP record: valid
shapes load, every mistake is named by its field path with the fix, and each store's covers are derived from its
source where it names the resource."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from verifiers.cli import main
from verifiers.discovery.coverage import compare, store_covers
from verifiers.discovery.resources import Discovered, Resource, Unknown
from verifiers.discovery.settings import missing_sop_fields
from verifiers.errors import InventoryError
from verifiers.inventory import load_inventory, parse_inventory

STORE: dict[str, Any] = {"name": "orders", "kind": "postgres", "rto": "1h", "rpo": "1d",
                         "source": {"type": "rds-snapshot", "instance": "prod-orders"}}
DECLARED: dict[str, Any] = {"name": "stripe", "type": "saas", "backup_method": "Stripe keeps it; nightly export",
                            "last_verified": "2026-11-02", "owner": "payments", "escalation": "#payments-oncall",
                            "data_type": "payments", "estimated_size": "2 GB"}
DISCOVERY: dict[str, Any] = {"aws": {"regions": ["eu-west-1"], "tags": {"env": "prod"}, "names": ["prod-*"]},
                             "ignore": [{"match": "s3:*-logs", "reason": "access logs, rebuilt from the LB"}]}


def problems(raw: dict[str, Any]) -> str:
    with pytest.raises(InventoryError) as info:
        parse_inventory(raw, Path("inv.toml"))
    return info.value.describe()


def test_a_full_discovery_inventory_loads() -> None:
    inventory = parse_inventory({"stores": [{**STORE, "owner": "orders-team", "covers": ["s3:prod-orders-files"]}],
                                 "discovery": DISCOVERY, "declared": [DECLARED]}, Path("inv.toml"))
    assert inventory.discovery is not None and inventory.discovery.aws is not None
    assert inventory.discovery.aws.services == ["rds", "dynamodb", "s3", "elasticache"]  # default: all
    assert inventory.discovery.aws.tags == {"env": "prod"}
    assert inventory.declared[0].last_verified == date(2026, 11, 2)
    store = inventory.stores[0]
    assert store.owner == "orders-team"
    assert missing_sop_fields(store) == ["escalation", "data_type", "estimated_size"]
    assert store_covers(store) == ["arn:aws*:rds:*:*:db:prod-orders", "s3:prod-orders-files"]  # region unknown
    assert store_covers(store, "eu-west-1") == ["arn:aws*:rds:eu-west-1:*:db:prod-orders", "s3:prod-orders-files"]


def test_the_demo_inventory_has_no_discovery_and_still_loads() -> None:
    inventory = load_inventory(Path(__file__).parents[2] / "inventory.toml")
    assert inventory.discovery is None and inventory.declared == []


@pytest.mark.parametrize(("raw", "expected"), [
    ({"discovery": {"ignore": [{"match": "s3:x"}]}},
     "inv.toml: discovery.ignore[0].reason: required field is missing; add it"),
    ({"discovery": {"ignore": [{"match": "s3:x", "reason": "  "}]}},
     "inv.toml: discovery.ignore[0].reason: is blank; say why the resource needs no restore test"),
    ({"discovery": {"ignore": [{"match": " ", "reason": "logs"}]}},
     "inv.toml: discovery.ignore[0].match: is blank; write the resource's id (ARN), `<service>:<name>` or a glob"),
    ({"discovery": {"aws": {"regions": ["eu-west-1"], "services": ["sqs"]}}},
     "inv.toml: discovery.aws.services[0]: unsupported value 'sqs'; use one of 'rds', 'dynamodb', 's3' "
     "or 'elasticache'"),
    ({"discovery": {"aws": {"services": ["rds"]}}}, "inv.toml: discovery.aws.regions: required field is missing"),
    ({"discovery": {"ignore": [{"match": "s3:x", "reason": "logs"}]}},
     "inv.toml: discovery: names no cloud to look in, so nothing would be compared; add [discovery.aws] (regions, "
     "filters) or [discovery.gcp] (projects, filters), or remove [discovery]"),
    ({"discovery": {"aws": {"regions": ["eu-west-1"], "tag": {"env": "prod"}}}},
     "inv.toml: discovery.aws.tag: unknown field; check its spelling"),
    ({"discovery": {"gcp": {"projects": []}}}, "inv.toml: discovery.gcp.projects: List should have at least 1 item"),
    ({"declared": [{**DECLARED, "type": "crm"}]},
     "inv.toml: declared[0].type: unsupported value 'crm'; use one of 'queue', 'saas', 'secrets', 'config' or 'other'"),
    ({"declared": [{**DECLARED, "last_verified": "last week"}]}, "inv.toml: declared[0].last_verified: Input should "
     "be a valid date"),
    ({"declared": [{k: v for k, v in DECLARED.items() if k != "backup_method"}]},
     "inv.toml: declared[0].backup_method: required field is missing; add it"),
    ({"declared": [{**DECLARED, "name": "orders"}]},
     "inv.toml: declared[0].name: duplicate store name 'orders' (also stores[0]); names must be unique"),
])
def test_mistakes_are_named_by_field_path(raw: dict[str, Any], expected: str) -> None:
    assert problems({"stores": [STORE], **raw}).startswith(expected)


def test_a_store_sop_field_cannot_be_empty() -> None:
    assert problems({"stores": [{**STORE, "owner": ""}]}).startswith(
        "inv.toml: stores[0].owner: String should have at least 1 character")


@pytest.mark.parametrize(("source", "covers"), [
    ({"type": "rds-snapshot", "cluster": "ledger", "instance_class": "db.r6g.large"},
     ["arn:aws*:rds:us-east-1:*:cluster:ledger"]),
    ({"type": "rds-snapshot", "instance": "orders", "region": "eu-west-1"}, ["arn:aws*:rds:eu-west-1:*:db:orders"]),
    ({"type": "aws-backup", "vault": "main", "resource_type": "DynamoDB", "resource_name": "events"},
     ["arn:aws*:dynamodb:us-east-1:*:table/events"]),
    ({"type": "aws-backup", "vault": "main", "resource_type": "Aurora", "resource_name": "ledger",
      "region": "eu-west-1"}, ["arn:aws*:rds:eu-west-1:*:cluster:ledger"]),
    ({"type": "aws-backup", "vault": "main", "resource_type": "S3", "resource_name": "assets"}, ["s3:assets"]),
    ({"type": "aws-backup", "vault": "main", "resource_arn": "arn:aws:rds:eu-west-1:1:db:orders"},
     ["arn:aws:rds:eu-west-1:1:db:orders"]),
    ({"type": "dynamodb-backup", "table": "carts", "manifest": "m.json", "region": "eu-west-1", "kind": "dynamodb"},
     ["arn:aws*:dynamodb:eu-west-1:*:table/carts"]),
    ({"type": "s3-bucket", "bucket": "assets", "manifest": "m.json", "region": "eu-west-1", "kind": "s3"},
     ["s3:assets"]),  # bucket names are global
    ({"type": "cloudsql-backup", "project": "acme-prod", "instance": "orders", "authorized_networks": ["192.0.2.1/32"]},
     ["cloudsql:acme-prod/orders"]),
    ({"type": "file", "path": "x.dump"}, []),  # a dump file names no cloud resource: `covers` says
])
def test_covers_are_derived_from_the_source_in_its_region(source: dict[str, Any], covers: list[str]) -> None:
    """The source's `region`, else the AWS config chain's (here us-east-1): never any region."""
    kind = {"kind": source.pop("kind")} if "kind" in source else {}
    store = parse_inventory({"stores": [{**STORE, **kind, "source": source}]}, Path("inv.toml")).stores[0]
    assert store_covers(store, "us-east-1") == covers


def test_the_same_name_in_another_region_is_not_covered() -> None:
    """The reviewer's case: two `orders` in two regions, one store for the eu-west-1 one."""
    inventory = parse_inventory({"stores": [{**STORE, "source": {"type": "rds-snapshot", "instance": "prod-orders",
                                                                 "region": "eu-west-1"}},
                                            {**STORE, "name": "events", "source": {
                                                "type": "aws-backup", "vault": "main", "resource_type": "DynamoDB",
                                                "resource_name": "events"}}]}, Path("inv.toml"))
    found = Discovered([_resource("rds", "prod-orders"), _resource("rds", "prod-orders", "us-east-1"),
                        _resource("dynamodb", "events"), _resource("dynamodb", "events", "us-east-1")])
    coverage = compare(inventory.stores, [], [], found, default_region="us-east-1")
    assert sorted((c.resource.id, c.stores) for c in coverage.covered) == [
        ("arn:aws:dynamodb:us-east-1:1:table/events", ("events",)),
        ("arn:aws:rds:eu-west-1:1:db:prod-orders", ("orders",))]
    assert sorted(r.id for r in coverage.uncovered) == ["arn:aws:dynamodb:eu-west-1:1:table/events",
                                                        "arn:aws:rds:us-east-1:1:db:prod-orders"]
    assert not coverage.complete


def test_user_written_covers_by_name_match_every_region_and_an_arn_glob_one() -> None:
    inventory = parse_inventory({"stores": [
        {**STORE, "name": "a", "source": {"type": "file", "path": "x"}, "covers": ["rds:prod-orders"]},
        {**STORE, "name": "b", "source": {"type": "file", "path": "y"},
         "covers": ["arn:aws:rds:us-east-1:*:db:prod-orders"]}]}, Path("inv.toml"))
    found = Discovered([_resource("rds", "prod-orders"), _resource("rds", "prod-orders", "us-east-1")])
    coverage = compare(inventory.stores, [], [], found, default_region="us-east-1")
    assert sorted((c.resource.region, c.stores) for c in coverage.covered) == [
        ("eu-west-1", ("a",)), ("us-east-1", ("a", "b"))]


def _resource(service: str, name: str, region: str = "eu-west-1") -> Resource:
    kind = {"rds": "db:", "dynamodb": "table/"}.get(service, "")
    return Resource("aws", service, f"arn:aws:{service}:{region}:1:{kind}{name}", name, region)


def test_compare_sorts_every_resource_into_covered_ignored_or_uncovered() -> None:
    inventory = parse_inventory({"stores": [STORE, {**STORE, "name": "files", "source": {"type": "file", "path": "x"},
                                                    "covers": ["s3:prod-files-*"]}],
                                 "discovery": DISCOVERY, "declared": [{**DECLARED, "covers": ["dynamodb:stripe-*"]}]},
                                Path("inv.toml"))
    assert inventory.discovery is not None
    found = Discovered([_resource("rds", "prod-orders"), _resource("s3", "prod-files-eu"),
                        _resource("s3", "prod-web-logs"), _resource("dynamodb", "stripe-export"),
                        _resource("rds", "prod-billing")],
                       [Unknown("aws", "elasticache", "eu-west-1", "AccessDenied: no", "elasticache:Describe")])
    coverage = compare(inventory.stores, inventory.declared, inventory.discovery.ignore, found)
    assert {c.resource.name: c.stores for c in coverage.covered} == {
        "prod-orders": ("orders",), "prod-files-eu": ("files",), "stripe-export": ("stripe",)}
    assert [(i.resource.name, i.reason) for i in coverage.ignored] == [("prod-web-logs",
                                                                       "access logs, rebuilt from the LB")]
    assert [r.name for r in coverage.uncovered] == ["prod-billing"]
    assert not coverage.complete
    assert coverage.counts() == {"discovered": 5, "covered": 3, "uncovered": 1, "ignored": 1, "unknown": 1,
                                 "declared": 1, "missing_sop": 2}
    assert [(m.store, m.fields) for m in coverage.missing_sop] == [
        ("orders", ("owner", "escalation", "data_type", "estimated_size")),
        ("files", ("owner", "escalation", "data_type", "estimated_size"))]


def test_an_ignore_entry_does_not_hide_a_covered_resource() -> None:
    inventory = parse_inventory({"stores": [STORE], "discovery": {"aws": {"regions": ["eu-west-1"]},
                                                                  "ignore": [{"match": "rds:*", "reason": "x"}]}},
                                Path("inv.toml"))
    assert inventory.discovery is not None
    coverage = compare(inventory.stores, [], inventory.discovery.ignore,
                       Discovered([_resource("rds", "prod-orders"), _resource("rds", "prod-other")]))
    assert [c.resource.name for c in coverage.covered] == ["prod-orders"]
    assert [i.resource.name for i in coverage.ignored] == ["prod-other"]
    assert coverage.complete


def test_the_inventory_command_lists_declared_stores_apart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "inventory.toml"
    path.write_text('[[stores]]\nname = "cache"\nkind = "redis"\nrto = "15m"\nrpo = "30d"\n'
                    'source = { type = "file", path = "none-*.rdb" }\n\n[[declared]]\nname = "stripe"\ntype = "saas"\n'
                    'backup_method = "nightly export"\nlast_verified = 2026-11-02\n')
    assert main(["inventory", "--inventory", str(path)]) == 1  # the redis store has no backup
    assert capsys.readouterr().out.splitlines()[-1] == ("stripe (declared saas, never restored): nightly export — "
                                                        "last verified 2026-11-02")
    assert main(["inventory", "--inventory", str(path), "--json"]) == 1
    shown = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in shown["stores"]] == ["cache"]
    assert shown["declared"] == [{"name": "stripe", "type": "saas", "backup_method": "nightly export",
                                  "last_verified": "2026-11-02"}]


def test_every_problem_at_once_stores_first_then_declared() -> None:
    text = problems({"stores": [{**STORE, "rto": "soon"}], "declared": [{**DECLARED, "type": "crm"}],
                     "discovery": {"ignore": [{"match": "s3:x"}]}})
    assert [line.split(": ")[1] for line in text.split(" — ")[0].splitlines()] == [
        "discovery.ignore[0].reason", "stores[0].rto", "declared[0].type"]


def test_a_replica_of_a_replica_folds_into_the_top_source_and_an_orphan_stands_alone() -> None:
    from verifiers.discovery.aws import fold_replicas  # boto3: the aws extra

    def rds(name: str, region: str = "eu-west-1", of: str | None = None) -> Resource:
        return Resource("aws", "rds", f"arn:aws:rds:{region}:1:db:{name}", name, region,
                        replica_of=None if of is None else f"arn:aws:rds:eu-west-1:1:db:{of}")

    folded = fold_replicas([rds("orders"), rds("orders-ro", of="orders"), rds("orders-ro2", of="orders-ro"),
                            rds("orders-dr", "us-east-1", of="orders"), rds("billing-ro", of="billing")])
    assert [(r.name, r.replicas) for r in folded] == [
        ("orders", ("arn:aws:rds:eu-west-1:1:db:orders-ro", "arn:aws:rds:eu-west-1:1:db:orders-ro2",
                    "arn:aws:rds:us-east-1:1:db:orders-dr")),
        ("billing-ro", ())]  # its source was not discovered: compared by itself
