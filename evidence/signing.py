"""Ed25519 signing keys for evidence packages: make a key pair, sign manifest bytes, verify them.

The private key is a PKCS#8 PEM file (mode 0600) under the keys directory; the public key is
exchanged as base64 of its 32 raw bytes, and named by a short key id (sha256 prefix).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from graph.errors import ConfigError

logger = logging.getLogger(__name__)
PRIVATE_KEY_FILE = "evidence-signing.key"
PUBLIC_KEY_FILE = "evidence-signing.pub"
ALGORITHM = "Ed25519"


@dataclass(frozen=True)
class PublicKey:
    """A verification key: raw bytes, with its base64 text and key id."""

    raw: bytes

    @property
    def b64(self) -> str:
        return base64.b64encode(self.raw).decode("ascii")

    @property
    def fingerprint(self) -> str:
        """Hex sha256 of the raw key bytes: what an officer compares over a second channel."""
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def key_id(self) -> str:
        """The first 16 hex digits of the fingerprint."""
        return self.fingerprint[:16]

    @classmethod
    def from_text(cls, text: str) -> PublicKey:
        """Parse base64 of the 32 raw bytes (what `keys show` prints), or a PEM public key."""
        text = text.strip()
        try:
            if text.startswith("-----BEGIN"):
                key = serialization.load_pem_public_key(text.encode())
                if not isinstance(key, Ed25519PublicKey):
                    raise ConfigError("public key: not an Ed25519 key")
                return cls(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
            raw = base64.b64decode(text, validate=True)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"public key: cannot parse {text[:20]!r}...: {exc}") from None
        if len(raw) != 32:
            raise ConfigError(f"public key: expected 32 bytes of Ed25519 key, got {len(raw)}")
        return cls(raw)

    def verify(self, data: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, data)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class SigningKey:
    """A private Ed25519 key loaded from the keys directory."""

    private: Ed25519PrivateKey

    @property
    def public(self) -> PublicKey:
        return PublicKey(
            self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())


def init_keys(keys_dir: Path, *, force: bool = False) -> PublicKey:
    """Create the signing key pair in `keys_dir` (private key mode 0600). ConfigError if one exists
    and not `force` (replacing a key orphans every package signed with it)."""
    keys_dir = Path(keys_dir)
    priv_path = keys_dir / PRIVATE_KEY_FILE
    if priv_path.exists() and not force:
        raise ConfigError(f"{priv_path} exists; refusing to replace the signing key (use --force)")
    keys_dir.mkdir(parents=True, exist_ok=True)
    key = SigningKey.generate()
    pem = key.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = priv_path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # never world-readable, not even briefly
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.chmod(tmp, 0o600)
    os.replace(tmp, priv_path)
    (keys_dir / PUBLIC_KEY_FILE).write_text(key.public.b64 + "\n")
    logger.info("signing key %s created in %s", key.public.key_id, keys_dir)
    return key.public


def load_signing_key(keys_dir: Path) -> SigningKey:
    """The private key from `keys_dir`; ConfigError if missing, unreadable or too open."""
    path = Path(keys_dir) / PRIVATE_KEY_FILE
    if not path.exists():
        raise ConfigError(f"no signing key at {path}: run `crumbgraph keys init`")
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise ConfigError(f"{path}: mode {oct(path.stat().st_mode & 0o777)} is too open; chmod 600 it")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path}: not a PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path}: not an Ed25519 key")
    return SigningKey(key)


def load_public_key(keys_dir: Path) -> PublicKey:
    """The public key of the signing key in `keys_dir` (derived from the private key if the .pub is absent)."""
    pub = Path(keys_dir) / PUBLIC_KEY_FILE
    if pub.exists():
        return PublicKey.from_text(pub.read_text())
    return load_signing_key(keys_dir).public
