"""An in-process fake of the Cloud SQL Admin API (sqladmin v1), served over HTTP on 127.0.0.1, for the
cloudsql-backup tests: no Cloud SQL emulator exists.

Its contract is the real one: every request is checked against the discovery document google-api-python-client
ships (sqladmin.v1.json) — the method is found by HTTP verb and path template, each query parameter must be one
the method (or the API) declares, with its type and enum, required ones present, and a request body is validated
field by field against the method's request schema (an unknown field, a wrong type or enum value fails). A
request that breaks the contract is answered 400 *and* recorded in `contract_errors`, which the fixture asserts is
empty, so a wrong parameter fails the test even where the harness would swallow the error.

Behind the contract, a small model of the service: instances (with labels, state, IPs), backup runs, users,
and operations that stay RUNNING for `pending_polls` polls. Failures are injected per method: an HTTP status
(`fail_http`) or an operation that ends with an error (`fail_operation`).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import googleapiclient
import pytest

from verifiers import cloudsql

DISCOVERY_PATH = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "sqladmin.v1.json"
TEMPORARY_PUBLIC_IP = "203.0.113.10"
TEMPORARY_PRIVATE_IP = "10.8.0.5"
FAST = cloudsql.Polling(initial=0.01, maximum=0.05, multiplier=1.5)


class ContractError(Exception):
    """A request the real API would reject: not a method of sqladmin v1, or parameters/body off its schema."""


@dataclass(frozen=True)
class ApiMethod:
    id: str  # e.g. sql.instances.insert
    http_method: str
    pattern: re.Pattern[str]
    literal_length: int  # a more literal path template wins over one with more parameters
    spec: dict[str, Any]


@dataclass(frozen=True)
class Call:
    method: str  # the discovery method id
    params: dict[str, str]  # path and query parameters (the standard `alt` etc. left out)
    body: dict[str, Any] | None


class Discovery:
    """The shipped discovery document: finds a request's method and validates it."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.schemas: dict[str, Any] = document["schemas"]
        self.standard: dict[str, Any] = document.get("parameters", {})
        self.methods = list(self._methods(document.get("resources", {})))

    @classmethod
    def shipped(cls) -> Discovery:
        return cls(json.loads(DISCOVERY_PATH.read_text()))

    def _methods(self, resources: dict[str, Any]) -> Iterator[ApiMethod]:
        for resource in resources.values():
            for spec in resource.get("methods", {}).values():
                template = spec.get("flatPath") or spec["path"]
                regex = re.sub(r"\{\+?([A-Za-z0-9_]+)\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", template)
                literal = len(re.sub(r"\{[^}]*\}", "", template))
                yield ApiMethod(spec["id"], spec["httpMethod"], re.compile(f"^/{regex}$"), literal, spec)
            yield from self._methods(resource.get("resources", {}))

    def resolve(self, verb: str, path: str, query: dict[str, str], body: Any) -> Call:
        matches = [(m, found) for m in self.methods if m.http_method == verb and (found := m.pattern.match(path))]
        if not matches:
            raise ContractError(f"{verb} {path} is no method of sqladmin v1")
        method, found = max(matches, key=lambda pair: pair[0].literal_length)
        params = dict(found.groupdict())
        declared: dict[str, Any] = method.spec.get("parameters", {})
        for name, value in query.items():
            spec = declared.get(name) or self.standard.get(name)
            if spec is None:
                raise ContractError(f"{method.id}: unknown query parameter {name!r}")
            self._check_scalar(f"{method.id} ?{name}", value, spec, from_query=True)
            if name in declared:
                params[name] = value
        for name, spec in declared.items():
            if spec.get("required") and name not in params:
                raise ContractError(f"{method.id}: required parameter {name!r} missing")
        request = method.spec.get("request")
        if request is None and body not in (None, {}):
            raise ContractError(f"{method.id} takes no request body")
        if request is not None:
            if not isinstance(body, dict):
                raise ContractError(f"{method.id}: the request body must be a JSON object")
            self.check(f"{method.id} body", body, request)
        return Call(method.id, params, body if request is not None else None)

    def check(self, where: str, value: Any, schema: dict[str, Any]) -> None:
        if "$ref" in schema:
            schema = self.schemas[schema["$ref"]]
        kind = schema.get("type")
        if kind == "object":
            if not isinstance(value, dict):
                raise ContractError(f"{where}: expected an object, got {value!r}")
            properties = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            for key, item in value.items():
                if key in properties:
                    self.check(f"{where}.{key}", item, properties[key])
                elif extra is not None:
                    self.check(f"{where}[{key!r}]", item, extra)
                else:
                    raise ContractError(f"{where}: unknown field {key!r} (not in {schema.get('id', 'the schema')})")
        elif kind == "array":
            if not isinstance(value, list):
                raise ContractError(f"{where}: expected an array, got {value!r}")
            for i, item in enumerate(value):
                self.check(f"{where}[{i}]", item, schema["items"])
        else:
            self._check_scalar(where, value, schema, from_query=False)

    @staticmethod
    def _check_scalar(where: str, value: Any, schema: dict[str, Any], *, from_query: bool) -> None:
        kind, fmt = schema.get("type"), schema.get("format")
        if kind == "string" and fmt in ("int64", "uint64"):
            ok = isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value) is not None
        elif kind == "string":
            ok = isinstance(value, str)
        elif kind == "integer":
            ok = (re.fullmatch(r"-?[0-9]+", value) is not None) if from_query and isinstance(value, str) else \
                isinstance(value, int) and not isinstance(value, bool)
        elif kind == "boolean":
            ok = value in ("true", "false") if from_query else isinstance(value, bool)
        elif kind == "number":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        else:
            ok = True  # "any"
        if not ok:
            raise ContractError(f"{where}: {value!r} is not a {kind}{f' ({fmt})' if fmt else ''}")
        if "enum" in schema and value not in schema["enum"]:
            raise ContractError(f"{where}: {value!r} is none of {schema['enum']}")


class ApiFailure(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message
        super().__init__(message)


@dataclass
class FakeSqlAdmin:
    """The service's state and behaviour behind the contract check."""

    project: str = "acme-prod"
    discovery: Discovery = field(default_factory=Discovery.shipped)
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    backup_runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    users: dict[tuple[str, str], str] = field(default_factory=dict)  # (instance, user) -> password
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    contract_errors: list[str] = field(default_factory=list)
    fail_http: dict[str, tuple[int, str]] = field(default_factory=dict)  # method id -> status, message
    fail_operation: dict[str, str] = field(default_factory=dict)  # method id -> the operation's error code
    pending_polls: int = 1  # operations.get answers RUNNING this often before DONE
    slow: dict[str, int] = field(default_factory=dict)  # method id -> its operations' pending polls instead
    page_size: int | None = None  # cap list pages below maxResults (to exercise paging)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # -- the world as a test sets it up --------------------------------------------------------------------
    def add_instance(self, name: str, *, version: str = "POSTGRES_16", region: str = "europe-west1",
                     tier: str = "db-custom-2-7680", labels: dict[str, str] | None = None,
                     created: str = "2026-01-01T00:00:00.000Z", edition: str = "ENTERPRISE",
                     disk_gb: str = "100") -> None:
        self.instances[name] = {
            "kind": "sql#instance", "name": name, "project": self.project, "databaseVersion": version,
            "region": region, "state": "RUNNABLE", "createTime": created,
            "settings": {"tier": tier, "edition": edition, "dataDiskSizeGb": disk_gb,
                         "userLabels": dict(labels or {})},
            "ipAddresses": [{"type": "PRIMARY", "ipAddress": "198.51.100.7"}]}

    def add_backup_run(self, instance: str, run_id: str, *, status: str = "SUCCESSFUL",
                       started: str = "2026-12-01T03:00:00.000Z", backup_type: str = "AUTOMATED") -> None:
        self.backup_runs.setdefault(instance, []).append({
            "kind": "sql#backupRun", "id": run_id, "instance": instance, "status": status, "type": backup_type,
            "windowStartTime": started, "startTime": started, "endTime": started, "location": "eu"})

    def methods_called(self) -> list[str]:
        return [c.method for c in self.calls]

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # -- one HTTP request ----------------------------------------------------------------------------------
    def handle(self, verb: str, target: str, raw_body: bytes) -> tuple[int, dict[str, Any]]:
        url = urlsplit(target)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            body = json.loads(raw_body) if raw_body else None
        except json.JSONDecodeError:
            return self._contract(f"{verb} {url.path}: the body is not JSON")
        with self.lock:
            try:
                call = self.discovery.resolve(verb, url.path, query, body)
            except ContractError as exc:
                return self._contract(str(exc))
            self.calls.append(call)
            try:
                if call.method in self.fail_http:
                    raise ApiFailure(*self.fail_http[call.method])
                if call.params.get("project", self.project) != self.project:
                    raise ApiFailure(403, f"The client is not authorized to make this request "
                                     f"(project {call.params['project']})")
                return 200, self._dispatch(call)
            except ApiFailure as exc:
                return exc.status, {"error": {"code": exc.status, "message": exc.message,
                                              "errors": [{"message": exc.message, "domain": "global"}]}}

    def _contract(self, message: str) -> tuple[int, dict[str, Any]]:
        self.contract_errors.append(message)
        return 400, {"error": {"code": 400, "message": f"contract: {message}"}}

    def _dispatch(self, call: Call) -> dict[str, Any]:
        p, body = call.params, call.body or {}
        if call.method == "sql.instances.get":
            return self._instance(p["instance"])
        if call.method == "sql.instances.list":
            return self._list_instances(p.get("filter", ""), int(p.get("maxResults", "500")), p.get("pageToken"))
        if call.method == "sql.backupRuns.list":
            self._instance(p["instance"])
            runs = self.backup_runs.get(p["instance"], [])
            return self._page(runs, int(p.get("maxResults", "100")), p.get("pageToken"))
        if call.method == "sql.backupRuns.get":
            found = [r for r in self.backup_runs.get(p["instance"], []) if r["id"] == p["id"]]
            if not found:
                raise ApiFailure(404, f"The backup run {p['id']} does not exist.")
            return found[0]
        if call.method == "sql.instances.insert":
            return self._insert(body)
        if call.method == "sql.instances.restoreBackup":
            return self._restore(p["instance"], body)
        if call.method == "sql.users.update":
            self._instance(p["instance"])
            self.users[(p["instance"], p["name"])] = str(body.get("password", ""))
            return self._operation(call.method, "UPDATE_USER", p["instance"])
        if call.method == "sql.instances.delete":
            self._instance(p["instance"])
            self.instances[p["instance"]]["state"] = "PENDING_DELETE"
            return self._operation(call.method, "DELETE", p["instance"], on_done=lambda: self.instances.pop(
                p["instance"], None))
        if call.method == "sql.operations.get":
            return self._poll(p["operation"])
        raise ApiFailure(501, f"the fake does not model {call.method}")

    def _instance(self, name: str) -> dict[str, Any]:
        if name not in self.instances:
            raise ApiFailure(404, f"The Cloud SQL instance does not exist. ({name})")
        return self.instances[name]

    def _page(self, items: list[dict[str, Any]], size: int, token: str | None) -> dict[str, Any]:
        size = min(size, self.page_size or size)
        start = int(token or 0)
        page: dict[str, Any] = {"items": items[start:start + size]}
        if start + size < len(items):
            page["nextPageToken"] = str(start + size)
        return page

    def _list_instances(self, text: str, size: int, token: str | None) -> dict[str, Any]:
        wanted = [term.split(":", 1) for term in text.split()]
        for key, _ in wanted:
            if not key.startswith("settings.userLabels."):
                raise ApiFailure(400, f"the fake filters by labels only, not {key}")
        found = [i for i in self.instances.values()
                 if all(i["settings"]["userLabels"].get(k.removeprefix("settings.userLabels.")) == v
                        for k, v in wanted)]
        return self._page(found, size, token)

    def _insert(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("name", "")
        if name in self.instances:
            raise ApiFailure(409, "The Cloud SQL instance already exists.")
        settings = body.get("settings", {})
        ip = settings.get("ipConfiguration", {})
        address = {"type": "PRIVATE", "ipAddress": TEMPORARY_PRIVATE_IP} if ip.get("privateNetwork") else \
            {"type": "PRIMARY", "ipAddress": TEMPORARY_PUBLIC_IP}
        self.instances[name] = {**body, "kind": "sql#instance", "project": self.project, "state": "PENDING_CREATE",
                                "createTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                                "settings": {**settings, "userLabels": dict(settings.get("userLabels", {}))},
                                "ipAddresses": [address]}
        return self._operation("sql.instances.insert", "CREATE", name,
                               on_done=lambda: self.instances[name].update(state="RUNNABLE"))

    def _restore(self, target: str, body: dict[str, Any]) -> dict[str, Any]:
        self._instance(target)
        context = body.get("restoreBackupContext", {})
        source = context.get("instanceId", "")
        runs = [r for r in self.backup_runs.get(source, []) if r["id"] == context.get("backupRunId")]
        error = None if runs and runs[0]["status"] == "SUCCESSFUL" else "BACKUP_RUN_NOT_FOUND"
        if source not in self.instances or context.get("project") != self.project:
            error = "INSTANCE_NOT_FOUND"
        return self._operation("sql.instances.restoreBackup", "RESTORE_VOLUME", target, error=error)

    def _operation(self, method: str, kind: str, target: str, *, error: str | None = None,
                   on_done: Any = None) -> dict[str, Any]:
        name = f"op-{next(self._ids):04d}-{kind.lower()}"
        error = error or self.fail_operation.get(method)
        operation: dict[str, Any] = {"kind": "sql#operation", "name": name, "operationType": kind,
                                     "status": "PENDING", "targetId": target, "targetProject": self.project,
                                     "_polls": 0, "_error": error, "_on_done": on_done,
                                     "_pending": self.slow.get(method, self.pending_polls)}
        self.operations[name] = operation
        return self._public(operation)

    def _poll(self, name: str) -> dict[str, Any]:
        if name not in self.operations:
            raise ApiFailure(404, f"The operation {name} does not exist.")
        operation = self.operations[name]
        if operation["status"] != "DONE":
            operation["_polls"] += 1
            operation["status"] = "RUNNING"
            if operation["_polls"] > operation["_pending"]:
                operation["status"] = "DONE"
                if operation["_error"]:
                    operation["error"] = {"kind": "sql#operationErrors", "errors": [
                        {"kind": "sql#operationError", "code": operation["_error"],
                         "message": f"injected failure {operation['_error']}"}]}
                elif operation["_on_done"] is not None:
                    operation["_on_done"]()
        return self._public(operation)

    @staticmethod
    def _public(operation: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in operation.items() if not k.startswith("_")}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSqlAdmin

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        status, answer = self.fake.handle(self.command, self.path, self.rfile.read(length) if length else b"")
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # the requests are in `calls`
        return


@dataclass
class SqlAdminServer:
    fake: FakeSqlAdmin
    url: str


@pytest.fixture
def sqladmin(monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlAdminServer]:
    """The fake API on a free port, the harness pointed at it (RESTOREPROOF_SQLADMIN_ENDPOINT) and polling fast.
    Fails the test if any request broke the API's contract."""
    fake = FakeSqlAdmin()
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    monkeypatch.setenv(cloudsql.ENDPOINT_ENV, url)
    monkeypatch.setattr(cloudsql, "POLLING", FAST)
    try:
        yield SqlAdminServer(fake, url)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert fake.contract_errors == [], "requests broke the sqladmin v1 contract"
