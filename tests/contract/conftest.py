"""Fixtures of the store contract suite: one `store` fixture parametrised over every backend.

The Neo4j under test may be shared (development), so every test writes ids under its own
unique prefix, reads back only that prefix, and deletes what it wrote afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from graph.embedded import EmbeddedStore
from graph.model import EDGE_SCHEMA, NodeKind
from graph.store import GraphStore, StoreConfig, open_store


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class Scope:
    """Unique ids for one test and reads restricted to them."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.prefix = f"ct{uuid.uuid4().hex[:10]}-"

    def __call__(self, name: str) -> str:
        return self.prefix + name

    def nodes(self, kind: NodeKind) -> pa.Table:
        table = self.store.node_table(kind)
        return table.filter(pc.starts_with(table.column(NodeKind(kind).key), self.prefix))

    def edges(self, *args: object, **kwargs: object) -> pa.Table:
        table = self.store.edge_table(*args, **kwargs)  # type: ignore[arg-type]
        return table.filter(pc.starts_with(table.column("src_id"), self.prefix))

    def node_set(self, kind: NodeKind) -> set[tuple]:
        return {tuple(r.values()) for r in self.nodes(kind).to_pylist()}

    def edge_set(self, *args: object, **kwargs: object) -> set[tuple]:
        return {tuple(r.values()) for r in self.edges(*args, **kwargs).to_pylist()}

    def runs(self) -> list[dict]:
        return [r for r in self.store.list_runs() if r["run_id"].startswith(self.prefix)]


def wipe_prefix(store: GraphStore, prefix: str) -> None:
    """Delete everything a test wrote under `prefix` (test-only; Neo4j only, embedded uses a tmp file)."""
    driver = store._driver  # type: ignore[attr-defined]
    for kind in NodeKind:
        driver.execute_query(
            f"MATCH (n:{kind.label}) WHERE n.{kind.key} STARTS WITH $p DETACH DELETE n",
            p=prefix,
            database_=store.database,
        )  # type: ignore[attr-defined]
    driver.execute_query("MATCH (n:Run) WHERE n.run_id STARTS WITH $p DELETE n", p=prefix, database_=store.database)  # type: ignore[attr-defined]


def make_store(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, batch_size: int = 3, write_concurrency: int = 1
) -> GraphStore:
    """A store of `backend`; batch_size is tiny so that the suite exercises batching."""
    if backend == "embedded":
        store: GraphStore = EmbeddedStore(tmp_path / "graph.duckdb")
    else:
        cfg: StoreConfig = request.getfixturevalue("neo4j_config")
        store = open_store(
            StoreConfig(
                url=cfg.url,
                neo4j_user=cfg.neo4j_user,
                neo4j_password=cfg.neo4j_password,
                neo4j_database=cfg.neo4j_database,
                batch_size=batch_size,
                neo4j_write_concurrency=write_concurrency,
            )
        )
    store.ensure_schema()
    return store


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    s = make_store(request.param, tmp_path, request)
    yield s
    s.close()


@pytest.fixture
def scope(store: GraphStore) -> Iterator[Scope]:
    sc = Scope(store)
    yield sc
    if not isinstance(store, EmbeddedStore):
        wipe_prefix(store, sc.prefix)


def edges(rows: list[tuple]) -> pa.Table:
    """Edge rows (src_kind, src_id, type, kind, dst_kind, dst_id[, created_at[, props]]) -> Arrow."""
    full = [tuple(r) + (None,) * (8 - len(r)) for r in rows]
    return pa.Table.from_pylist([dict(zip(EDGE_SCHEMA.names, r)) for r in full], schema=EDGE_SCHEMA)


@pytest.fixture
def follow(scope: Scope) -> Callable[..., tuple]:
    """follow('a', 'b', ts) -> a FOLLOWS edge row between prefixed accounts."""

    def make(a: str, b: str, ts: datetime | None = None, props: str | None = None) -> tuple:
        return ("account", scope(a), "FOLLOWS", "follow", "account", scope(b), ts, props)

    return make
