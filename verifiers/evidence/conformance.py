"""evidence.json against the JSON Schema this restoreproof ships (schema/evidence.schema.json), as `evidence
verify` checks it beside the seals and the chain: a seal proves a file was not changed after the run, the schema
that what was sealed is a well-formed record (a run that wrote, or was made to write, a status of "maybe" or a
negative RTO is sealed just as well). Each violation names the file, the JSON path and the rule it breaks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import best_match

from verifiers.evidence import EVIDENCE_SCHEMA_VERSION, SCHEMA_PATH
from verifiers.evidence.chain import EVIDENCE, Problem, RunRecord

SHOWN_PER_FILE = 10  # a record broken everywhere is named by its first violations, then counted
_MESSAGE_CHARS = 300  # jsonschema's message quotes the offending value, which may be a whole object


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_problems(runs: Iterable[RunRecord]) -> list[Problem]:
    """Every violation of the schema in the runs' evidence.json (an unreadable one is reported by the chain)."""
    return [problem for run in runs if run.evidence is not None for problem in evidence_problems(run.rel, run.evidence)]


def not_checked(runs: Iterable[RunRecord]) -> list[str]:
    """The runs whose evidence.json is of another schema version than the one shipped here: not checked against
    it (nor failed: a monthly archive spans releases), and said so, with the restoreproof that wrote each."""
    out = []
    for run in runs:
        if run.evidence is None or run.evidence.get("schema_version") == EVIDENCE_SCHEMA_VERSION:
            continue
        written = run.evidence.get("run")
        tool = written.get("tool_version", "unknown") if isinstance(written, dict) else "unknown"
        out.append(f"{run.rel}/{EVIDENCE}: schema_version {run.evidence.get('schema_version')!r}, not "
                   f"{EVIDENCE_SCHEMA_VERSION}: not checked against this restoreproof's schema (written by "
                   f"restoreproof {tool}; its seals and chain link are checked)")
    return out


def evidence_problems(run_rel: str, evidence: Mapping[str, Any]) -> list[Problem]:
    """The violations of the shipped schema in one evidence.json of its version (another version: not_checked)."""
    if evidence.get("schema_version") != EVIDENCE_SCHEMA_VERSION:
        return []
    path = f"{run_rel}/{EVIDENCE}"
    errors = sorted(_validator().iter_errors(evidence), key=lambda e: (e.json_path, str(e.validator)))
    problems = [Problem(path, describe(error)) for error in errors[:SHOWN_PER_FILE]]
    if len(errors) > SHOWN_PER_FILE:
        problems.append(Problem(path, f"and {len(errors) - SHOWN_PER_FILE} more violations of the evidence schema"))
    return problems


def describe(error: ValidationError) -> str:
    """`$.run.status: 'maybe' is not one of [...] (rule enum; schema path properties/run/properties/status/enum)`:
    the schema path is jsonschema's, through any $ref; a oneOf or anyOf no alternative fits adds the closest."""
    message = error.message if len(error.message) <= _MESSAGE_CHARS else error.message[:_MESSAGE_CHARS] + "…"
    rule = "/".join(str(part) for part in error.schema_path)
    closest = _closest(error)
    nearest = f"; closest: {closest.message} (rule {closest.validator})" if closest is not None else ""
    return f"{error.json_path}: {message} (rule {error.validator}; schema path {rule}){nearest}"


def _closest(error: ValidationError) -> ValidationError | None:
    """Of a oneOf/anyOf no alternative fits, the error of the alternative of the value's own type (a negative
    number's `minimum`, not its "is not of type 'null'"); None when no alternative is of its type."""
    of_its_type = [e for e in error.context or () if not (e.validator == "type" and not e.relative_path)]
    return best_match(of_its_type) if of_its_type else None
