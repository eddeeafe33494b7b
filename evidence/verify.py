"""Verifying an evidence package: the signature over manifest.json, then every file against the
manifest; each problem names the file (changed, removed, added) or the signature.

Fails closed: a package is `ok` only when it is intact *and* signed by a key the caller trusts
(a public key, a keyring, or a fingerprint of the signer's key). A package that is merely
self-consistent (signed by the key it names) is `intact` but not `ok`: anyone can re-sign an
altered package with a key of their own."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidence.manifest import MANIFEST, SIGNATURE, sha256_file
from evidence.signing import PublicKey
from graph.errors import ConfigError


@dataclass
class Verification:
    """Outcome of `verify_package`. `problems` name a changed, removed or added file or the
    signature; `intact`: no problem; `ok`: intact and signed by a key the caller trusts."""

    path: Path
    problems: list[str] = field(default_factory=list)
    key_id: str | None = None
    trusted_key: bool = False  # the signature was checked with a key the caller trusts
    manifest: dict[str, Any] | None = None

    @property
    def intact(self) -> bool:
        """Self-consistent: every file matches the manifest and the signature holds for the key used."""
        return not self.problems

    @property
    def ok(self) -> bool:
        """Intact and signed by a trusted key: the only outcome an officer may call VALID."""
        return self.intact and self.trusted_key


@dataclass(frozen=True)
class Trust:
    """The keys a verifier trusts: public keys (from --public-key or a keyring file) and
    fingerprints of keys (hex sha256 of the 32 raw key bytes, at least the 16 digits of a key id)."""

    keys: tuple[PublicKey, ...] = ()
    fingerprints: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for fp in self.fingerprints:
            if not re.fullmatch(r"[0-9a-f]{16,64}", fp):
                raise ConfigError(
                    f"fingerprint {fp[:70]!r}: expected 16 to 64 lower-case hex digits (the key id or the "
                    "full sha256 fingerprint that `crumbgraph keys show --json` prints)"
                )

    @property
    def empty(self) -> bool:
        return not self.keys and not self.fingerprints

    def trusts(self, key: PublicKey) -> bool:
        full = key.fingerprint
        return any(k.raw == key.raw for k in self.keys) or any(full.startswith(fp) for fp in self.fingerprints)


def read_keyring(path: Path) -> tuple[PublicKey, ...]:
    """A keyring file: one public key per line (base64 of the raw 32 bytes, as `keys show` prints
    it), optionally followed by a comment; blank lines and lines starting with `#` are skipped."""
    keys = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"keyring {path}: cannot read it ({type(exc).__name__})") from None
    for lineno, line in enumerate(lines, start=1):
        token = line.split("#", 1)[0].strip().split(maxsplit=1)
        if not token:
            continue
        try:
            keys.append(PublicKey.from_text(token[0]))
        except ConfigError as exc:
            raise ConfigError(f"keyring {path}, line {lineno}: {exc}") from None
    if not keys:
        raise ConfigError(f"keyring {path}: holds no public key")
    return tuple(keys)


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


def _check_signature(body: bytes, sig_path: Path, trust: Trust, embedded: PublicKey | None, v: Verification) -> None:
    """The signature over manifest.json: with the embedded key when the caller trusts it, else with
    the first trusted key (naming the untrusted signer); with no trust at all, with the embedded key
    only, which proves self-consistency and never makes the package `ok`."""
    if embedded is not None and (trust.empty or trust.trusts(embedded)):
        key: PublicKey | None = embedded
    else:
        key = trust.keys[0] if trust.keys else None
    v.key_id = key.key_id if key else (embedded.key_id if embedded else None)
    v.trusted_key = key is not None and trust.trusts(key)
    if not sig_path.exists():
        v.problems.append(f"{SIGNATURE}: removed (the package is unsigned)")
        return
    if key is None:
        if embedded is None:
            v.problems.append(f"signature: no public key to check {SIGNATURE} with")
        else:
            v.problems.append(f"signature: signer {embedded.key_id} is not a trusted key (fingerprint does not match)")
        return
    sig = _read_signature(sig_path)
    if len(sig) != 64:
        v.problems.append(f"{SIGNATURE}: changed (not an Ed25519 signature)")
    elif not key.verify(body, sig):
        if v.trusted_key and embedded is not None and embedded.raw != key.raw:
            v.problems.append(
                f"signature: not made by the trusted key {key.key_id} (the manifest names signer {embedded.key_id})"
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


def verify_package(path: Path, trust: Trust | PublicKey | None = None) -> Verification:
    """Check a package: the signature over manifest.json, then every file's sha256; files changed,
    missing or added are each named. `trust` is what the caller trusts (a `Trust`, or one
    `PublicKey`); without it the package can at best be `intact`, never `ok`. Never raises for a
    tampered package: the problems are the answer."""
    if isinstance(trust, PublicKey):
        trust = Trust(keys=(trust,))
    trust = trust or Trust()
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
    _check_signature(body, path / SIGNATURE, trust, _embedded_key(v.manifest), v)
    if v.manifest is not None:
        _check_files(path, v.manifest["files"], v)
    return v
