"""report.html and index.html in a real browser (Debian's headless Chromium): they render, the restore summary
is on top and readable, failed checks show observed vs expected and the schema diff, nothing is fetched from
anywhere, and the console stays free of errors."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.chromium import Chromium, chromium
from tests.integration.evidence.conftest import Reports

pytestmark = pytest.mark.postgres
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with chromium(tmp_path_factory.mktemp("chromium") / "profile") as opened:
        yield opened


def js(browser: Chromium, session: str, expression: str) -> Any:
    return browser.evaluate(expression, session)


def assert_self_contained(requests: list[str], page: Path) -> None:
    assert requests[0] == page.as_uri()
    assert [u for u in requests[1:] if not u.startswith("data:")] == []


def test_the_console_watch_catches_errors(browser: Chromium, tmp_path: Path) -> None:
    """A control: a page with a console error, an exception and a missing image is reported as such."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><img src='missing.png'>"
                    "<script>console.error('planted error'); undefinedFunction();</script></body></html>")
    loaded = browser.load(page.as_uri())
    assert any("planted error" in e for e in loaded.console_errors)
    assert any("undefinedFunction" in e for e in loaded.console_errors)
    assert any(u.endswith("missing.png") for u in loaded.requests)


def test_passing_report_renders_with_the_summary_on_top(browser: Chromium, chained_reports: Reports) -> None:
    run = chained_reports.runs[0]
    page = run / "report.html"
    loaded = browser.load(page.as_uri())
    assert loaded.console_errors == []
    assert_self_contained(loaded.requests, page)
    s = loaded.session
    assert js(browser, s, "document.querySelector('#restoreproof-summary').getBoundingClientRect().height") > 100
    verdict = js(browser, s, "document.querySelector('.rp-verdict').innerText")
    assert verdict == "Restore verified: 1 of 1 store restored, complete and intact, within their targets."
    cells = js(browser, s, "[...document.querySelectorAll('#restoreproof-stores tbody td')].map(c => c.innerText)")
    assert cells[0].startswith("saas") and cells[1] == "PASSED" and "within target 15m00s" in cells[2]
    assert "within target 30d0h" in cells[3] and cells[4].startswith("saas-") and "sha256" in cells[4]
    order = js(browser, s, "['#restoreproof-summary', '#results-table', '#environment']"
                           ".map(q => document.querySelector(q).getBoundingClientRect().top)")
    assert order == sorted(order), "the summary must come first, the environment last"
    bars = js(browser, s, "[...document.querySelectorAll('.rp-figure svg text.rp-chart-label')]"
                          ".map(t => t.textContent)")
    # each phase's steps under it: the custom dump's restore by section, the verification's first query and full read
    assert bars == ["fetch", "provision", "restore", "restore_schema", "restore_data", "restore_indexes", "verify",
                    "first_query", "warm", "teardown"]
    steps = js(browser, s, "[...document.querySelectorAll('.rp-figure svg text.rp-step-label')]"
                           ".map(t => t.textContent)")
    assert steps == ["restore_schema", "restore_data", "restore_indexes", "first_query", "warm"]
    checks = json.loads((run / "evidence.json").read_text())["stores"][0]["checks"]
    rows = js(browser, s, "[...document.querySelectorAll('#results-table tbody.results-table-row')]"
                          ".map(b => [...b.querySelectorAll('tr.collapsible td')].map(c => c.innerText))")
    assert len(rows) == len(checks)
    assert {(r[2], r[3]) for r in rows} == {("saas", c["check"]) for c in checks}
    # plain words where pytest has its own terms: the check named, not the test function's id
    assert {r[1] for r in rows} >= {"Row count: public.users", "Content checksum: billing.invoices",
                                    "Restore time (RTO)", "Tables present"}
    assert not any("test_" in r[1] for r in rows)
    assert browser.screenshot(s).startswith(PNG)


def test_failing_report_shows_observed_expected_and_the_schema_diff(browser: Chromium,
                                                                    failing_reports: Reports) -> None:
    page = failing_reports.runs[0] / "report.html"
    loaded = browser.load(page.as_uri())
    assert loaded.console_errors == []
    assert_self_contained(loaded.requests, page)
    s = loaded.session
    assert js(browser, s, "document.querySelector('.rp-verdict').innerText").startswith("Restore NOT verified")
    added = js(browser, s, "[...document.querySelectorAll('.rp-diff li.rp-diff-add')].map(li => li.innerText)")
    assert added == ["+ public.users.nickname: column added"]
    details = js(browser, s, "[...document.querySelectorAll('.rp-check.rp-failed')].map(d => d.innerText)")
    checksum = next(d for d in details if "checksum" in d.lower() and "public.users" in d)
    assert "Observed (restored)" in checksum and "Expected" in checksum
    assert "SOC 2 A1.3" in checksum


def test_index_renders(browser: Chromium, chained_reports: Reports, tmp_path: Path) -> None:
    root = tmp_path / "reports"
    shutil.copytree(chained_reports.root, root)
    subprocess.run([sys.executable, "-m", "verifiers.cli", "evidence", "index", str(root)], check=True,
                   capture_output=True, timeout=120)
    page = root / "index.html"
    loaded = browser.load(page.as_uri())
    assert loaded.console_errors == []
    assert_self_contained(loaded.requests, page)
    s = loaded.session
    banner = js(browser, s, "document.querySelector('#integrity').innerText")
    assert banner.startswith("Archive integrity verified: 3 runs")
    assert js(browser, s, "document.querySelectorAll('svg.chart circle.point').length") >= 1
    assert "Monthly restore-test completion" in js(browser, s, "document.querySelector('#kpis').innerText")


def test_the_report_prints_as_a_document_an_auditor_reads_alone(browser: Chromium, chained_reports: Reports) -> None:
    """Print CSS (issue 24, item 5): "Save as PDF" gives every check's detail, no controls, nothing cut off."""
    loaded = browser.load((chained_reports.runs[0] / "report.html").as_uri())
    s = loaded.session
    folded = "[...document.querySelectorAll('.extras-row')].filter(r => getComputedStyle(r).display === 'none').length"
    assert js(browser, s, folded) > 0  # on screen a passed check's detail is folded: the control
    assert js(browser, s, "getComputedStyle(document.querySelector('.filters')).display") != "none"
    browser.send("Emulation.setEmulatedMedia", {"media": "print"}, session=s)
    assert js(browser, s, folded) == 0  # printed, every check's detail is there
    assert js(browser, s, "getComputedStyle(document.querySelector('.filters')).display") == "none"
    browser.send("Emulation.setDeviceMetricsOverride", {"width": 700, "height": 1000, "deviceScaleFactor": 1,
                                                        "mobile": False}, session=s)  # A4's width less margins
    assert js(browser, s, "document.documentElement.scrollWidth") <= 700  # nothing wider than the page
    pdf = base64.b64decode(browser.send("Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69},
                                        session=s)["data"])
    assert pdf.startswith(b"%PDF-") and pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 1
