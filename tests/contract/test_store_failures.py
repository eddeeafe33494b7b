"""Unreachable stores and refused credentials surface as StoreUnavailable, never leaking the password."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from graph.embedded import EmbeddedStore
from graph.errors import ConfigError, StoreUnavailable
from graph.model import NodeKind
from graph.neo4j_store import Neo4jStore
from graph.store import StoreConfig, open_store

PASSWORD = "s3cret-Pa55-do-not-print"


def test_unreachable_neo4j_is_store_unavailable_without_the_password() -> None:
    store = Neo4jStore("bolt://127.0.0.1:1", password=PASSWORD, connection_timeout=1, max_transaction_retry_time=0.2)
    try:
        for call in (
            store.counts,
            store.ensure_schema,
            lambda: store.upsert_nodes(NodeKind.ACCOUNT, pa.table({"account_id": ["x"]})),
        ):
            with pytest.raises(StoreUnavailable, match="127.0.0.1:1 is unreachable") as err:
                call()
            assert PASSWORD not in str(err.value)
    finally:
        store.close()


@pytest.mark.neo4j
def test_wrong_credentials_are_store_unavailable_without_the_password(neo4j_config: StoreConfig) -> None:
    # A user that does not exist: refused like a wrong password, without locking out the real user.
    store = open_store(
        StoreConfig(
            url=neo4j_config.url,
            neo4j_user="crumbgraph-contract-nobody",
            neo4j_password=PASSWORD,
            neo4j_database=neo4j_config.neo4j_database,
        )
    )
    try:
        with pytest.raises(StoreUnavailable, match="refused the credentials") as err:
            store.counts()
        assert PASSWORD not in str(err.value)
    finally:
        store.close()


def test_store_urls_are_checked() -> None:
    with pytest.raises(ConfigError, match="expected embedded:PATH"):
        open_store(StoreConfig(url="postgres://x"))
    with pytest.raises(ConfigError, match="needs a path"):
        open_store(StoreConfig(url="embedded:"))


def test_credentials_in_a_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(ConfigError) as err:
        Neo4jStore("bolt://neo4j:hunter2@127.0.0.1:1", password=PASSWORD)
    assert "hunter2" not in str(err.value) and "bolt://127.0.0.1:1" in str(err.value)


def test_embedded_store_that_cannot_be_opened_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="cannot open"):
        EmbeddedStore(tmp_path)  # a directory, not a database file


def test_embedded_store_held_by_another_process_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "g.duckdb"
    EmbeddedStore(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, duckdb; c = duckdb.connect(sys.argv[1]); print('open', flush=True); sys.stdin.read()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreUnavailable, match="cannot open"):
            EmbeddedStore(path)
    finally:
        holder.communicate("")
    EmbeddedStore(path).close()  # free again once the other process is gone
