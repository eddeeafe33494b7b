"""The evidence commands end to end: `keys init|show`, `export`, `verify` (hand-made run, synthetic)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import build_app
from casework import open_casework
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
    code, out = invoke("verify", str(pkg))
    assert code == 0 and out.startswith("VALID: 5 files") and "officer-x" in out
    code, out = invoke("verify", str(pkg), "--public-key", pub)
    assert code == 0

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
