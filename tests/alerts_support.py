"""For the alert tests: a local HTTP server that records every request and answers from a script (POSTs) or
from a route (GETs, e.g. the fake PagerDuty and Opsgenie APIs of tests/alert_services_support.py), and evidence
records built by hand in the shape the harness writes (verifiers/evidence/schema/evidence.schema.json)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

RUN_ID = "20261103T061700Z-a1b2c3"


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b'{"status":"success"}'
    headers: tuple[tuple[str, str], ...] = ()
    hold: bool = False  # answer only when the test ends: the client's timeout fires first


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def route(self) -> str:
        """The path without its query string."""
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        """The query string's parameters, each with every value given (`service_ids[]` may repeat)."""
        return parse_qs(urlsplit(self.path).query, keep_blank_values=True)


Route = Callable[[Received], Reply]


@dataclass
class AlertServer:
    """A ThreadingHTTPServer on 127.0.0.1 (port 0) recording requests; each path answers from its script, then
    200. A held reply waits for `release` (set when the server stops), so no test waits on a clock. A GET is
    answered from its route's script (keyed by the path without its query: injected failures first), then by the
    route whose prefix matches its path, else 404."""

    host: str = ""
    port: int = 0
    received: list[Received] = field(default_factory=list)
    scripts: dict[str, list[Reply]] = field(default_factory=dict)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    handler_errors: list[str] = field(default_factory=list)
    routes: dict[str, Route] = field(default_factory=dict)

    def url(self, path: str = "") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        with self.lock:
            self.scripts.setdefault(path, []).extend(replies)

    def to(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def next_reply(self, request: Received) -> Reply:
        with self.lock:
            self.received.append(request)
            queue = self.scripts.get(request.path)
            return queue.pop(0) if queue else Reply()

    def route(self, prefix: str, answer: Route) -> None:
        """GETs whose path starts with `prefix` are answered by `answer` (the longest matching prefix wins)."""
        with self.lock:
            self.routes[prefix] = answer

    def gets(self, route: str) -> list[Received]:
        """The GETs received for `route` (the path without its query), in order."""
        with self.lock:
            return [r for r in self.received if r.method == "GET" and r.route == route]

    def answer_get(self, request: Received) -> Reply:
        with self.lock:
            self.received.append(request)
            queue = self.scripts.get(request.route)
            if queue:
                return queue.pop(0)
            matching = sorted((p for p in self.routes if request.route.startswith(p)), key=len, reverse=True)
            answer = self.routes[matching[0]] if matching else None
        return answer(request) if answer else Reply(404, b'{"message": "no such route"}')


def _handler(state: AlertServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            request = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            self._reply(state.next_reply(request))

        def do_GET(self) -> None:
            request = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, b"")
            self._reply(state.answer_get(request))

        def _reply(self, reply: Reply) -> None:
            if reply.hold:
                state.release.wait(timeout=30)
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: the test asserts on what was received

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: AlertServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A held reply's client has gone (it timed out): writing to it fails, which is expected; keep the note.
        import sys

        self.state.handler_errors.append(repr(sys.exc_info()[1]))


@contextmanager
def alert_server() -> Iterator[AlertServer]:
    state = AlertServer()
    server = _Server(("127.0.0.1", 0), _handler(state))
    server.state = state
    state.host, state.port = str(server.server_address[0]), int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="alert-server",
                              daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --- evidence records ---------------------------------------------------------------------------------------

def check(check: str, subject: str, passed: bool, message: str, observed: Any = None, expected: Any = None
          ) -> dict[str, Any]:
    return {"check": check, "subject": subject, "passed": passed, "observed": observed, "expected": expected,
            "message": message}


PASSING_CHECKS = [
    check("artifact", "saas-20261101T020000Z.dump", True, "saas-20261101T020000Z.dump: sha256 matches the manifest"),
    check("restore", "restore", True, "pg_restore exited 0 with no errors", "exit 0, 0 errors", "exit 0, no errors"),
    check("row_count", "public.users", True, "400 rows", 400, 400),
]


def store(name: str = "saas", status: str = "passed", *, checks: list[dict[str, Any]] | None = None,
          error: dict[str, str] | None = None, rto: float | None = 4.126, rto_target: float = 900.0,
          rpo: float | None = 187200.0, rpo_target: float = 2592000.0, kind: str = "postgres",
          suite: str = "rds") -> dict[str, Any]:
    phases = {} if rto is None else {"fetch": 0.001, "provision": 2.88, "restore": 1.136, "verify": 0.109,
                                     "teardown": 0.204}
    return {
        "name": name, "kind": kind, "suite": suite, "status": status,
        "artifact": {"path": f"/backups/{name}-20261101T020000Z.dump", "sha256": "25" * 32, "bytes": 359263,
                     "created": "2026-11-01T02:00:00Z", "modified": "2026-11-01T02:00:01Z"},
        "sandbox": {"type": "local", "engine": "postgresql", "version": "18.6"},
        "rto": {"seconds": rto, "target_seconds": rto_target, "phases": phases},
        "rpo": {"seconds": rpo, "target_seconds": rpo_target},
        "checks": list(PASSING_CHECKS if checks is None else checks),
        "error": error,
    }


def failing_store(name: str = "saas") -> dict[str, Any]:
    """Two failed checks (a changed table, an assertion) among passing ones."""
    return store(name, "failed", checks=[
        *PASSING_CHECKS,
        check("checksum", "public.users", False, "checksum differs: restored 0x1f, expected 0x2e; differs in id "
              "1493..1515 (23 rows restored, 23 captured)", "0x1f", "0x2e"),
        check("assertion", "no orphan invoices", False, "returned 3, expected 0", 3, 0),
        check("rto", "rto", True, "restored in 4.13s, target 15m00s", 4.126, 900.0),
    ])


def evidence(*stores: dict[str, Any], run_id: str = RUN_ID, started: str = "2026-11-03T06:17:00.123456Z",
             finished: str = "2026-11-03T06:19:30.5Z") -> dict[str, Any]:
    statuses = {s["status"] for s in stores}
    status = "error" if "error" in statuses else "failed" if "failed" in statuses else "passed"
    return {
        "schema_version": 2,
        "run": {"id": run_id, "started": started, "finished": finished, "tool_version": "0.1.0",
                "git_commit": "178100d70ac155a77b2fc2b1ae209c7fafb91c07", "host": "runner-1", "status": status},
        "stores": list(stores),
        "chain": {"sequence": 1, "previous": None, "signature": None},
    }


def write_run(reports: Path, record: dict[str, Any]) -> Path:
    """reports/YYYY-MM/<run-id>/evidence.json, as a run lays it out; returns the run directory."""
    run_id = str(record["run"]["id"])
    directory = reports / f"{run_id[:4]}-{run_id[4:6]}" / run_id
    directory.mkdir(parents=True)
    (directory / "evidence.json").write_text(json.dumps(record, indent=2))
    return directory
