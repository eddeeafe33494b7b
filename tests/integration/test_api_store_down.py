"""Store down -> 503 with a problem body (never a trace), and the API recovers by itself when
the store returns. Real faults, no mocks:
- embedded: another process holds the DuckDB file's lock, so the store cannot be opened;
  when that process exits, the next request opens it.
- Neo4j: the API reaches the real Neo4j through a loopback TCP relay that the test stops
  (connections refused / cut, as when the server goes away) and starts again on the same port.
- Neo4j at a port where nothing listens at all -> 503 (needs no server).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
from fastapi.testclient import TestClient

from graph.embedded import EmbeddedStore
from tests.api_support import app_for, build_graph, make_env, save_results

PROBLEM = "application/problem+json"


def _assert_503(resp) -> None:
    assert resp.status_code == 503, resp.text
    assert resp.headers["content-type"] == PROBLEM and resp.headers["retry-after"]
    body = resp.json()
    assert body["status"] == 503 and "Traceback" not in resp.text and "neo4j" not in body["detail"].lower()


def test_embedded_store_locked_by_another_process_then_released(tmp_path):
    path = tmp_path / "g.duckdb"
    with EmbeddedStore(path) as store:
        build_graph(store, "d-")
        save_results(store, "d-", "d-run1")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(path)!r}); print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        env = make_env(tmp_path, "d-", store=f"embedded:{path}")
        with TestClient(app_for(env, None)) as client:
            _assert_503(client.get("/runs/d-run1/pathways", headers=env.auth("investigator")))
            assert client.get("/health").json() == {"status": "degraded", "store": "unavailable"}
            holder.stdin.close()
            holder.wait(timeout=20)
            ok = client.get("/runs/d-run1/pathways", headers=env.auth("investigator"))
            assert ok.status_code == 200 and ok.json()["total"] == 3
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        for pipe in (holder.stdin, holder.stdout):
            if not pipe.closed:
                pipe.close()


def test_neo4j_port_with_nothing_listening_gives_503(tmp_path):
    from graph.neo4j_store import Neo4jStore

    with socket.socket() as s:  # a port that was free a moment ago and that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = Neo4jStore(f"bolt://127.0.0.1:{port}", password="x", connection_timeout=1.0, max_transaction_retry_time=0.5)
    env = make_env(tmp_path, "z-")
    with TestClient(app_for(env, store)) as client:
        _assert_503(client.get("/accounts/z-a1/neighbourhood", headers=env.auth("investigator")))
        _assert_503(client.get("/runs", headers=env.auth("auditor")))
        assert client.get("/cases", headers=env.auth("investigator")).status_code == 200  # state is not the graph
    store.close()


class Relay:
    """A loopback TCP relay to the real Neo4j that can be stopped (all connections cut, port
    refusing) and started again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        self.port = listener.getsockname()[1]
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        if self._listener is not None:
            try:  # shutdown wakes the blocked accept() and stops listening (close alone does not)
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            for s in self._conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self._conns.clear()


@pytest.mark.neo4j
def test_neo4j_goes_away_then_comes_back(tmp_path, neo4j_config):
    from urllib.parse import urlparse

    from graph.neo4j_store import Neo4jStore
    from tests.api_support import open_test_store

    prefix = f"n{uuid.uuid4().hex[:8]}-"
    direct, cleanup = open_test_store("neo4j", tmp_path, _Req(neo4j_config), prefix)
    build_graph(direct, prefix)
    save_results(direct, prefix, f"{prefix}run1")
    target = urlparse(neo4j_config.url)
    relay = Relay((target.hostname, target.port or 7687))
    relay.start()
    store = Neo4jStore(
        f"bolt://127.0.0.1:{relay.port}",
        user=neo4j_config.neo4j_user,
        password=neo4j_config.neo4j_password,
        database=neo4j_config.neo4j_database,
        connection_timeout=2.0,
        max_transaction_retry_time=1.0,
    )
    env = make_env(tmp_path, prefix)
    try:
        with TestClient(app_for(env, store)) as client:
            url, auth = f"/accounts/{prefix}a2/neighbourhood", env.auth("investigator")
            assert client.get(url, headers=auth).status_code == 200
            relay.stop()
            _assert_503(client.get(url, headers=auth))
            relay.start()  # same port: the server is back
            deadline = time.monotonic() + 30
            while (resp := client.get(url, headers=auth)).status_code == 503 and time.monotonic() < deadline:
                time.sleep(0.5)
            assert resp.status_code == 200 and len(resp.json()["nodes"]) == 5
    finally:
        relay.stop()
        store.close()
        cleanup()
        direct.close()


class _Req:
    """Enough of pytest's `request` for open_test_store outside a parametrised fixture."""

    def __init__(self, cfg) -> None:
        self.cfg = cfg

    def getfixturevalue(self, name: str):
        assert name == "neo4j_config"
        return self.cfg
