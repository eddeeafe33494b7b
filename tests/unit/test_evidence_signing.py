"""The evidence signing key: made once, private key mode 0600, public keys parsed strictly."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from evidence.signing import PRIVATE_KEY_FILE, PublicKey, init_keys, load_public_key, load_signing_key
from graph.errors import ConfigError


def test_keys_init_writes_a_private_key_only_the_owner_can_read(tmp_path: Path) -> None:
    pub = init_keys(tmp_path / "keys")
    priv = tmp_path / "keys" / PRIVATE_KEY_FILE
    assert priv.stat().st_mode & 0o777 == 0o600
    assert load_public_key(tmp_path / "keys") == pub == load_signing_key(tmp_path / "keys").public
    assert PublicKey.from_text(pub.b64) == pub
    with pytest.raises(ConfigError, match="refusing"):
        init_keys(tmp_path / "keys")
    os.chmod(priv, 0o644)
    with pytest.raises(ConfigError, match="too open"):
        load_signing_key(tmp_path / "keys")
    assert init_keys(tmp_path / "keys", force=True) != pub


def test_bad_public_keys_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        PublicKey.from_text("not base64!")
    with pytest.raises(ConfigError, match="32 bytes"):
        PublicKey.from_text(base64.b64encode(b"short").decode())
