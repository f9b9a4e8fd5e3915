"""Google Cloud Storage and Azure Blob Storage for the tests: the gcp-storage-emulator package's server in this
process, and Azurite (Microsoft's emulator, npm) as a subprocess, each on a random port on 127.0.0.1.

Azurite is looked for in env RESTOREPROOF_AZURITE, then .cache/azurite (where .ci/run installs it with
`npm install --prefix .cache/azurite azurite`), then PATH; when it is absent the Azure tests fail, saying how
to install it (they are never skipped)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's fixed, publicly documented development key (not a secret): it accepts only this one.
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class GcsEmulator:
    host: str  # for STORAGE_EMULATOR_HOST
    server: object  # gcp_storage_emulator.server.Server: its storage can be damaged on purpose

    def damage(self, bucket: str, name: str, content: bytes) -> None:
        """Replace an object's stored bytes but not its recorded size and checksums: bit rot at rest."""
        self.server._storage._store.write_bytes(f"{bucket}/{name}", content)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Azurite:
    account_url: str

    def connection_string(self, key: str = AZURITE_KEY) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={key};"
                f"BlobEndpoint={self.account_url};")


def azurite_binary() -> str | None:
    configured = os.environ.get("RESTOREPROOF_AZURITE")
    if configured:
        return configured
    cached = REPO / ".cache" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
    if cached.exists():
        return str(cached)
    return shutil.which("azurite-blob")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"azurite exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"azurite did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[GcsEmulator]:
    from gcp_storage_emulator.server import create_server

    server = create_server("127.0.0.1", 0, in_memory=True)
    server.start()
    port = server._api._httpd.server_port
    try:
        yield GcsEmulator(f"http://127.0.0.1:{port}", server)
    finally:
        server.stop()


@pytest.fixture
def gcs(gcs_emulator: GcsEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> GcsEmulator:
    """This test talks to the emulator as a user's run would: through STORAGE_EMULATOR_HOST."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator.host)
    monkeypatch.setenv("RESTOREPROOF_CACHE_DIR", str(tmp_path / "cache"))
    return gcs_emulator


@pytest.fixture(scope="session")
def azurite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    binary = azurite_binary()
    if binary is None:
        pytest.fail("Azurite is not installed: run `npm install --prefix .cache/azurite azurite` (.ci/run does), "
                    "or set RESTOREPROOF_AZURITE to its azurite-blob")
    port = _free_port()
    workdir = tmp_path_factory.mktemp("azurite")
    proc = subprocess.Popen([binary, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
                             "--silent", "--skipApiVersionCheck", "--disableTelemetry"], cwd=workdir,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for_port(port, proc)
        yield Azurite(f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def azurite(azurite_server: Azurite, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Azurite:
    """This test talks to Azurite through AZURE_STORAGE_CONNECTION_STRING, as a user's run would."""
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite_server.connection_string())
    monkeypatch.setenv("RESTOREPROOF_CACHE_DIR", str(tmp_path / "cache"))
    return azurite_server
