"""Evidence packages: every format in one signed directory, byte-identical rebuilds, and
`verify_package` naming each tampered, added or removed file and a foreign key (synthetic data)."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from evidence.package import build_package
from evidence.selection import Selection
from evidence.signing import SigningKey
from evidence.verify import Trust, read_keyring, verify_package
from graph.errors import ConfigError
from tests.evidence_support import T0


def test_package_holds_every_format_and_verifies(package: Path, key: SigningKey) -> None:
    names = {p.name for p in package.iterdir()}
    assert names == {
        "subgraph.json",
        "subgraph.graphml",
        "nodes.csv",
        "edges.csv",
        "case.jsonld",
        "manifest.json",
        "manifest.sig",
    }
    m = json.loads((package / "manifest.json").read_text())
    assert set(m["files"]) == names - {"manifest.json", "manifest.sig"}
    assert (m["run_id"], m["exported_by"], m["exported_at"]) == ("run-test-1", "tester", T0.isoformat())
    assert m["signer"]["key_id"] == key.public.key_id
    v = verify_package(package, key.public)
    assert v.ok and v.trusted_key, v.problems


def test_same_selection_gives_byte_identical_files(run_dir: Path, key: SigningKey, tmp_path: Path) -> None:
    for d in ("x", "y"):
        build_package(run_dir, tmp_path / d, Selection(clusters=("k1",)), key, now=T0)
    for name in ("subgraph.json", "subgraph.graphml", "nodes.csv", "edges.csv", "case.jsonld"):
        assert (tmp_path / "x" / name).read_bytes() == (tmp_path / "y" / name).read_bytes(), name


def test_every_changed_byte_of_every_file_is_named(package: Path, key: SigningKey, tmp_path: Path) -> None:
    files = sorted(p.name for p in package.iterdir())
    for name in files:
        size = (package / name).stat().st_size
        for pos in sorted({0, size // 2, size - 1}):
            copy = tmp_path / f"t-{name}-{pos}"
            shutil.copytree(package, copy)
            data = bytearray((copy / name).read_bytes())
            data[pos] ^= 0x01
            (copy / name).write_bytes(bytes(data))
            v = verify_package(copy, key.public)
            assert not v.ok, (name, pos)
            assert any(name in p for p in v.problems), (name, pos, v.problems)
            if name not in ("manifest.json", "manifest.sig"):
                assert v.problems == [f"{name}: changed (sha256 differs from the manifest)"]


def test_removed_and_added_files_are_named(package: Path, key: SigningKey) -> None:
    (package / "edges.csv").unlink()
    (package / "extra.txt").write_text("not part of the package\n")
    v = verify_package(package, key.public)
    assert v.problems == ["edges.csv: removed", "extra.txt: added (not in the manifest)"]
    (package / "manifest.sig").unlink()
    assert "manifest.sig: removed" in verify_package(package, key.public).problems[0]


def test_another_key_fails(package: Path, key: SigningKey, run_dir: Path, tmp_path: Path) -> None:
    other = SigningKey.generate()
    v = verify_package(package, other.public)
    assert not v.ok and v.problems[0].startswith("signature: not made by the trusted key " + other.public.key_id)
    # a package made and signed with another key (naming that key) fails against the trusted one
    build_package(run_dir, tmp_path / "forged", Selection(pathways=("p1",)), other)
    v = verify_package(tmp_path / "forged", key.public)
    assert [p for p in v.problems if p.startswith("signature:")] and not v.ok
    untrusted = verify_package(tmp_path / "forged")  # self-consistent only: never VALID without trust
    assert untrusted.intact and not untrusted.trusted_key and not untrusted.ok
    # a re-signed manifest with a substituted file hash still fails against the trusted key
    m = json.loads((package / "manifest.json").read_text())
    (package / "nodes.csv").write_text("kind,id\n")
    m["files"]["nodes.csv"]["sha256"] = hashlib.sha256(b"kind,id\n").hexdigest()
    body = json.dumps(m).encode()
    (package / "manifest.json").write_bytes(body)
    (package / "manifest.sig").write_text(base64.b64encode(other.sign(body)).decode() + "\n")
    v = verify_package(package, key.public)
    assert not v.ok and v.problems[0].startswith("signature:")


def test_a_package_without_subgraph_json_is_refused(run_dir: Path, key: SigningKey, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="subgraph.json"):
        build_package(run_dir, tmp_path / "p", Selection(pathways=("p1",)), key, formats=["csv"])
    build_package(run_dir, tmp_path / "q", Selection(pathways=("p1",)), key, formats=["json", "csv"])
    with pytest.raises(ConfigError, match="not empty"):
        build_package(run_dir, tmp_path / "q", Selection(pathways=("p1",)), key)


def test_trust_by_keyring_or_fingerprint_and_never_without(
    package: Path, key: SigningKey, run_dir: Path, tmp_path: Path
) -> None:
    """Issue 11, item 7: verification fails closed."""
    other = SigningKey.generate()
    build_package(run_dir, tmp_path / "forged", Selection(pathways=("p1",)), other)
    ring = tmp_path / "trusted.keys"
    ring.write_text(f"# keys of the exporting organisation\n\n{key.public.b64}  unit-7 2026\n")
    for trust in (
        Trust(keys=read_keyring(ring)),
        Trust(fingerprints=(key.public.fingerprint,)),
        Trust(fingerprints=(key.public.key_id,)),
    ):
        assert verify_package(package, trust).ok
        forged = verify_package(tmp_path / "forged", trust)
        assert not forged.ok and forged.problems[0].startswith("signature:"), forged.problems
    assert not verify_package(package).ok and verify_package(package).intact
    with pytest.raises(ConfigError, match="fingerprint"):
        Trust(fingerprints=("abc",))
    (tmp_path / "empty.keys").write_text("# nothing\n")
    with pytest.raises(ConfigError, match="holds no public key"):
        read_keyring(tmp_path / "empty.keys")


def test_package_is_private_to_its_owner(package: Path) -> None:
    """Issue 11, item 10: directory 0700, every file 0600."""
    assert package.stat().st_mode & 0o777 == 0o700
    assert {p.name: p.stat().st_mode & 0o777 for p in package.iterdir()} == {p.name: 0o600 for p in package.iterdir()}


def test_manifest_records_csv_cell_escaping(package: Path) -> None:
    m = json.loads((package / "manifest.json").read_text())
    (csv_entry,) = [e for e in m["exporters"] if e["name"] == "csv"]
    assert csv_entry["cell_escaping"]["escaped_cells"] == 0 and "OWASP" in csv_entry["cell_escaping"]["rule"]
