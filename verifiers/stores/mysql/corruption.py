"""Corruption checks on a restored MySQL / MariaDB database (issue 21): CHECK TABLE on every base table, within
a time budget (`check_table_budget`, looked at between tables: one CHECK TABLE is not interrupted).

A dump's restore writes every table afresh, so this is opt-in (`check_table = true`); it matters most on an RDS
snapshot, whose pages are production's. The check names the corrupt tables and the kind of message the server
gave (error, or a status other than OK), never the message itself, which can quote key values. A table the
engine cannot check, and tables left when the budget ran out, make the check "not compared", never a pass.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import pymysql

from verifiers import checks
from verifiers.checks import CheckResult, CheckSpec
from verifiers.errors import SandboxError
from verifiers.stores.mysql.restore import redact
from verifiers.stores.mysql.rowhash import quote_identifier

CHECK = "corruption"
SUBJECT = "tables"
SPEC = CheckSpec(CHECK, SUBJECT)
SHOWN = 10
SOUND = ("OK", "Table is already up to date")

TABLES_SQL = ("SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_type = "
              "'BASE TABLE' ORDER BY table_name")


def check_tables(conn: Any, database: str, *, budget: float, store: str, shown_as: str | None = None) -> CheckResult:
    """CHECK TABLE every base table of `database` over `conn` (a pymysql connection, closed after), spending at
    most about `budget` seconds; tables are named in `shown_as` (the manifest's database, for a scratch one)."""
    deadline = time.monotonic() + budget
    corrupt: list[str] = []
    uncheckable: list[str] = []
    checked = 0
    try:
        with conn.cursor() as cur:
            cur.execute(TABLES_SQL, (database,))
            tables = [str(row[0]) for row in cur.fetchall()]
            for table in tables:
                if time.monotonic() >= deadline:
                    break
                cur.execute(f"CHECK TABLE {quote_identifier(database)}.{quote_identifier(table)}")
                verdict = _verdict([(str(row[2]).lower(), str(row[3])) for row in cur.fetchall()])
                name = f"{shown_as or database}.{table}"
                if verdict is None:
                    uncheckable.append(name)
                elif verdict:
                    corrupt.append(f"{name} ({verdict})")
                else:
                    checked += 1
    except pymysql.err.OperationalError as exc:
        raise SandboxError(f"store {store}: lost the sandbox server during CHECK TABLE: "
                           f"{redact(str(exc.args[-1]) if exc.args else type(exc).__name__)}",
                           hint="the server may have been killed or run out of memory or disk") from None
    finally:
        with contextlib.suppress(pymysql.err.MySQLError):
            conn.close()
    return judge(len(tables), checked, corrupt, uncheckable, budget=budget)


def _verdict(messages: list[tuple[str, str]]) -> str | None:
    """'' for a sound table, what was wrong for a corrupt one, None when the engine cannot check it."""
    statuses = [text for kind, text in messages if kind == "status"]
    if any(kind == "error" for kind, _ in messages):
        return "error"
    if not statuses:
        return None  # e.g. "note: The storage engine for the table doesn't support check"
    return "" if statuses[-1] in SOUND else "status not OK"


def judge(total: int, checked: int, corrupt: list[str], uncheckable: list[str], *, budget: float) -> CheckResult:
    observed = f"{len(corrupt)} corrupt of {checked + len(corrupt)} checked"
    if corrupt:
        shown = ", ".join(corrupt[:SHOWN]) + (f" and {len(corrupt) - SHOWN} more" if len(corrupt) > SHOWN else "")
        return CheckResult(CHECK, SUBJECT, False, observed, "0 corrupt",
                           f"CHECK TABLE found {len(corrupt)} corrupt table(s) of {total}: {shown}")
    if uncheckable:
        return checks.not_compared(CHECK, SUBJECT, observed, f"the engine of {', '.join(uncheckable[:SHOWN])} "
                                   "cannot check it (CHECK TABLE answered with a note only)")
    if checked < total:
        return checks.not_compared(CHECK, SUBJECT, observed, f"CHECK TABLE checked {checked} of {total} tables "
                                   f"within check_table_budget ({budget:g} s), none corrupt; the other "
                                   f"{total - checked} were not checked: raise check_table_budget")
    return CheckResult(CHECK, SUBJECT, True, observed, "0 corrupt", f"CHECK TABLE found all {total} tables OK")
