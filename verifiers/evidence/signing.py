"""Optional Ed25519 signatures: who sealed a run, checkable by anyone holding the public key.

The signature covers the run's SHA256SUMS (which covers every file and, through evidence.json, the link to
the previous run). It is written to SHA256SUMS.sig as canonical JSON, so any changed byte is detected, and
evidence.json names the signing key's id so that a deleted signature is detected too.
Keys are PEM files: `openssl genpkey -algorithm ed25519 -out signing.pem` and
`openssl pkey -in signing.pem -pubout -out signing.pub.pem`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from verifiers.atomic import write_text_atomically
from verifiers.errors import EvidenceError
from verifiers.evidence.defaults import KEY_ENV

SIGNATURE = "SHA256SUMS.sig"
SIGNED_FILE = "SHA256SUMS"
ALGORITHM = "ed25519"
PublicKey = Ed25519PublicKey
PrivateKey = Ed25519PrivateKey
_KEY_HINT = "use an unencrypted Ed25519 PEM key: openssl genpkey -algorithm ed25519 -out signing.pem"


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise EvidenceError(f"{path}: cannot read the {what}: {exc.strerror}",
                            hint=f"check the path given with --signing-key / {KEY_ENV}") from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    data = _read(path, "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise EvidenceError(f"{path}: the signing key is encrypted", hint=_KEY_HINT) from None
    except (ValueError, UnsupportedAlgorithm):
        raise EvidenceError(f"{path}: not a PEM private key", hint=_KEY_HINT) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise EvidenceError(f"{path}: the signing key is not an Ed25519 key", hint=_KEY_HINT)
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A public key PEM, or the public half of a private key PEM."""
    data = _read(path, "public key")
    if b"PRIVATE KEY" in data:
        return load_private_key(path).public_key()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise EvidenceError(f"{path}: not a PEM public key",
                            hint="export it with: openssl pkey -in signing.pem -pubout -out signing.pub.pem") from None
    if not isinstance(key, Ed25519PublicKey):
        raise EvidenceError(f"{path}: the public key is not an Ed25519 key", hint=_KEY_HINT)
    return key


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """The key's fingerprint: sha256 of its 32 raw bytes."""
    return hashlib.sha256(_raw(key)).hexdigest()


def signature_info(key: Ed25519PrivateKey) -> dict[str, str]:
    """What evidence.json records about the signature it will get."""
    return {"algorithm": ALGORITHM, "key_id": key_id(key.public_key())}


def _canonical(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n"


def sign_run(directory: Path, key: Ed25519PrivateKey) -> Path:
    """Sign the run's SHA256SUMS (written by then); returns the signature file."""
    path = directory / SIGNATURE
    write_text_atomically(path, signature_document((directory / SIGNED_FILE).read_bytes(), SIGNED_FILE, key))
    return path


def signature_document(signed: bytes, signed_file: str, key: Ed25519PrivateKey) -> str:
    """The canonical JSON signature of `signed` (the bytes of `signed_file`) by `key`."""
    public = key.public_key()
    document = {
        "algorithm": ALGORITHM,
        "signed_file": signed_file,
        "signed_sha256": hashlib.sha256(signed).hexdigest(),
        "key_id": key_id(public),
        "public_key": base64.b64encode(_raw(public)).decode(),
        "signature": base64.b64encode(key.sign(signed)).decode(),
    }
    return _canonical(document)


def check_signature(directory: Path, *, expected_key_id: str | None, trusted: Ed25519PublicKey | None) -> list[str]:
    """Problems with a run's signature. Without a trusted key a signature is checked against the key it names
    (proving the run is unchanged since it was signed, not who signed it); with one, every run must be signed
    by that key."""
    path = directory / SIGNATURE
    if not path.is_file():
        if expected_key_id:
            return [f"missing: evidence.json says the run was signed by key {expected_key_id[:16]}…; the "
                    "signature was deleted"]
        if trusted is not None:
            return [f"missing: the run is not signed, and verification was given a key ({key_id(trusted)[:16]}…) "
                    "so every run must be signed by it"]
        return []
    signed_path = directory / SIGNED_FILE
    signed = signed_path.read_bytes() if signed_path.is_file() else None  # a missing one is reported on its own
    return check_document(path.read_bytes(), signed, SIGNED_FILE, expected_key_id=expected_key_id, trusted=trusted)


def check_document(raw: bytes, signed: bytes | None, signed_file: str, *, expected_key_id: str | None,
                   trusted: Ed25519PublicKey | None) -> list[str]:
    """Problems with the signature document `raw` of `signed` (the bytes of `signed_file`)."""
    try:
        document = json.loads(raw)
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(document["public_key"], validate=True))
        signature = base64.b64decode(document["signature"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        return ["unreadable: not a restoreproof signature (modified or truncated)"]
    # Base64 leaves spare bits in its last character: a flipped spare bit decodes to the same bytes, so the
    # text must also be the one encoding of what it decodes to.
    if _canonical(document).encode() != raw or any(
            base64.b64encode(base64.b64decode(document[k])).decode() != document[k]
            for k in ("public_key", "signature")):
        return ["modified after signing: not in its canonical form"]
    problems = []
    if document.get("algorithm") != ALGORITHM or document.get("signed_file") != signed_file:
        problems.append(f"modified after signing: expected an {ALGORITHM} signature of {signed_file}")
    if document.get("key_id") != key_id(public):
        problems.append("modified after signing: its key_id does not match its public key")
    if expected_key_id and key_id(public) != expected_key_id:
        problems.append(f"signed by key {key_id(public)[:16]}…, but evidence.json names key {expected_key_id[:16]}…")
    if trusted is not None and key_id(public) != key_id(trusted):
        problems.append(f"signed by key {key_id(public)[:16]}…, not by the trusted key {key_id(trusted)[:16]}…")
    if signed is None:
        return problems
    if document.get("signed_sha256") != hashlib.sha256(signed).hexdigest():
        problems.append(f"does not match {signed_file}: one of the two was modified after signing")
    try:
        public.verify(signature, signed)
    except InvalidSignature:
        problems.append(f"invalid: the signature does not verify over {signed_file} with key {key_id(public)[:16]}…")
    return problems
