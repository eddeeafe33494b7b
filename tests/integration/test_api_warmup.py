"""The API indexes the newest run and warms the store's point reads at startup, so the console's
first request does not pay for it."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from graph.embedded import EmbeddedStore
from tests.api_support import app_for, make_env, save_results


def test_newest_run_is_indexed_before_the_first_request(tmp_path):
    env = make_env(tmp_path, "w-")
    store = EmbeddedStore(tmp_path / "graph.duckdb")
    save_results(store, "w-", "w-old", started_at="2026-03-01T12:00:00+00:00")
    save_results(store, "w-", "w-new", started_at="2026-03-02T12:00:00+00:00")
    try:
        with TestClient(app_for(env, store)) as client:
            cache = client.app.state.services.results
            deadline = time.monotonic() + 10
            while ("w-new" not in cache._items or store._adjacency is None) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert list(cache._items) == ["w-new"]  # the newest only, and nothing requested yet
            assert store._adjacency is not None  # point reads warmed too
    finally:
        store.close()


def test_startup_without_runs_is_quiet(tmp_path):
    env = make_env(tmp_path, "w-")
    store = EmbeddedStore(tmp_path / "graph.duckdb")
    try:
        with TestClient(app_for(env, store)) as client:
            assert client.get("/health").status_code == 200
            assert client.app.state.services.results._items == {}
    finally:
        store.close()
