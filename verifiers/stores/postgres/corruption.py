"""Corruption checks on a restored PostgreSQL database: amcheck over every B-tree index (`bt_index_check` with
`heapallindexed`: each index is structurally sound and holds an entry for every heap tuple it should), within a
time budget (`amcheck_budget`).

A pg_dump restore builds every index afresh, so this is opt-in there (`amcheck = true`); it matters most on a
physical copy (an RDS / Aurora snapshot), whose pages are the production server's own. It runs after the
read-only measurements, since `CREATE EXTENSION amcheck` writes to the sandbox's catalog.

The check names the corrupt indexes and the SQLSTATE only: amcheck's messages can quote index keys, which are
row contents. An index whose check ran out of budget is not judged; when any are left, the check is "not
compared" with the counts, never a pass.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
from psycopg import errors, sql

from verifiers import checks
from verifiers.checks import CheckResult, CheckSpec
from verifiers.errors import SandboxError
from verifiers.stores.postgres.restore import redact

CHECK = "corruption"
SUBJECT = "indexes"
SPEC = CheckSpec(CHECK, SUBJECT)
SHOWN = 10  # corrupt index names listed; the count says how many more

# Every valid, ready B-tree index of the database's own objects (oid at or above FirstNormalObjectId, 16384: not
# the system catalogs' nor their TOAST tables'), TOAST indexes of user tables included.
INDEXES_SQL = """
SELECT c.oid, n.nspname, c.relname
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_am a ON a.oid = c.relam
WHERE a.amname = 'btree' AND i.indisvalid AND i.indisready AND c.relpersistence <> 't'
  AND c.oid >= 16384 AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY n.nspname, c.relname
"""

# SQLSTATEs amcheck raises for what it finds: index_corrupted (XX002), data_corrupted (XX001)
CORRUPTION = (errors.IndexCorrupted, errors.DataCorrupted)


def check_indexes(conninfo: str, *, budget: float, store: str) -> CheckResult:
    """amcheck every B-tree index of the database at `conninfo` (a superuser's, or one that may create the
    extension), spending at most `budget` seconds."""
    deadline = time.monotonic() + budget
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
            except (errors.UndefinedFile, errors.FeatureNotSupported, errors.InsufficientPrivilege) as exc:
                return checks.not_compared(CHECK, SUBJECT, None, "amcheck is not available on the sandbox server "
                                           f"(SQLSTATE {exc.sqlstate}): install PostgreSQL's contrib modules there "
                                           "or grant the right to create it, or set amcheck = false")
            indexes = conn.execute(INDEXES_SQL).fetchall()
            corrupt, checked = _run(conn, indexes, deadline)
    except psycopg.OperationalError as exc:
        raise SandboxError(f"store {store}: lost the sandbox server during amcheck: {redact(str(exc))}",
                           hint="the server may have been killed or run out of memory or disk") from None
    return judge(len(indexes), checked, corrupt, budget=budget)


def _run(conn: psycopg.Connection[Any], indexes: list[tuple[int, str, str]],
         deadline: float) -> tuple[list[str], int]:
    corrupt: list[str] = []
    checked = 0
    for oid, schema, name in indexes:
        remaining_ms = int((deadline - time.monotonic()) * 1000)
        if remaining_ms <= 0:
            break
        conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(remaining_ms)))
        try:
            conn.execute("SELECT bt_index_check(index => %s::oid::regclass, heapallindexed => true)", (oid,))
        except errors.QueryCanceled:
            break
        except CORRUPTION as exc:
            corrupt.append(f"{schema}.{name} (SQLSTATE {exc.sqlstate})")
        except errors.UndefinedTable:  # dropped since listed: nothing to check
            continue
        checked += 1
    conn.execute("RESET statement_timeout")
    return corrupt, checked


def judge(total: int, checked: int, corrupt: list[str], *, budget: float) -> CheckResult:
    """Corrupt indexes fail the check whatever the budget left; with none found, every index must have been
    checked for a pass."""
    observed = f"{len(corrupt)} corrupt of {checked} checked"
    if corrupt:
        shown = ", ".join(corrupt[:SHOWN]) + (f" and {len(corrupt) - SHOWN} more" if len(corrupt) > SHOWN else "")
        return CheckResult(CHECK, SUBJECT, False, observed, "0 corrupt",
                           f"amcheck found {len(corrupt)} corrupt B-tree index(es) of {total}: {shown}")
    if checked < total:
        return checks.not_compared(CHECK, SUBJECT, observed, f"amcheck checked {checked} of {total} B-tree indexes "
                                   f"within amcheck_budget ({budget:g} s), none corrupt; the other "
                                   f"{total - checked} were not checked: raise amcheck_budget")
    return CheckResult(CHECK, SUBJECT, True, observed, "0 corrupt",
                       f"amcheck (bt_index_check, heapallindexed) found all {total} B-tree indexes sound")
