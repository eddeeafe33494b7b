"""The package manifest: its file names, format and bytes, and the file digests it records
(shared by building and verifying a package)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

PACKAGE_FORMAT = "crumbgraph-evidence"
PACKAGE_FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The exact bytes of manifest.json (what the signature covers)."""
    return (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def file_table(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """The manifest's `files`: sha256 and size of every file, by name."""
    return {p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size} for p in sorted(paths, key=lambda p: p.name)}
