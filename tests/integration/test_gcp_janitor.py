"""`restoreproof janitor --cloud gcp`: temporary Cloud SQL instances left behind, found by the harness's label,
listed (dry run) or deleted when older than the threshold; nothing else is touched. Against the contract-checked
fake of the Admin API (tests/cloudsql_support.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.cloudsql_support import SqlAdminServer, sqladmin  # noqa: F401 - the fixture
from verifiers.cli import main
from verifiers.cloudsql import CREATED_FORMAT, LABEL_CREATED, LABEL_STORE, LABEL_TEMPORARY, TEMPORARY_FILTER

PROJECT = "acme-prod"


def labels(age: timedelta | None, store: str = "saas") -> dict[str, str]:
    found = {LABEL_TEMPORARY: "true", LABEL_STORE: store}
    if age is not None:
        found[LABEL_CREATED] = (datetime.now(UTC) - age).strftime(CREATED_FORMAT)
    return found


@pytest.fixture
def leftovers(sqladmin: SqlAdminServer) -> SqlAdminServer:  # noqa: F811 - the fixture imported above
    fake = sqladmin.fake
    fake.add_instance("restoreproof-saas-old1", labels=labels(timedelta(days=2)))
    fake.add_instance("restoreproof-saas-new1", labels=labels(timedelta(minutes=5)))
    # no created label: the API's createTime (a year ago) is its age
    fake.add_instance("restoreproof-billing-ct", labels=labels(None, "billing"), created="2025-12-01T00:00:00Z")
    fake.add_instance("prod-db", created="2020-01-01T00:00:00Z")  # production, unlabelled: never touched
    # labelled by someone, but not named by the harness: never touched either
    fake.add_instance("analytics-copy", labels=labels(timedelta(days=30)))
    return sqladmin


def test_dry_run_lists_stale_instances_and_deletes_nothing(leftovers: SqlAdminServer,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["janitor", "--cloud", "gcp", "--gcp-project", PROJECT, "--older-than", "6h"]) == 0
    out = capsys.readouterr().out
    assert "would delete: cloud sql instance acme-prod:restoreproof-saas-old1 (RUNNABLE) of store saas" in out
    assert "would delete: cloud sql instance acme-prod:restoreproof-billing-ct (RUNNABLE) of store billing, " \
           "created 2025-12-01T00:00:00Z" in out
    assert "kept (newer than 6h00m): cloud sql instance acme-prod:restoreproof-saas-new1" in out
    assert "prod-db" not in out and "analytics-copy" not in out
    assert "2 Cloud SQL instance(s) labelled restoreproof-temporary=true in project acme-prod older than 6h00m; " \
           "dry run, nothing deleted (pass --delete to delete them)" in out
    fake = leftovers.fake
    assert fake.called("sql.instances.delete") == []
    (listing,) = fake.called("sql.instances.list")
    assert listing.params == {"project": PROJECT, "filter": TEMPORARY_FILTER, "maxResults": "500"}


def test_delete_removes_only_stale_labelled_instances_and_waits(leftovers: SqlAdminServer,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    leftovers.fake.page_size = 1  # one instance per page: every page is read
    assert main(["janitor", "--cloud", "gcp", "--gcp-project", PROJECT, "--older-than", "1d", "--delete"]) == 0
    out = capsys.readouterr().out
    assert "deleted: cloud sql instance acme-prod:restoreproof-saas-old1" in out
    assert "; 2 deleted" in out
    assert sorted(leftovers.fake.instances) == ["analytics-copy", "prod-db", "restoreproof-saas-new1"]
    assert {c.params["instance"] for c in leftovers.fake.called("sql.instances.delete")} == {
        "restoreproof-saas-old1", "restoreproof-billing-ct"}


def test_a_failed_deletion_is_named_and_exits_2(leftovers: SqlAdminServer,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    leftovers.fake.fail_operation["sql.instances.delete"] = "INTERNAL_ERROR"
    assert main(["janitor", "--cloud", "gcp", "--gcp-project", PROJECT, "--delete"]) == 2
    err = capsys.readouterr().err
    assert "janitor could not delete: janitor: instances.delete acme-prod:restoreproof-saas-old1: operation " in err
    assert "failed: INTERNAL_ERROR" in err


def test_without_a_project_or_permission_the_fix_is_named(sqladmin: SqlAdminServer,  # noqa: F811
                                                          capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    assert main(["janitor", "--cloud", "gcp"]) == 2
    assert "pass --gcp-project PROJECT" in capsys.readouterr().err
    sqladmin.fake.fail_http["sql.instances.list"] = (403, "The client is not authorized to make this request.")
    assert main(["janitor", "--cloud", "gcp", "--gcp-project", PROJECT]) == 2
    err = capsys.readouterr().err
    assert "cannot list the Cloud SQL instances of project acme-prod" in err and "roles/cloudsql.admin" in err
