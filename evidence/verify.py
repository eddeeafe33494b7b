"""Verifying an evidence package: the signature over manifest.json, then every file against the
manifest; each problem names the file (changed, removed, added) or the signature."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidence.manifest import MANIFEST, SIGNATURE, sha256_file
from evidence.signing import PublicKey
from graph.errors import ConfigError


@dataclass
class Verification:
    """Outcome of `verify_package`: ok, or the problems, each naming a file or the signature."""

    path: Path
    problems: list[str] = field(default_factory=list)
    key_id: str | None = None
    trusted_key: bool = False  # checked against a key the caller trusts, not only the embedded one
    manifest: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _read_manifest(body: bytes, v: Verification) -> dict[str, Any] | None:
    """manifest.json parsed, or None (with the problem noted) if it is not a readable manifest."""
    try:
        manifest = json.loads(body)
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
            raise ValueError("no files table")
    except (ValueError, UnicodeDecodeError) as exc:
        v.problems.append(f"{MANIFEST}: changed (not a readable manifest: {exc})")
        return None
    return manifest


def _embedded_key(manifest: dict[str, Any] | None) -> PublicKey | None:
    """The signer's key the manifest names (proves self-consistency only), if it parses."""
    if manifest is None:
        return None
    try:
        return PublicKey.from_text(str(manifest.get("signer", {}).get("public_key", "")))
    except ConfigError:
        return None


def _read_signature(sig_path: Path) -> bytes:
    """The raw signature, or b"" unless manifest.sig is exactly its one canonical spelling
    (base64 and a newline: any changed byte is a change)."""
    raw = sig_path.read_bytes()
    try:
        sig = base64.b64decode(raw.rstrip(b"\n"), validate=True)
    except (binascii.Error, ValueError):
        sig = b""
    if raw != base64.b64encode(sig) + b"\n":
        sig = b""
    return sig


def _check_signature(
    body: bytes, sig_path: Path, public_key: PublicKey | None, embedded: PublicKey | None, v: Verification
) -> None:
    """The signature over manifest.json with the trusted key (or, weaker, the embedded one)."""
    key = public_key or embedded
    v.trusted_key = public_key is not None
    v.key_id = key.key_id if key else None
    if not sig_path.exists():
        v.problems.append(f"{SIGNATURE}: removed (the package is unsigned)")
        return
    if key is None:
        v.problems.append(f"signature: no public key to check {SIGNATURE} with")
        return
    sig = _read_signature(sig_path)
    if len(sig) != 64:
        v.problems.append(f"{SIGNATURE}: changed (not an Ed25519 signature)")
    elif not key.verify(body, sig):
        if public_key is not None and embedded is not None and embedded.raw != public_key.raw:
            v.problems.append(
                f"signature: not made by the trusted key {public_key.key_id} "
                f"(the manifest names signer {embedded.key_id})"
            )
        else:
            v.problems.append(f"signature: fails for key {key.key_id}: {MANIFEST} or {SIGNATURE} changed")


def _check_files(path: Path, files: dict[str, Any], v: Verification) -> None:
    """Every file the manifest lists is there with its sha256; no file it does not list."""
    for name in sorted(files):
        p = path / name
        if not p.is_file():
            v.problems.append(f"{name}: removed")
        elif sha256_file(p) != files[name].get("sha256"):
            v.problems.append(f"{name}: changed (sha256 differs from the manifest)")
    extra = sorted(
        str(p.relative_to(path))
        for p in path.rglob("*")
        if p.is_file() and p.name not in (MANIFEST, SIGNATURE) and str(p.relative_to(path)) not in files
    )
    v.problems.extend(f"{name}: added (not in the manifest)" for name in extra)


def verify_package(path: Path, public_key: PublicKey | None = None) -> Verification:
    """Check a package: the signature over manifest.json (with `public_key`, or — weaker — with
    the key the manifest names), then every file's sha256; files changed, missing or added are
    each named. Never raises for a tampered package: the problems are the answer."""
    path = Path(path)
    v = Verification(path)
    if not path.is_dir():
        v.problems.append(f"{path}: not a package directory")
        return v
    man_path = path / MANIFEST
    if not man_path.exists():
        v.problems.append(f"{MANIFEST}: removed (nothing can be checked without it)")
        return v
    body = man_path.read_bytes()
    v.manifest = _read_manifest(body, v)
    _check_signature(body, path / SIGNATURE, public_key, _embedded_key(v.manifest), v)
    if v.manifest is not None:
        _check_files(path, v.manifest["files"], v)
    return v
