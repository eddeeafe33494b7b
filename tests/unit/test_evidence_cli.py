"""The evidence commands end to end: `keys init|show`, `export`, `verify` (hand-made run, synthetic)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import build_app
from casework import open_casework
from evidence.manifest import manifest_bytes
from evidence.signing import SigningKey
from graph.errors import CrumbgraphError
from tests.evidence_support import make_run


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("keys", "runs", "state"):
        monkeypatch.setenv(f"CRUMBGRAPH_{name.upper()}_DIR", str(tmp_path / name))
    make_run(tmp_path / "runs")
    return tmp_path


def invoke(*args: str) -> tuple[int, str]:
    """Run a command; a CrumbgraphError gives its exit code, as `crumbgraph` (api.cli.main) does."""
    res = CliRunner().invoke(build_app(), list(args))
    if isinstance(res.exception, CrumbgraphError):
        return res.exception.exit_code, str(res.exception)
    return res.exit_code, res.output


def test_keys_export_verify_and_tamper(env: Path) -> None:
    code, out = invoke("keys", "init")
    assert code == 0
    pub = out.strip().splitlines()[-1]
    code, out = invoke("keys", "show", "--json")
    assert code == 0 and json.loads(out)["public_key"] == pub
    assert invoke("keys", "init")[0] == 2  # never silently replaced

    pkg = env / "pkg"
    code, out = invoke("export", "run-test-1", "--out", str(pkg), "--pathway", "p1", "--hops", "1", "--by", "officer-x")
    assert code == 0 and "8 nodes, 7 edges, 1 pathways" in out
    code, out = invoke("verify", str(pkg))  # the local signing key is trusted
    assert code == 0 and out.startswith("VALID: 5 files") and "officer-x" in out
    code, out = invoke("verify", str(pkg), "--public-key", pub)
    assert code == 0
    fingerprint = json.loads(invoke("keys", "show", "--json")[1])["fingerprint"]
    assert invoke("verify", str(pkg), "--fingerprint", fingerprint)[0] == 0

    other = SigningKey.generate().public.b64
    code, out = invoke("verify", str(pkg), "--public-key", other)
    assert code == 1 and "FAIL: signature: not made by the trusted key" in out

    (pkg / "edges.csv").write_text("src,dst\n")
    code, out = invoke("verify", str(pkg))
    assert code == 1 and out.strip() == "FAIL: edges.csv: changed (sha256 differs from the manifest)"

    with open_casework(env / "state") as casework:
        entries = casework.audit.entries()
    assert [(e["route"], e["user_name"]) for e in entries] == [("export", "officer-x")]


def test_export_rejects_bad_input(env: Path) -> None:
    assert invoke("keys", "init")[0] == 0
    assert invoke("export", "run-test-1", "--out", str(env / "a"))[0] == 2  # empty selection
    assert invoke("export", "run-test-1", "--out", str(env / "b"), "--pathway", "p1", "--hops", "9")[0] == 2
    assert invoke("export", "run-nope", "--out", str(env / "c"), "--pathway", "p1")[0] == 1  # NotFound
    code, out = invoke("export", "run-test-1", "--out", str(env / "d"), "--account", "zz")
    assert code == 1


def test_verify_without_a_trusted_key_says_unverified(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 11, item 7: an officer without the exporter's key never gets VALID, and a package
    re-signed with another key never verifies VALID, however it is checked."""
    assert invoke("keys", "init")[0] == 0
    pub = invoke("keys", "show")[1].strip().splitlines()[0]
    pkg = env / "pkg"
    assert invoke("export", "run-test-1", "--out", str(pkg), "--pathway", "p1")[0] == 0
    # the officer's machine: no local key
    monkeypatch.setenv("CRUMBGRAPH_KEYS_DIR", str(env / "officer-keys"))
    code, out = invoke("verify", str(pkg))
    assert code == 1 and out.startswith("UNVERIFIED:") and "VALID:" not in out.replace("UNVERIFIED", "")
    # altered and re-signed with the forger's key: self-consistent, still never VALID
    forger = SigningKey.generate()
    manifest = json.loads((pkg / "manifest.json").read_text())
    (pkg / "edges.csv").write_text("src,dst\n")
    manifest["files"]["edges.csv"]["sha256"] = hashlib.sha256(b"src,dst\n").hexdigest()
    manifest["signer"]["public_key"] = forger.public.b64
    manifest["signer"]["key_id"] = forger.public.key_id
    body = manifest_bytes(manifest)
    (pkg / "manifest.json").write_bytes(body)
    (pkg / "manifest.sig").write_text(base64.b64encode(forger.sign(body)).decode() + "\n")
    code, out = invoke("verify", str(pkg))
    assert code == 1 and out.startswith("UNVERIFIED:")
    fingerprint = hashlib.sha256(base64.b64decode(pub)).hexdigest()
    ring = env / "trusted.keys"
    ring.write_text(pub + "\n")
    for trust in (["--public-key", pub], ["--fingerprint", fingerprint], ["--keyring", str(ring)]):
        code, out = invoke("verify", str(pkg), *trust)
        assert code == 1 and out.startswith("FAIL: signature:"), (trust, out)
