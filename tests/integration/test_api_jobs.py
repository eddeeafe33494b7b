"""GET /jobs: the ingest and detector jobs of the server, who started them, their state and
progress; role-checked, audited, and without failure details for auditors."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient

from api.app import create_app
from graph.embedded import EmbeddedStore
from graph.errors import IngestError
from tests.api_support import make_env


def test_every_allowed_role_sees_who_started_what_and_how_far_it_got(tmp_path):
    env = make_env(tmp_path, "j-")
    (tmp_path / "snap").mkdir()
    release = threading.Event()

    def slow_run(store, *, params, runs_dir, on_progress):
        on_progress("clusters", 1, 4)
        release.wait(10)
        return {"run_id": "run-from-job"}

    def bad_ingest(snapshot_dir, store, *, quarantine_dir, progress):
        raise IngestError(f"{snapshot_dir}/accounts.csv row 3 field account_id: a0000001 is not valid")

    app = create_app(env.settings, store=EmbeddedStore(":memory:"), run_fn=slow_run, ingest_fn=bad_ingest)
    with TestClient(app) as client:
        run = client.post("/runs", headers=env.auth("investigator"), json={}).json()
        ingest = client.post("/ingest", headers=env.auth("admin"), json={"snapshot_dir": str(tmp_path / "snap")}).json()
        deadline = time.monotonic() + 10
        while client.get(f"/run-jobs/{run['job_id']}", headers=env.auth("investigator")).json()["progress"] is None:
            assert time.monotonic() < deadline
            time.sleep(0.02)

        listed = client.get("/jobs", headers=env.auth("admin")).json()
        assert [j["job_id"] for j in listed["items"]] == [ingest["job_id"], run["job_id"]]  # newest first
        running = listed["items"][1]
        assert (running["kind"], running["status"], running["submitted_by"]) == ("run", "running", "investigator")
        assert running["progress"] == {"stage": "clusters", "done": 1.0, "total": 4.0, "fraction": 0.25}
        assert listed["running"] == 2  # the ingest waits behind the run (one worker)
        assert "params" not in running and "report" not in running  # server paths stay in /ingest/{id}

        release.set()
        deadline = time.monotonic() + 10
        while client.get("/jobs", headers=env.auth("investigator"), params={"status": "failed"}).json()["items"] == []:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        mine = client.get("/jobs", headers=env.auth("investigator")).json()
        by_id = {j["job_id"]: j for j in mine["items"]}
        assert by_id[run["job_id"]]["status"] == "succeeded" and by_id[run["job_id"]]["run_id"] == "run-from-job"
        assert by_id[ingest["job_id"]]["status"] == "failed" and "a0000001" in by_id[ingest["job_id"]]["error"]
        assert mine["running"] == 0

        only_runs = client.get("/jobs", headers=env.auth("investigator"), params={"kind": "run"}).json()["items"]
        assert [j["job_id"] for j in only_runs] == [run["job_id"]]
        audited = client.get("/jobs", headers=env.auth("auditor")).json()["items"]
        assert {j["job_id"]: j["error"] for j in audited} == {ingest["job_id"]: "failed", run["job_id"]: None}
        assert client.get("/jobs", headers=env.auth("law_enforcement")).status_code == 403
        assert client.get("/jobs", params={"kind": "nope"}, headers=env.auth("admin")).status_code == 422

        entries = [e for e in app.state.services.audit.entries(limit=100_000) if e["route"] == "/jobs"]
        assert [(e["user_name"], e["status"]) for e in entries[-3:]] == [
            ("auditor", 200),
            ("law_enforcement", 403),
            ("admin", 422),
        ]
        assert entries[0]["user_name"] == "admin" and entries[0]["result_count"] == 2
