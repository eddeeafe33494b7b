"""The role x route matrix: every role (and no key) against every route, over both stores.
Allowed requests must succeed with their documented status; denied ones get 403 (401 without
a key); and the permission table lists exactly the app's routes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import served_routes
from api.auth import PERMISSIONS, PUBLIC
from tests.api_support import (
    FAST_HASHER,
    app_for,
    real_run,
    seeded_store,
    store_params,
)

WHO = ("investigator", "law_enforcement", "auditor", "admin", None)


@pytest.fixture(scope="module", params=store_params())
def api(request, tmp_path_factory):
    from evidence.signing import init_keys

    with seeded_store(request, tmp_path_factory, "matrix") as (tmp, env, store):
        (tmp / "snapshot").mkdir()
        init_keys(env.settings.keys_dir)
        real_run(env.settings.runs_dir, tmp_path_factory)  # a run with a frozen input: exports and re-runs
        app = app_for(env, store, run_fn=_fake_run, ingest_fn=_fake_ingest)
        with TestClient(app) as client:
            yield env, client, app
        if _on_neo4j(app):  # the publish row's job (its nodes are not in this store: it writes nothing)
            from publish import unpublish_run

            app.state.services.jobs.shutdown()
            unpublish_run(real_run(env.settings.runs_dir, None)["run_id"], store)
    store.close()


def _fake_run(store, *, params, runs_dir, on_progress):
    # The matrix checks who may start a run, not the detectors (tested in their own suite).
    return {"run_id": "not-saved"}


def _fake_ingest(snapshot_dir, store, *, quarantine_dir, progress):
    return {"files": 0}


def _new_case(app, *, shared_with: str | None = "law_enforcement") -> str:
    cases = app.state.services.cases
    cid = cases.create_case(title="matrix", actor="investigator", note="n", items=[{"kind": "account", "id": "x"}])[
        "case_id"
    ]
    if shared_with:
        cases.share_case(cid, actor="investigator", note="n", user_name=shared_with)
    return cid


def _real_case(app, *, shared_with: str | None = "law_enforcement") -> str:
    """A case over two pathways of the real run (see tests.api_support.real_run)."""
    cases = app.state.services.cases
    run = real_run(app.state.services.settings.runs_dir, None)
    items = [{"kind": "pathway", "id": p["pathway_id"]} for p in run["results"]["pathways"][:2]]
    cid = cases.create_case(title="matrix export", actor="investigator", note="n", items=items, run_id=run["run_id"])[
        "case_id"
    ]
    if shared_with:
        cases.share_case(cid, actor="investigator", note="n", user_name=shared_with)
    return cid


def _export(app, *, shared_with: str | None = "law_enforcement") -> str:
    from api.exports import create_case_export
    from evidence.selection import Limits

    services = app.state.services
    return create_case_export(
        services.settings,
        services.cases,
        _real_case(app, shared_with=shared_with),
        actor="investigator",
        limits=Limits(hops=0, max_nodes=50),
    ).export_id


def _new_user(app) -> str:
    from api.auth import create_user

    name = f"u{uuid.uuid4().hex[:8]}"
    create_user(app.state.services.users, name, "investigator", FAST_HASHER)
    return name


def _job(app, kind: str) -> str:
    jobs = app.state.services.jobs
    getter = app.state.services.stores.get
    if kind == "run":
        return jobs.submit_run(getter, user="investigator", params=None, runs_dir=app.state.services.settings.runs_dir)[
            "job_id"
        ]
    snap = app.state.services.settings.state_dir.parent / "snapshot"
    return jobs.submit_ingest(getter, user="admin", snapshot_dir=snap, quarantine_dir=None)["job_id"]


def _on_neo4j(app) -> bool:
    from graph.neo4j_store import Neo4jStore

    return isinstance(app.state.services.stores.get(), Neo4jStore)


Req = Callable[[Any, Any], tuple[str, dict[str, Any], int]]

#: (method, route) -> builder(env, app) -> (path, httpx kwargs, expected status when allowed)
REQUESTS: dict[tuple[str, str], Req] = {
    ("GET", "/health"): lambda env, app: ("/health", {}, 200),
    ("GET", "/ui"): lambda env, app: ("/ui", {}, 200),
    ("GET", "/ui/{name}"): lambda env, app: ("/ui/app.js", {}, 200),
    ("GET", "/me"): lambda env, app: ("/me", {}, 200),
    ("GET", "/openapi.json"): lambda env, app: ("/openapi.json", {}, 200),
    ("GET", "/runs"): lambda env, app: ("/runs", {}, 200),
    ("POST", "/runs"): lambda env, app: ("/runs", {"json": {"params": None}}, 202),
    ("GET", "/run-jobs/{job_id}"): lambda env, app: (f"/run-jobs/{_job(app, 'run')}", {}, 200),
    ("GET", "/runs/{run_id}"): lambda env, app: (f"/runs/{env.run_id}", {}, 200),
    ("GET", "/runs/{run_id}/results"): lambda env, app: (f"/runs/{env.run_id}/results", {}, 200),
    ("GET", "/runs/{run_id}/pathways"): lambda env, app: (
        f"/runs/{env.run_id}/pathways",
        {"params": {"source_id": f"{env.prefix}c1"}},
        200,
    ),
    ("GET", "/runs/{run_id}/pathways/{pathway_id}"): lambda env, app: (
        f"/runs/{env.run_id}/pathways/{env.prefix}p1",
        {},
        200,
    ),
    ("GET", "/runs/{run_id}/clusters"): lambda env, app: (f"/runs/{env.run_id}/clusters", {}, 200),
    ("GET", "/runs/{run_id}/clusters/{cluster_id}"): lambda env, app: (
        f"/runs/{env.run_id}/clusters/{env.prefix}k1",
        {},
        200,
    ),
    ("GET", "/runs/{run_id}/flagged-accounts"): lambda env, app: (f"/runs/{env.run_id}/flagged-accounts", {}, 200),
    ("GET", "/accounts/{account_id}"): lambda env, app: (
        f"/accounts/{env.prefix}a2",
        {"params": {"run_id": env.run_id}},
        200,
    ),
    ("GET", "/accounts/{account_id}/pathways"): lambda env, app: (
        f"/accounts/{env.prefix}a2/pathways",
        {"params": {"run_id": env.run_id}},
        200,
    ),
    ("GET", "/accounts/{account_id}/neighbourhood"): lambda env, app: (
        f"/accounts/{env.prefix}a2/neighbourhood",
        {"params": {"hops": 2}},
        200,
    ),
    ("GET", "/cases"): lambda env, app: ("/cases", {}, 200),
    ("POST", "/cases"): lambda env, app: (
        "/cases",
        {"json": {"title": "t", "note": "n", "items": [{"kind": "account", "id": f"{env.prefix}a2"}]}},
        201,
    ),
    ("GET", "/cases/{case_id}"): lambda env, app: (f"/cases/{_new_case(app)}", {}, 200),
    ("PATCH", "/cases/{case_id}"): lambda env, app: (
        f"/cases/{_new_case(app)}",
        {"json": {"status": "in_progress", "note": "n"}},
        200,
    ),
    ("POST", "/cases/{case_id}/items"): lambda env, app: (
        f"/cases/{_new_case(app)}/items",
        {"json": {"note": "n", "items": [{"kind": "pathway", "id": "p"}]}},
        200,
    ),
    ("POST", "/cases/{case_id}/notes"): lambda env, app: (
        f"/cases/{_new_case(app)}/notes",
        {"json": {"note": "n"}},
        200,
    ),
    ("GET", "/cases/{case_id}/history"): lambda env, app: (f"/cases/{_new_case(app)}/history", {}, 200),
    ("POST", "/cases/{case_id}/shares"): lambda env, app: (
        f"/cases/{_new_case(app, shared_with=None)}/shares",
        {"json": {"user_name": "le2", "note": "n"}},
        200,
    ),
    ("DELETE", "/cases/{case_id}/shares/{user_name}"): lambda env, app: (
        f"/cases/{_new_case(app)}/shares/law_enforcement",
        {"params": {"note": "n"}},
        200,
    ),
    ("GET", "/users"): lambda env, app: ("/users", {}, 200),
    ("POST", "/users"): lambda env, app: (
        "/users",
        {"json": {"name": f"n{uuid.uuid4().hex[:8]}", "role": "auditor"}},
        201,
    ),
    ("DELETE", "/users/{name}"): lambda env, app: (f"/users/{_new_user(app)}", {}, 200),
    ("POST", "/ingest"): lambda env, app: (
        "/ingest",
        {"json": {"snapshot_dir": str(app.state.services.settings.state_dir.parent / "snapshot")}},
        202,
    ),
    ("GET", "/ingest/{job_id}"): lambda env, app: (f"/ingest/{_job(app, 'ingest')}", {}, 200),
    ("GET", "/config"): lambda env, app: ("/config", {}, 200),
    ("GET", "/audit"): lambda env, app: ("/audit", {}, 200),
    ("GET", "/audit/verify"): lambda env, app: ("/audit/verify", {}, 200),
    ("GET", "/keys/public"): lambda env, app: ("/keys/public", {}, 200),
    ("POST", "/cases/{case_id}/exports"): lambda env, app: (
        f"/cases/{_real_case(app)}/exports",
        {"json": {"hops": 0, "max_nodes": 50}},
        201,
    ),
    ("GET", "/exports/{export_id}"): lambda env, app: (f"/exports/{_export(app)}", {}, 200),
    ("GET", "/exports/{export_id}/package"): lambda env, app: (f"/exports/{_export(app)}/package", {}, 200),
    ("GET", "/exports/{export_id}/report"): lambda env, app: (
        f"/exports/{_export(app)}/report",
        {"params": {"format": "html"}},
        200,
    ),
    ("GET", "/cases/{case_id}/exports"): lambda env, app: (f"/cases/{_real_case(app)}/exports", {}, 200),
    ("POST", "/runs/{run_id}/rerun"): lambda env, app: (
        f"/runs/{real_run(app.state.services.settings.runs_dir, None)['run_id']}/rerun",
        {},
        200,
    ),
    ("POST", "/runs/{run_id}/publish"): lambda env, app: (
        f"/runs/{real_run(app.state.services.settings.runs_dir, None)['run_id']}/publish",
        {},
        202 if _on_neo4j(app) else 409,
    ),
    ("DELETE", "/runs/{run_id}/publish"): lambda env, app: (
        f"/runs/{env.run_id}/publish",
        {},
        200 if _on_neo4j(app) else 409,
    ),
    ("GET", "/jobs"): lambda env, app: ("/jobs", {"params": {"kind": _job(app, "run") and "run"}}, 200),
}


def test_the_table_covers_exactly_the_apps_routes():
    assert served_routes() == set(PERMISSIONS), "every route must be in api.auth.PERMISSIONS (deny by default)"
    assert set(REQUESTS) == set(PERMISSIONS), "the matrix must exercise every route"


@pytest.mark.parametrize("who", WHO, ids=lambda w: w or "no-key")
@pytest.mark.parametrize("route", sorted(PERMISSIONS), ids=lambda r: f"{r[0]} {r[1]}")
def test_role_route(api, route, who):
    env, client, app = api
    path, kwargs, ok_status = REQUESTS[route](env, app)
    headers = env.auth(who) if who else {}
    resp = client.request(route[0], path, headers=headers, **kwargs)
    roles = PERMISSIONS[route]
    if roles is PUBLIC or (who is not None and who in roles):
        assert resp.status_code == ok_status, resp.text
    elif who is None:
        assert resp.status_code == 401
        assert resp.headers["content-type"] == "application/problem+json"
    else:
        assert resp.status_code == 403, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.json()["status"] == 403


@pytest.mark.parametrize(
    "route", ["/exports/{export_id}", "/exports/{export_id}/package", "/exports/{export_id}/report?format=html"]
)
def test_law_enforcement_gets_only_exports_of_cases_shared_with_it(api, route):
    env, client, app = api
    export_id = _export(app)  # shared with `law_enforcement`, not with `le2`
    path = route.replace("{export_id}", export_id)
    assert client.get(path, headers=env.auth("law_enforcement")).status_code == 200
    resp = client.get(path, headers=env.auth("le2"))
    assert resp.status_code == 404, resp.text
    assert export_id in resp.json()["detail"]
    unshared = _export(app, shared_with=None)
    assert client.get(route.replace("{export_id}", unshared), headers=env.auth("law_enforcement")).status_code == 404
    assert client.get(route.replace("{export_id}", unshared), headers=env.auth("investigator")).status_code == 200
