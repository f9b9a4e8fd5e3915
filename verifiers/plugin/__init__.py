"""The pytest plugin: one test item per check per store, a sandbox per store, evidence per run. This module is
the plugin (the `pytest11` entry point, and what suites import); the package holds its session state
(session.py), its distribution over xdist workers (distributed.py, with progress_relay.py carrying the workers'
progress) and the live progress line (progress_display.py). distributed.py and this module both import
session.py and not each other's internals.

Restore runs are sessions that collect restore checks: test functions taking the `restore_check` fixture in a
module with `SUITE = "<suite>"` (see suites/). Each store is restored once, on its first item, and torn
down before its checks are judged; each item then asserts its own check.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import os
import signal
import sys
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from verifiers.alerts import response_run as alert_response_run
from verifiers.checks import CheckSpec, plain_name
from verifiers.compliance.configuration_history import recorded_before
from verifiers.discovery.run import run_coverage
from verifiers.errors import EvidenceError, InventoryError, RestoreproofError
from verifiers.evidence import RunInfo, report_html, signing, write_evidence
from verifiers.evidence.result_kinds import HYGIENE_SUITE
from verifiers.plugin import distributed, progress_display
from verifiers.plugin.session import (
    ALL_SUITES,
    CHECK_KEY,
    OPTIONS,
    RUN_KEY,
    CheckParam,
    RestoreCheck,
    RestoreRun,
    Settings,
)
from verifiers.redaction import redact_log_records
from verifiers.run_checks import failed
from verifiers.runner import PlanFailure, StoreOutcome
from verifiers.terminal_summary import run_check_lines, summary_lines

# What suites and tests import from here (the plugin is the module users name); defined in verifiers.plugin.session.
__all__ = ["ALL_SUITES", "CHECK_KEY", "RUN_KEY", "CheckParam", "RestoreCheck", "RestoreRun", "Settings"]

log = logging.getLogger(__name__)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("restoreproof", "restore verification")
    for name, ini, default, help_text in OPTIONS:
        flag = "--" + name.replace("_", "-")
        group.addoption(flag, dest=name, default=None, help=f"{help_text} (ini: {ini}; default: {default})")
        parser.addini(ini, help=help_text, default=default)
    group.addoption("--store", dest="stores", action="append", default=None, metavar="NAME",
                    help="only this store (repeatable)")
    group.addoption("--sandbox", dest="sandbox", default=None, choices=("local", "docker"),
                    help="restore every store from a file into this sandbox type, overriding the inventory")
    group.addoption("--allow-external-sandbox", dest="allow_external_sandbox", action="store_true", default=False,
                    help="allow `external` sandboxes: restoring into a server restoreproof did not start")


def is_restore_session(config: pytest.Config) -> bool:
    """A session restores when it was given an inventory or collects from a tree whose conftest says
    RESTOREPROOF_SUITES = True (suites/conftest.py); the harness's own tests write no evidence."""
    if config.getoption("inventory") is not None:
        return True
    return any(getattr(p, "RESTOREPROOF_SUITES", False) for p in config.pluginmanager.get_plugins())


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "restore_check: a check judged on a restored store (set by restoreproof)")
    if not is_restore_session(config):
        return
    if hasattr(config, "workerinput"):
        _configure_worker(config)
        return
    redact_log_records()  # before anything logs: DEBUG logs of HTTP libraries carry tokens
    settings = Settings.resolve(config)
    state = RestoreRun(settings=settings, run=RunInfo.new(settings.reports_dir), project_dir=config.rootpath)
    try:
        state.load()  # a bad inventory is a usage error, before any report file exists
    except InventoryError as exc:
        raise pytest.UsageError(exc.describe()) from None
    if settings.alert_response is not None:
        try:
            state.alert_response = alert_response_run.load(settings.alert_response)
        except RestoreproofError as exc:
            raise pytest.UsageError(exc.describe()) from None
    if settings.signing_key is not None:
        try:
            state.signing_key = signing.load_private_key(settings.signing_key)
        except EvidenceError as exc:
            raise pytest.UsageError(exc.describe()) from None
    if settings.history is not None and settings.suite in (None, HYGIENE_SUITE):
        try:  # an archive that cannot be read is named now, before any report file exists
            state.earlier_configurations = recorded_before(state.load(), state.run.started,
                                                           history=settings.history, reports_dir=settings.reports_dir)
        except RestoreproofError as exc:  # an unreadable archive; or one whose backend needs a missing extra
            raise pytest.UsageError(f"--history: {exc.describe()}") from None
    config.stash[RUN_KEY] = state
    # Reports go into the run directory unless the user named other paths.
    if getattr(config.option, "htmlpath", "missing") is None:
        config.option.htmlpath = str(state.run.directory / "report.html")
        config.option.self_contained_html = True
    if getattr(config.option, "xmlpath", "missing") is None:
        config.option.xmlpath = str(state.run.directory / "junit.xml")
    if config.pluginmanager.hasplugin("html"):
        config.option.css = [*(getattr(config.option, "css", None) or []), str(report_html.REPORT_CSS)]
        config.pluginmanager.register(HtmlSummary(state), "restoreproof-html")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(distributed.ControllerMerge(state), "restoreproof-xdist")
    _install_sigterm_handler()


def _configure_worker(config: pytest.Config) -> None:
    """An xdist worker restores the stores it is given and sends their outcomes to the controller, which
    alone writes the reports and the evidence (see distributed.py)."""
    run = distributed.worker_run(config)
    if run is None:
        return
    redact_log_records()  # a worker's captured logs reach the controller's reports
    state = RestoreRun(settings=Settings.resolve(config), run=run, project_dir=config.rootpath)
    config.stash[RUN_KEY] = state
    config.pluginmanager.register(distributed.WorkerOutcomes(state), "restoreproof-xdist")
    if config.pluginmanager.hasplugin("html"):
        config.pluginmanager.register(HtmlSummary(state), "restoreproof-html")  # per-check extras travel back
    _install_sigterm_handler()


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Progress goes to the terminal reporter, which exists by now (it is configured after this plugin)."""
    state = session.config.stash.get(RUN_KEY, None)
    if state is None:
        return
    if hasattr(session.config, "workerinput"):  # a worker's output is not shown: the controller relays it
        state.progress = distributed.worker_progress(session.config) or state.progress
    else:
        state.progress = progress_display.for_pytest(session.config, state.settings.progress)


def _install_sigterm_handler() -> None:
    """SIGTERM (CI cancelling a job) unwinds like Ctrl-C, so every sandbox is torn down on the way out."""
    if sys.platform == "win32":
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    # Outside the main thread (embedded use) signal() raises ValueError: leave the process's handler alone.
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, interrupt)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "restore_check" not in metafunc.fixturenames:
        return
    suite = getattr(metafunc.module, "SUITE", None)
    if not isinstance(suite, str):
        raise pytest.UsageError(f"{metafunc.module.__name__}: a restore suite module must set SUITE = '<suite>'")
    state = metafunc.config.stash.get(RUN_KEY, None)
    if state is None:
        raise pytest.UsageError("restore checks need a restore session: pass --inventory PATH")
    try:
        plans = state.plans_for(suite)
    except InventoryError as exc:
        raise pytest.UsageError(exc.describe()) from None
    params: list[CheckParam] = []
    for plan in plans:
        if isinstance(plan, PlanFailure):
            params.append(CheckParam(plan.store.name, CheckSpec("restore", "restore")))
        else:
            params.extend(CheckParam(plan.store.name, spec) for spec in plan.specs)
    metafunc.parametrize("restore_check", params, ids=[p.id for p in params], indirect=True)


@pytest.fixture
def restore_check(request: pytest.FixtureRequest) -> RestoreCheck:
    param: CheckParam = request.param
    state = request.config.stash[RUN_KEY]
    outcome = state.outcome(param.store)
    check = RestoreCheck(outcome, param.spec)
    _record_properties(request.node, outcome, check)
    request.node.stash[CHECK_KEY] = check
    if outcome.interrupted:
        raise KeyboardInterrupt(f"store {param.store} interrupted")
    return check


def _record_properties(node: pytest.Item, outcome: StoreOutcome, check: RestoreCheck) -> None:
    """JUnit properties: which store and check, and the store's measured RTO/RPO against targets."""
    evidence = outcome.as_evidence()
    props: list[tuple[str, object]] = [
        ("store", outcome.store.name), ("check", check.spec.check), ("subject", check.spec.subject),
        ("status", outcome.status),
        ("rto_seconds", evidence["rto"]["seconds"]), ("rto_target_seconds", evidence["rto"]["target_seconds"]),
        ("rpo_seconds", evidence["rpo"]["seconds"]), ("rpo_target_seconds", evidence["rpo"]["target_seconds"]),
    ]
    if check.result is not None:
        props += [("observed", check.result.observed), ("expected", check.result.expected)]
    node.user_properties.extend(props)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Generator[None]:
    """Finalise the run once every report file is final: pytest-html and junitxml write theirs in their own
    pytest_sessionfinish, which this (innermost) wrapper's code after `yield` follows; the terminal summary
    comes after it. Only the controlling process finalises (xdist workers have no run state). The run-level checks
    (inventory coverage) are made before `yield`, so that report.html's summary shows them."""
    _judge_run(session)
    result = yield
    state = session.config.stash.get(RUN_KEY, None)
    if hasattr(session.config, "workerinput"):
        return result  # the controller writes the evidence
    if state is None or not (state.outcomes or state.run.directory.exists()):
        return result
    try:
        path = write_evidence(state.run, list(state.outcomes.values()), project_dir=state.project_dir,
                              signing_key=state.signing_key, provenance=state.provenance,
                              drill=state.drill.as_evidence() if state.drill else None,
                              run_checks=state.run_checks, coverage=state.coverage)
    except (EvidenceError, OSError) as exc:
        detail = exc.describe() if isinstance(exc, EvidenceError) else f"{exc.strerror}: {exc.filename}"
        sys.stderr.write(f"restoreproof: error: run {state.run.id} was not sealed: {detail} — fix it and run "
                         "again; `restoreproof evidence verify` reports the unsealed run\n")
        session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
        return result
    log.info("evidence written and sealed in %s", path.parent)
    return result


def _judge_run(session: pytest.Session) -> None:
    """The run-level checks, once, in the controlling process of a run that restored: inventory coverage (one
    discovery, with `[discovery]`) and the alert-response KPI (with --alert-response). A failed one fails the
    run: its status in the evidence, and the exit code."""
    state = session.config.stash.get(RUN_KEY, None)
    if state is None or hasattr(session.config, "workerinput") or not state.outcomes or state.inventory is None:
        return
    if session.exitstatus == pytest.ExitCode.INTERRUPTED:
        return  # stopped (Ctrl-C, SIGTERM): finish quickly; the run is not a full one anyway
    coverage = run_coverage(state.inventory)
    state.coverage = coverage.record
    state.run_checks += coverage.checks
    if state.alert_response is not None:
        state.run_checks.append(alert_response_run.judge(state.alert_response, datetime.now(UTC)))
    if failed(state.run_checks) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(RUN_KEY, None)
    if state is None or not state.outcomes:
        return
    tr = terminalreporter
    tr.section("restoreproof")
    for line in summary_lines(list(state.outcomes.values()), verbosity=config.get_verbosity()):
        tr.write_line(line.text, **({line.colour: True} if line.colour else {}))
    for line in run_check_lines(state.run_checks):
        tr.write_line(line.text, **({line.colour: True} if line.colour else {}))
    tr.write_line(f"evidence: {_shown(state.run.directory, config)}")
    if (state.run.directory / "SHA256SUMS").is_file():
        signed = f", signed by key {signing.key_id(state.signing_key.public_key())[:16]}…" if state.signing_key else ""
        tr.write_line(f"sealed: SHA256SUMS, {_chained(state.run.directory)}{signed}")


def _chained(run_dir: Path) -> str:
    """What the sealed run's evidence links to, as it says: the previous run, or none (the root's first run)."""
    try:
        previous = (json.loads((run_dir / "evidence.json").read_text()).get("chain") or {}).get("previous")
    except (OSError, ValueError):
        return "chain not readable: see `restoreproof evidence verify`"
    if not previous:
        return "the first run of this reports directory (nothing before it to chain to)"
    return f"chained to the previous run, {previous.get('run', '?')}"


def _shown(path: Path, config: pytest.Config) -> str:
    try:
        return os.path.relpath(path, config.invocation_params.dir)
    except ValueError:
        return str(path)


class HtmlSummary:
    """pytest-html hooks: a per-store summary at the top of report.html."""

    def __init__(self, state: RestoreRun) -> None:
        self.state = state

    def pytest_html_report_title(self, report: Any) -> None:
        report.title = f"Restore verification {self.state.run.id}"

    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str],
                                    session: pytest.Session) -> None:
        block = report_html.summary_html(list(self.state.outcomes.values()), self.state.provenance)
        if block:
            prefix.append(block)
        if self.state.run_checks:
            prefix.append(report_html.run_checks_html(self.state.run_checks))

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells[2:2] = ['<th class="sortable" data-column-type="store">Store</th>',
                      '<th class="sortable" data-column-type="check">Check</th>',
                      "<th>Observed</th>", "<th>Expected</th>"]

    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        props = dict(getattr(report, "user_properties", ()))  # a collection error's report has none
        check = str(props.get("check", ""))
        if check:  # plain words where pytest has its own terms: the check named, not the test function's id
            subject = str(props.get("subject", ""))
            cells[1] = (f'<td class="col-testId">{html.escape(plain_name(check))}'
                        f'{html.escape(": " + subject) if subject and subject != check else ""}</td>')
            if report.skipped:  # pytest's "Skipped": a check that had nothing to compare
                cells[0] = '<td class="col-result">Not compared</td>'
        cells[2:2] = [
            f'<td class="col-store">{html.escape(str(props.get("store", "-")))}</td>',
            f'<td class="col-check">{html.escape(check or "-")}</td>',
            f"<td>{report_html.short_value(check, props.get('observed'), passed=report.passed)}</td>",
            f"<td>{report_html.short_value(check, props.get('expected'), passed=report.passed)}</td>",
        ]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[
            None, pytest.TestReport, pytest.TestReport]:
        """Each check's row gets its detail (observed vs expected, schema diff, phase chart) as a pytest-html
        extra; pytest-html's own wrapper, outside this one, merges it with any other extras."""
        report = yield
        check = item.stash.get(CHECK_KEY, None)
        if report.when == "call" and check is not None:
            detail = report_html.check_detail_html(check.outcome, check.result)
            extra = {"name": "check detail", "format_type": "html", "content": detail, "mime_type": None,
                     "extension": None}  # what pytest_html.extras.html() makes
            report.extras = [*getattr(report, "extras", []), extra]  # type: ignore[attr-defined]
        return report
