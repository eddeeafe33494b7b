"""The API as deployed: a real uvicorn server on a loopback port; the full path from a
synthetic snapshot through POST /ingest and POST /runs (the real pipeline and detectors) to
pathways; rate limits; and the `users` / `audit verify` commands on a tampered log."""

from __future__ import annotations

import sqlite3
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import build_app
from casework import STATE_FILE
from graph.embedded import EmbeddedStore
from tests.api_support import app_for, build_graph, make_env, save_results
from tests.live import serving


def test_real_uvicorn_server_on_loopback(tmp_path):
    store = EmbeddedStore(tmp_path / "g.duckdb")
    build_graph(store, "u-")
    env = make_env(tmp_path, "u-")
    save_results(store, "u-", env.run_id)
    try:
        with serving(app_for(env, store), timeout=20) as base:
            assert httpx.get(f"{base}/health").json() == {"status": "ok", "store": "ok"}
            assert httpx.get(f"{base}/runs").status_code == 401
            got = httpx.get(
                f"{base}/runs/latest/pathways", params={"source_id": "u-c1"}, headers=env.auth("investigator")
            )
            assert got.status_code == 200 and [p["pathway_id"] for p in got.json()["items"]] == ["u-p1", "u-p2"]
            big = httpx.post(
                f"{base}/cases",
                headers={**env.auth("investigator"), "content-type": "application/json"},
                content=b"{" + b" " * (env.settings.api_max_body_bytes + 10) + b"}",
            )
            assert big.status_code == 413
    finally:
        store.close()


def test_ingest_then_run_then_pathways_through_the_api(tmp_path):
    from synth import synth

    synth(tmp_path / "snap", accounts=1000, seed=3)
    env = make_env(tmp_path, "e-", store=f"embedded:{tmp_path}/g.duckdb")
    with TestClient(app_for(env, None)) as client:
        job = client.post("/ingest", headers=env.auth("admin"), json={"snapshot_dir": str(tmp_path / "snap")})
        assert job.status_code == 202
        ingest = _wait(client, f"/ingest/{job.json()['job_id']}", env.auth("admin"))
        assert ingest["status"] == "succeeded", ingest
        job = client.post("/runs", headers=env.auth("investigator"), json={})
        run = _wait(client, f"/run-jobs/{job.json()['job_id']}", env.auth("investigator"), timeout=120)
        assert run["status"] == "succeeded", run
        record = client.get(f"/runs/{run['run_id']}", headers=env.auth("auditor")).json()
        assert record["run_id"] == run["run_id"]
        results = client.get(
            "/runs/latest/results", headers=env.auth("investigator"), params={"section": "pathways", "limit": 500}
        ).json()
        assert results["run_id"] == run["run_id"] and results["counts"]["pathways"] == results["total"]
        if results["items"]:  # every pathway is findable by its source content, highest score first
            first = results["items"][0]
            by_source = client.get(
                "/runs/latest/pathways",
                headers=env.auth("investigator"),
                params={"source_id": first["source"]["id"], "limit": 500},
            ).json()["items"]
            assert first["pathway_id"] in [p["pathway_id"] for p in by_source]
            assert [p["score"] for p in by_source] == sorted((p["score"] for p in by_source), reverse=True)


def _wait(client, path, headers, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(path, headers=headers).json()
        if job["status"] in {"succeeded", "failed"} or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def test_rate_limit_answers_429_with_retry_after(tmp_path):
    env = make_env(tmp_path, "l-", api_rate_limit=1.0, api_rate_burst=3)
    with TestClient(app_for(env, EmbeddedStore(":memory:"))) as client:
        codes = [client.get("/me", headers=env.auth("investigator")).status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
        limited = client.get("/me", headers=env.auth("investigator"))
        assert (
            limited.headers["content-type"] == "application/problem+json" and int(limited.headers["retry-after"]) >= 1
        )
        assert client.get("/me", headers=env.auth("auditor")).status_code == 200  # per key


@pytest.mark.parametrize(
    "tamper, named",
    [
        ("UPDATE audit_log SET status = 404 WHERE seq = 3", "entry 3 was edited"),
        ("DELETE FROM audit_log WHERE seq = 3", "entry 3 was deleted"),
        (
            "INSERT INTO audit_log SELECT 99, at, 'mallory', role, method, route, params, status, result_count, "
            "duration_ms, prev_hash, hash FROM audit_log WHERE seq = 2",
            None,
        ),
    ],
)
def test_cli_users_and_audit_verify(tmp_path, monkeypatch, tamper, named):
    monkeypatch.setenv("CRUMBGRAPH_STATE_DIR", str(tmp_path / "state"))
    runner, cli = CliRunner(), build_app()
    added = runner.invoke(cli, ["users", "add", "alice", "--role", "investigator"])
    assert added.exit_code == 0, added.output
    key = added.stdout.strip().splitlines()[-1]
    assert key.startswith("cg_")
    listed = runner.invoke(cli, ["users", "list"])
    assert "alice\tinvestigator" in listed.stdout and key not in listed.stdout
    env = make_env(tmp_path / "x", "c-")
    env.settings = env.settings.model_copy(update={"state_dir": tmp_path / "state"})
    with TestClient(app_for(env, EmbeddedStore(":memory:"))) as client:
        for _ in range(5):
            assert client.get("/me", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert runner.invoke(cli, ["audit", "verify"]).exit_code == 0
    con = sqlite3.connect(tmp_path / "state" / STATE_FILE, isolation_level=None)
    con.execute(tamper)
    if named is None:  # a copy of entry 2 slipped in between 4 and 5 (renumbered), chained to nothing new
        con.execute("UPDATE audit_log SET seq = -seq WHERE seq BETWEEN 5 AND 98")
        con.execute("UPDATE audit_log SET seq = 5 WHERE seq = 99")
        con.execute("UPDATE audit_log SET seq = -seq + 1 WHERE seq < 0")
        named = "entry 5 was inserted"
    con.close()
    result = runner.invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1 and named in result.stdout, result.stdout
    revoked = runner.invoke(cli, ["users", "revoke", "alice"])
    assert revoked.exit_code == 0 and "revoked alice" in revoked.stdout


def test_serve_logs_structured_lines_and_never_its_secrets(tmp_path):
    """`crumbgraph serve` as deployed (its own process): uvicorn's and our records come out as
    key=value lines through the one handler; the secrets in its settings appear nowhere."""
    import os
    import re

    from tests.live import serving_process

    secrets = {"CRUMBGRAPH_PSEUDONYM_SECRET": "pseudo-s3cret-value", "CRUMBGRAPH_NEO4J_PASSWORD": "neo-s3cret-pw"}
    env = {
        **os.environ,
        **secrets,
        "CRUMBGRAPH_STORE": f"embedded:{tmp_path}/g.duckdb",
        "CRUMBGRAPH_STATE_DIR": str(tmp_path / "state"),
        "CRUMBGRAPH_LOG_LEVEL": "debug",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as sink, serving_process(env, log=sink) as (base, _):
        assert httpx.get(f"{base}/me", headers={"Authorization": "Bearer cg_0123456789abcdef_" + "x" * 40}).status_code
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    assert lines and all(re.match(r"^at=\S+ level=[A-Z]+ logger=\S+ msg=", line) for line in lines), lines
    assert any("logger=uvicorn.error" in line for line in lines)
    text = log.read_text()
    assert not any(value in text for value in secrets.values())
