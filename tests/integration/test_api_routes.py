"""What the API answers, over both stores: an investigator's session (runs, pathways by
content/cluster/account with cursors, accounts, neighbourhoods), cases and sharing, the
auditor's pseudonymised view, problem details, limits, and the audit trail of it all."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from casework import STATE_FILE
from tests.api_support import app_for, make_env, seeded_store, store_params

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module", params=store_params())
def api(request, tmp_path_factory):
    with seeded_store(request, tmp_path_factory, "routes") as (_, env, store):
        app = app_for(env, store)
        with TestClient(app) as client:
            yield env, client, app
    store.close()


def _get(api, who, path, **kw):
    env, client, _ = api
    return client.get(path, headers=env.auth(who), **kw)


def test_pathways_by_source_content_sorted_and_paged(api):
    env, p = api[0], api[0].prefix
    first = _get(api, "investigator", f"/runs/{env.run_id}/pathways", params={"source_id": f"{p}c1", "limit": 1})
    assert first.status_code == 200
    body = first.json()
    assert [x["pathway_id"] for x in body["items"]] == [f"{p}p1"] and body["total"] == 2
    second = _get(
        api,
        "investigator",
        f"/runs/{env.run_id}/pathways",
        params={"source_id": f"{p}c1", "limit": 1, "cursor": body["next_cursor"]},
    ).json()
    assert [x["pathway_id"] for x in second["items"]] == [f"{p}p2"] and second["next_cursor"] is None
    by_cluster = _get(api, "investigator", f"/runs/{env.run_id}/pathways", params={"cluster_id": f"{p}k1"}).json()
    assert [x["score"] for x in by_cluster["items"]] == [0.9, 0.8, 0.7]
    by_account = _get(api, "investigator", f"/runs/{env.run_id}/pathways", params={"account_id": f"{p}a4"}).json()
    assert [x["pathway_id"] for x in by_account["items"]] == [f"{p}p3"]


def test_flagged_clusters_and_one_pathway(api):
    env, p = api[0], api[0].prefix
    flagged = _get(api, "investigator", f"/runs/{env.run_id}/flagged-accounts").json()["items"]
    assert [(a["account_id"], a["role"]) for a in flagged] == [
        (f"{p}a2", "bridge"),
        (f"{p}a3", "cluster_member"),
        (f"{p}a4", "cluster_member"),
    ]
    bridges = _get(api, "investigator", f"/runs/{env.run_id}/flagged-accounts", params={"role": "bridge"}).json()
    assert bridges["total"] == 1
    cluster = _get(api, "investigator", f"/runs/{env.run_id}/clusters/{p}k1").json()
    assert (cluster["accounts"], cluster["entry_pathways"]) == ([f"{p}a3", f"{p}a4"], 3)
    one = _get(api, "investigator", f"/runs/{env.run_id}/pathways/{p}p3").json()
    assert one["edges"] == ["MENTIONS", "FOLLOWS", "FOLLOWS"]


def test_account_view_and_pathways_through_it(api):
    env, p = api[0], api[0].prefix
    acct = _get(api, "investigator", f"/accounts/{p}a3", params={"run_id": env.run_id}).json()
    assert acct["properties"]["age_band"] == "adult"
    assert (acct["flag"]["role"], acct["clusters"], acct["pathway_count"]) == ("cluster_member", [f"{p}k1"], 2)
    bridge = _get(api, "investigator", f"/accounts/{p}a2/pathways", params={"run_id": env.run_id}).json()
    assert [x["pathway_id"] for x in bridge["items"]] == [f"{p}p1", f"{p}p2", f"{p}p3"]
    assert _get(api, "investigator", f"/accounts/{p}nobody").status_code == 404


def test_neighbourhood_is_bounded(api):
    p = api[0].prefix
    one = _get(api, "investigator", f"/accounts/{p}a2/neighbourhood", params={"hops": 1}).json()
    assert {(n["kind"], n["id"]) for n in one["nodes"]} == {
        ("account", f"{p}a2"),
        ("account", f"{p}a3"),
        ("content", f"{p}c2"),
        ("content", f"{p}c5"),
        ("url", f"https://invite.example/{p}x"),
    }
    assert ("account", f"{p}a2", "FOLLOWS", "account", f"{p}a3") in {
        (e["src_kind"], e["src_id"], e["type"], e["dst_kind"], e["dst_id"]) for e in one["edges"]
    }
    capped = _get(api, "investigator", f"/accounts/{p}a2/neighbourhood", params={"hops": 3, "limit": 2}).json()
    assert len(capped["nodes"]) == 2 and capped["truncated"] is True
    too_far = _get(api, "investigator", f"/accounts/{p}a2/neighbourhood", params={"hops": 9})
    assert too_far.status_code == 422 and too_far.headers["content-type"] == PROBLEM


def test_problem_details(api):
    env = api[0]
    bad_cursor = _get(api, "investigator", f"/runs/{env.run_id}/pathways", params={"cursor": "bm9wZQ"})
    assert bad_cursor.status_code == 400 and bad_cursor.headers["content-type"] == PROBLEM
    missing = _get(api, "investigator", "/runs/no-such-run/pathways")
    assert missing.status_code == 404
    assert set(missing.json()) >= {"type", "title", "status", "detail"} and "Traceback" not in missing.text
    wrong_key = api[1].get("/me", headers={"Authorization": "Bearer cg_0000000000000000_" + "x" * 43})
    assert wrong_key.status_code == 401 and wrong_key.headers["www-authenticate"].startswith("Bearer")


def test_case_workflow_and_sharing(api):
    env, client, _ = api
    inv = env.auth("investigator")
    case = client.post(
        "/cases",
        headers=inv,
        json={
            "title": "bridge",
            "note": "from flagged table",
            "run_id": env.run_id,
            "items": [{"kind": "account", "id": f"{env.prefix}a2"}, {"kind": "pathway", "id": f"{env.prefix}p1"}],
        },
    )
    assert case.status_code == 201
    cid = case.json()["case_id"]
    assert (
        client.patch(f"/cases/{cid}", headers=inv, json={"status": "confirmed", "note": "too early"}).status_code == 409
    )
    assert client.patch(f"/cases/{cid}", headers=inv, json={"status": "in_progress"}).status_code == 422  # no note
    moved = client.patch(
        f"/cases/{cid}", headers=inv, json={"status": "in_progress", "note": "taking it", "assignee": "investigator"}
    )
    assert moved.json()["status"] == "in_progress" and moved.json()["assignee"] == "investigator"
    assert (
        client.post(f"/cases/{cid}/shares", headers=inv, json={"user_name": "le2", "note": "referral"}).status_code
        == 200
    )
    # le2 sees this case and nothing else; the other officer sees neither it nor that it exists
    le2_cases = client.get("/cases", headers=env.auth("le2")).json()["items"]
    assert cid in [c["case_id"] for c in le2_cases]
    assert all("le2" in c["shared_with"] for c in le2_cases)
    assert client.get(f"/cases/{cid}", headers=env.auth("law_enforcement")).status_code == 404
    assert cid not in [c["case_id"] for c in client.get("/cases", headers=env.auth("law_enforcement")).json()["items"]]
    done = client.patch(f"/cases/{cid}", headers=inv, json={"status": "confirmed", "note": "confirmed"})
    assert done.status_code == 200
    history = client.get(f"/cases/{cid}/history", headers=env.auth("le2")).json()["items"]
    assert [h["action"] for h in history] == ["created", "status", "assignee", "shared", "status"]
    assert all(h["note"] for h in history)


def test_auditor_sees_pseudonyms_not_account_ids(api):
    env, client, _ = api
    p = env.prefix
    _get(api, "investigator", f"/accounts/{p}a2", params={"run_id": env.run_id})
    results = _get(api, "auditor", f"/runs/{env.run_id}/results", params={"section": "flagged_accounts"})
    assert results.status_code == 200
    assert f"{p}a2" not in results.text and results.json()["counts"]["pathways"] == 3
    assert all(a["account_id"].startswith("acct_") for a in results.json()["items"])
    audit = _get(api, "auditor", "/audit", params={"limit": 1000}).json()["items"]
    assert any(e["route"] == "/accounts/{account_id}" for e in audit)
    assert f"{p}a2" not in str(audit)
    assert _get(api, "auditor", "/audit/verify").json()["ok"] is True


def test_audit_log_records_requests_but_never_keys(api):
    env, client, app = api
    _get(api, "investigator", f"/runs/{env.run_id}/pathways", params={"source_id": f"{env.prefix}c1"})
    client.get("/users", headers=env.auth("investigator"))  # denied: logged too
    client.get("/runs")  # no key: logged too
    entries = app.state.services.audit.entries(limit=100_000)
    last = entries[-3:]
    assert [(e["user_name"], e["route"], e["status"]) for e in last] == [
        ("investigator", "/runs/{run_id}/pathways", 200),
        ("investigator", "/users", 403),
        (None, "/runs", 401),
    ]
    assert last[0]["result_count"] == 2 and last[0]["params"]["query"] == {"source_id": f"{env.prefix}c1"}
    path = env.settings.state_dir / STATE_FILE
    raw = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    raw += wal.read_bytes() if wal.exists() else b""
    for key in env.keys.values():
        assert key.encode() not in raw and key.split("_", 2)[2].encode() not in raw


def test_body_size_limit(api):
    env, client, _ = api
    big = client.post(
        "/cases",
        headers=env.auth("investigator"),
        json={"title": "t", "note": "x" * (env.settings.api_max_body_bytes + 1)},
    )
    assert big.status_code == 413 and big.headers["content-type"] == PROBLEM


def test_revoked_key_is_refused_at_once(api):
    env, client, _ = api
    added = client.post(
        "/users", headers=env.auth("admin"), json={"name": f"tmp{uuid.uuid4().hex[:6]}", "role": "investigator"}
    ).json()
    key = {"Authorization": f"Bearer {added['api_key']}"}
    assert client.get("/me", headers=key).json()["role"] == "investigator"
    assert client.delete(f"/users/{added['user']['name']}", headers=env.auth("admin")).status_code == 200
    assert client.get("/me", headers=key).status_code == 401


def test_bad_detector_parameters_are_refused_before_queueing(tmp_path):
    env = make_env(tmp_path, "q-")
    from graph.embedded import EmbeddedStore

    with TestClient(app_for(env, EmbeddedStore(":memory:"))) as client:
        resp = client.post("/runs", headers=env.auth("investigator"), json={"params": {"no_such_detector": {"x": 1}}})
        assert resp.status_code == 422 and resp.headers["content-type"] == PROBLEM
        assert "no_such_detector" in resp.json()["detail"]
