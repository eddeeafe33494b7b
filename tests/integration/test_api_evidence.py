"""Evidence through the API: an investigator exports a case, an officer downloads the package and
`verify_package` (with the key from /keys/public) says valid; one changed byte is named; the
export is in the audit log; auditors' re-run reproduces a fresh run. All data is synthetic."""

from __future__ import annotations

import io
import shutil
import stat
import zipfile

import pytest
from fastapi.testclient import TestClient

from api.settings import DEV_NEO4J_PASSWORD, PSEUDONYM_SECRET_FILE, Settings, check_serve_security, pseudonym_key
from evidence.selection import Limits
from evidence.signing import PublicKey, init_keys
from evidence.verify import verify_package
from graph.errors import ConfigError
from tests.api_support import app_for, real_run, seeded_store, store_params


@pytest.fixture(scope="module", params=store_params())
def world(request, tmp_path_factory):
    with seeded_store(request, tmp_path_factory, "evidence", results=False) as (_, env, store):
        run = real_run(env.settings.runs_dir, tmp_path_factory)
        with TestClient(app_for(env, store)) as client:
            yield env, client, run
    store.close()


def _case(env, client, run, share: bool = True) -> str:
    items = [{"kind": "pathway", "id": p["pathway_id"]} for p in run["results"]["pathways"][:2]]
    resp = client.post(
        "/cases",
        headers=env.auth("investigator"),
        json={"title": "export test", "note": "synthetic", "items": items, "run_id": run["run_id"]},
    )
    assert resp.status_code == 201, resp.text
    case_id = resp.json()["case_id"]
    if share:
        assert (
            client.post(
                f"/cases/{case_id}/shares",
                headers=env.auth("investigator"),
                json={"user_name": "law_enforcement", "note": "for the officer"},
            ).status_code
            == 200
        )
    return case_id


def test_without_a_signing_key_the_export_routes_say_run_keys_init(world):
    env, client, run = world
    keys = env.settings.keys_dir
    if keys.exists():
        shutil.rmtree(keys)
    case_id = _case(env, client, run)
    for method, path in (("GET", "/keys/public"), ("POST", f"/cases/{case_id}/exports")):
        resp = client.request(method, path, headers=env.auth("investigator"))
        assert resp.status_code == 409, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        assert "crumbgraph keys init" in resp.json()["detail"]
    init_keys(keys)
    assert client.post(f"/cases/{case_id}/exports", headers=env.auth("investigator")).status_code == 201


def test_export_download_verify_and_tamper(world, tmp_path):
    env, client, run = world
    init_keys(env.settings.keys_dir, force=True)
    case_id = _case(env, client, run)
    resp = client.post(
        f"/cases/{case_id}/exports",
        headers=env.auth("investigator"),
        json={"hops": 1, "max_nodes": 200, "max_edges": 500},
    )
    assert resp.status_code == 201, resp.text
    summary = resp.json()
    export_id = summary["export_id"]
    assert summary["case_id"] == case_id and summary["run_id"] == run["run_id"]
    assert 0 < summary["counts"]["nodes"] <= 200 and summary["counts"]["pathways"] >= 1
    assert summary["limits"]["max_edges"] == 500

    # the officer: manifest, public key, package
    le = env.auth("law_enforcement")
    assert client.get(f"/exports/{export_id}", headers=le).json()["signer"]["key_id"] == summary["signer"]["key_id"]
    key = client.get("/keys/public", headers=le).json()
    assert key["key_id"] == summary["signer"]["key_id"]
    first = client.get(f"/exports/{export_id}/package", headers=le)
    assert first.status_code == 200 and first.headers["content-type"] == "application/zip"
    assert client.get(f"/exports/{export_id}/package", headers=env.auth("investigator")).content == first.content
    zipfile.ZipFile(io.BytesIO(first.content)).extractall(tmp_path)
    pkg = tmp_path / export_id
    trusted = PublicKey.from_text(key["public_key"])
    v = verify_package(pkg, trusted)
    assert v.ok, v.problems
    assert v.trusted_key and set(summary["files"]) <= {p.name for p in pkg.iterdir()}

    # one changed byte is named
    target = pkg / "nodes.csv"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    v = verify_package(pkg, trusted)
    assert not v.ok
    assert any(p.startswith("nodes.csv: changed") for p in v.problems), v.problems

    # every export is in the audit log, with its id
    entries = []
    after = 0
    while True:
        page = client.get("/audit", headers=env.auth("auditor"), params={"after": after, "limit": 1000}).json()
        entries += page["items"]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    made = [e for e in entries if e["route"] == "/cases/{case_id}/exports" and e["status"] == 201]
    assert any(e["params"].get("result", {}).get("export_id") == export_id for e in made)
    fetched = [e for e in entries if e["route"] == "/exports/{export_id}/package"]
    assert [e["user_name"] for e in fetched if e["params"]["path"]["export_id"] == export_id] == [
        "law_enforcement",
        "investigator",
    ]


def test_export_of_a_case_without_a_run_is_refused(world):
    env, client, _ = world
    init_keys(env.settings.keys_dir, force=True)
    resp = client.post(
        "/cases",
        headers=env.auth("investigator"),
        json={"title": "no run", "note": "n", "items": [{"kind": "account", "id": "x"}]},
    )
    resp = client.post(f"/cases/{resp.json()['case_id']}/exports", headers=env.auth("investigator"))
    assert resp.status_code == 409 and "run_id" in resp.json()["detail"]


def test_auditor_rerun_reproduces_a_fresh_run(world):
    env, client, run = world
    resp = client.post(f"/runs/{run['run_id']}/rerun", headers=env.auth("auditor"))
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert report["reproduced"] and report["identical"], report["summary"]
    assert report["summary"][0].startswith(f"run {run['run_id']}: IDENTICAL")
    assert "run_dir" not in report  # no server paths to clients
    assert client.post("/runs/no-such-run/rerun", headers=env.auth("auditor")).status_code == 404
    assert client.post("/runs/..%2F..%2Fetc/rerun", headers=env.auth("auditor")).status_code == 404


def test_export_limits_are_the_evidence_limits(world):
    env, client, run = world
    init_keys(env.settings.keys_dir, force=True)
    case_id = _case(env, client, run)
    for body in ({"hops": 4}, {"max_nodes": 0}, {"max_edges": -1}, {"max_pathways": 10_001}, {"hop": 1}):
        resp = client.post(f"/cases/{case_id}/exports", headers=env.auth("investigator"), json=body)
        assert resp.status_code == 422, (body, resp.text)
    resp = client.post(f"/cases/{case_id}/exports", headers=env.auth("investigator"))
    assert resp.status_code == 201, resp.text
    assert resp.json()["limits"] == Limits().model_dump(mode="json")  # no body: the evidence defaults


def test_auditor_rerun_of_latest_is_the_newest_run(world):
    env, client, run = world
    resp = client.post("/runs/latest/rerun", headers=env.auth("auditor"))
    assert resp.status_code == 200, resp.text
    assert resp.json()["run_id"] == run["run_id"] and resp.json()["reproduced"]


# -- secure defaults ---------------------------------------------------------------------
def test_pseudonym_secret_is_generated_once_private_and_stable(tmp_path):
    s = Settings(state_dir=tmp_path / "state")
    assert s.pseudonym_secret is None
    first = pseudonym_key(s)
    path = tmp_path / "state" / PSEUDONYM_SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert pseudonym_key(Settings(state_dir=tmp_path / "state")) == first  # stable per deployment
    assert pseudonym_key(Settings(state_dir=tmp_path / "other")) != first  # differs between deployments
    assert (
        pseudonym_key(Settings(state_dir=tmp_path / "state", pseudonym_secret="set-by-operator")) == b"set-by-operator"
    )
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="too open"):
        pseudonym_key(s)


def test_serve_refuses_the_public_neo4j_password_off_loopback(monkeypatch):
    monkeypatch.delenv("CRUMBGRAPH_NEO4J_PASSWORD", raising=False)  # CI exports its own Neo4j's password
    neo = Settings(store="bolt://db.internal:7687")
    assert neo.neo4j_password.get_secret_value() == DEV_NEO4J_PASSWORD
    with pytest.raises(ConfigError, match="public development password") as exc:
        check_serve_security(neo, "0.0.0.0")
    assert DEV_NEO4J_PASSWORD not in str(exc.value)
    warnings = check_serve_security(neo, "127.0.0.1")
    assert len(warnings) == 1 and DEV_NEO4J_PASSWORD not in warnings[0]
    assert check_serve_security(neo, "::1") and check_serve_security(neo, "localhost")
    assert check_serve_security(Settings(store="bolt://db:7687", neo4j_password="a-real-one"), "0.0.0.0") == []
    assert check_serve_security(Settings(store="embedded:/tmp/x.duckdb"), "0.0.0.0") == []


def test_cli_audit_rerun_is_the_rerun_command(world):
    from typer.testing import CliRunner

    from api.cli import build_app

    env, _, run = world
    runner = CliRunner()
    envvars = {"CRUMBGRAPH_RUNS_DIR": str(env.settings.runs_dir)}
    alias = runner.invoke(build_app(), ["audit", "rerun", run["run_id"]], env=envvars)
    plain = runner.invoke(build_app(), ["rerun", run["run_id"]], env=envvars)
    assert alias.exit_code == plain.exit_code == 0, alias.output
    assert alias.output.splitlines()[0].startswith(f"run {run['run_id']}: IDENTICAL")
    refused = runner.invoke(
        build_app(),
        ["serve", "--host", "0.0.0.0", "--store", "bolt://db.example:7687"],
        env={"CRUMBGRAPH_NEO4J_PASSWORD": DEV_NEO4J_PASSWORD},
    )
    assert isinstance(refused.exception, ConfigError), refused.output  # the entry point maps it to exit code 2
    assert "public development password" in str(refused.exception)
    assert DEV_NEO4J_PASSWORD not in str(refused.exception) + refused.output
