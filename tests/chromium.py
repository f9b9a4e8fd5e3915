"""Open a page in Debian's headless Chromium and watch it over the DevTools protocol, spoken on the pipe
Chromium offers with --remote-debugging-pipe (fd 3 in, fd 4 out, NUL-terminated JSON): no browser download,
no client library, no port. Records console errors, uncaught exceptions, log errors and every request."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--remote-debugging-pipe")
PROTOCOL_TIMEOUT = 60.0  # a guard against a hung browser, not a measurement


class ChromiumError(RuntimeError):
    pass


@dataclass
class PageLoad:
    """What happened while a page loaded."""

    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    session: str = ""


class Chromium:
    def __init__(self, process: subprocess.Popen[bytes], to_browser: int, from_browser: int) -> None:
        self.process = process
        self.to_browser = to_browser
        self.from_browser = from_browser
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.from_browser], [], [], max(0.0, left))
            if not ready:
                raise ChromiumError(f"no answer from Chromium within {PROTOCOL_TIMEOUT}s")
            chunk = os.read(self.from_browser, 1 << 16)
            if not chunk:
                raise ChromiumError(f"Chromium closed the pipe (exit {self.process.poll()})")
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        parsed: dict[str, Any] = json.loads(message)
        return parsed

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + PROTOCOL_TIMEOUT
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise ChromiumError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def wait_for(self, method: str, session: str) -> dict[str, Any]:
        deadline = time.monotonic() + PROTOCOL_TIMEOUT
        for event in self.events:
            if event.get("method") == method and event.get("sessionId") == session:
                return event
        while True:
            event = self._read_message(deadline)
            self.events.append(event)
            if event.get("method") == method and event.get("sessionId") == session:
                return event

    def load(self, url: str) -> PageLoad:
        """Open url in a new tab and wait for its load event."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_for("Page.loadEventFired", session)
        self.evaluate("new Promise(r => requestAnimationFrame(() => r(true)))", session)
        return self.observed(session)

    def observed(self, session: str) -> PageLoad:
        page = PageLoad(session=session)
        for event in (e for e in self.events if e.get("sessionId") == session):
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                page.console_errors.append(" ".join(str(a.get("value", a.get("description")))
                                                    for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                page.console_errors.append(str(details.get("exception", {}).get("description") or details))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                page.console_errors.append(str(params["entry"].get("text")))
            elif method == "Network.requestWillBeSent":
                page.requests.append(str(params.get("request", {}).get("url")))
        return page

    def evaluate(self, expression: str, session: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, session=session)
        if "exceptionDetails" in result:
            raise ChromiumError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, session: str) -> bytes:
        return base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"])


def _high(fd: int) -> int:
    return fcntl.fcntl(fd, fcntl.F_DUPFD, 10)


@contextmanager
def chromium(user_data_dir: Path) -> Iterator[Chromium]:
    """A headless Chromium with a fresh profile; closed (and reaped) on the way out."""
    if not os.access(CHROMIUM, os.X_OK):
        raise ChromiumError(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does it)")
    browser_in, to_browser = os.pipe()
    from_browser, browser_out = os.pipe()
    child_in, child_out = _high(browser_in), _high(browser_out)

    def wire_pipes() -> None:  # in the child: the protocol's fds 3 and 4
        os.dup2(child_in, 3)
        os.dup2(child_out, 4)

    log = (user_data_dir.parent / f"{user_data_dir.name}.log").open("wb")
    process = subprocess.Popen([str(CHROMIUM), *FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                               preexec_fn=wire_pipes, close_fds=False,  # the protocol's fds must be 3 and 4
                               start_new_session=True)  # its own group: renderers go with it
    for fd in (browser_in, browser_out, child_in, child_out):
        os.close(fd)
    browser = Chromium(process, to_browser, from_browser)
    try:
        yield browser
    finally:
        try:
            browser.send("Browser.close")
        except (ChromiumError, OSError):
            os.killpg(process.pid, signal.SIGKILL)
        finally:
            os.close(to_browser)
            os.close(from_browser)
            process.wait(timeout=PROTOCOL_TIMEOUT)
            log.close()
