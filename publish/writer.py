"""Writing a run's results into Neo4j (`crumbgraph publish`) and taking them out again
(`unpublish`). Every write MERGEs on a run-scoped key, so publishing twice changes nothing and a
publish that failed halfway converges when run again; unpublishing removes exactly that run's
result nodes and relationships and never touches the snapshot's own nodes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from neo4j import ManagedTransaction

from detectors.results import Results
from detectors.runfolder import read_run
from graph.errors import Conflict, NotFound
from graph.model import ResultLabel, ResultRel
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore
from publish.rows import PublishRows, publish_rows

logger = logging.getLogger(__name__)

RUN, CLUSTER, PATHWAY = ResultLabel.RUN.value, ResultLabel.CLUSTER.value, ResultLabel.PATHWAY.value
FOUND_IN, MEMBER_OF, OWNS = ResultRel.FOUND_IN.value, ResultRel.MEMBER_OF.value, ResultRel.OWNS.value
FLAGGED_IN, EXPOSED_IN = ResultRel.FLAGGED_IN.value, ResultRel.EXPOSED_IN.value
STEP, REACHES = ResultRel.STEP.value, ResultRel.REACHES.value
#: the Run properties publish sets (and unpublish removes from a run record the store keeps)
_RUN_PROPS = (
    "published",
    "snapshot_digest",
    "results_sha256",
    "started_at",
    "finished_at",
    "clusters",
    "pathways",
    "flagged_accounts",
)
_SCHEMA = (
    f"CREATE CONSTRAINT result_cluster_key IF NOT EXISTS FOR (n:{CLUSTER}) REQUIRE n.key IS UNIQUE",
    f"CREATE CONSTRAINT result_pathway_key IF NOT EXISTS FOR (n:{PATHWAY}) REQUIRE n.key IS UNIQUE",
    f"CREATE INDEX result_cluster_run IF NOT EXISTS FOR (n:{CLUSTER}) ON (n.run_id)",
    f"CREATE INDEX result_pathway_run IF NOT EXISTS FOR (n:{PATHWAY}) ON (n.run_id)",
)


@dataclass(frozen=True)
class PublishReport:
    """What `publish_run` wrote (the counts of `PublishRows.counts`)."""

    run_id: str
    store: str
    clusters: int
    memberships: int
    owned: int
    flagged: int
    exposed: int
    pathways: int
    steps: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class UnpublishReport:
    """What `unpublish_run` removed."""

    run_id: str
    store: str
    clusters: int
    pathways: int
    flags: int
    run_node_deleted: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class NotNeo4j(Conflict):
    """Publishing asked of a store that is not Neo4j (HTTP 409: the request is fine, the store is not)."""


def require_neo4j(store: GraphStore) -> Neo4jStore:
    """`store` as a Neo4jStore; NotNeo4j naming it otherwise."""
    if not isinstance(store, Neo4jStore):
        raise NotNeo4j(f"publishing needs a Neo4j store (neo4j:// or bolt://), not {store.url}")
    return store


_neo4j = require_neo4j


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _write_rows(store: Neo4jStore, query: str, rows: list[dict[str, Any]], **params: Any) -> None:
    """`query` (which UNWINDs `$rows`) over `rows`, one write transaction per batch."""

    def work(tx: ManagedTransaction, batch: list[dict[str, Any]]) -> None:
        tx.run(query, {"rows": batch, **params}).consume()

    for batch in _chunks(rows, store.batch_size):
        with store._driver.session(database=store.database) as session:
            session.execute_write(work, batch)


def _check_nodes(store: Neo4jStore, rows: PublishRows, run_id: str) -> None:
    """NotFound naming the first missing ones if a node the results name is not in the store
    (a run is published into the store it was detected on, and never creates graph nodes)."""
    for kind, ids in sorted(rows.referenced().items()):
        query = (
            f"UNWIND $ids AS id OPTIONAL MATCH (n:{kind.label} {{{kind.key}: id}}) WITH id, n WHERE n IS NULL RETURN id"
        )
        missing = sorted(r[0] for r in store._read(query, ids=sorted(ids)))
        if missing:
            raise NotFound(
                f"run {run_id}: {len(missing)} of its {len(ids)} {kind.value} nodes are not in {store.url} "
                f"(e.g. {', '.join(missing[:3])}): publish a run into the store it was detected on"
            )


def _write_clusters(store: Neo4jStore, rows: PublishRows, run_id: str) -> None:
    _write_rows(
        store,
        f"MATCH (r:{RUN} {{run_id: $run_id}}) UNWIND $rows AS row MERGE (c:{CLUSTER} {{key: row.key}}) "
        f"SET c.run_id = $run_id, c.cluster_id = row.cluster_id, c += row.props MERGE (c)-[:{FOUND_IN}]->(r)",
        rows.clusters,
        run_id=run_id,
    )
    _write_rows(
        store,
        f"UNWIND $rows AS row MATCH (c:{CLUSTER} {{key: row.key}}) MATCH (a:Account {{account_id: row.id}}) "
        f"MERGE (a)-[:{MEMBER_OF}]->(c)",
        rows.members,
    )
    for kind, owned in sorted(rows.owned.items()):
        _write_rows(
            store,
            f"UNWIND $rows AS row MATCH (c:{CLUSTER} {{key: row.key}}) MATCH (x:{kind.label} {{{kind.key}: row.id}}) "
            f"MERGE (c)-[:{OWNS}]->(x)",
            owned,
        )


def _write_accounts(store: Neo4jStore, rows: PublishRows, run_id: str) -> None:
    _write_rows(
        store,
        f"MATCH (r:{RUN} {{run_id: $run_id}}) UNWIND $rows AS row MATCH (a:Account {{account_id: row.id}}) "
        f"MERGE (a)-[f:{FLAGGED_IN} {{role: row.role}}]->(r) SET f += row.props",
        rows.flagged,
        run_id=run_id,
    )
    _write_rows(
        store,
        f"MATCH (r:{RUN} {{run_id: $run_id}}) UNWIND $rows AS row MATCH (c:Content {{content_id: row.id}}) "
        f"MERGE (c)-[e:{EXPOSED_IN}]->(r) SET e += row.props",
        rows.exposed,
        run_id=run_id,
    )


def _write_pathways(store: Neo4jStore, rows: PublishRows, run_id: str) -> None:
    _write_rows(
        store,
        f"MATCH (r:{RUN} {{run_id: $run_id}}) UNWIND $rows AS row MERGE (p:{PATHWAY} {{key: row.key}}) "
        f"SET p.run_id = $run_id, p.pathway_id = row.pathway_id, p += row.props MERGE (p)-[:{FOUND_IN}]->(r) "
        f"WITH p, row MATCH (c:{CLUSTER} {{key: row.cluster_key}}) MERGE (p)-[:{REACHES}]->(c)",
        rows.pathways,
        run_id=run_id,
    )
    for kind, steps in sorted(rows.steps.items()):
        _write_rows(
            store,
            f"UNWIND $rows AS row MATCH (p:{PATHWAY} {{key: row.key}}) MATCH (n:{kind.label} {{{kind.key}: row.id}}) "
            f"MERGE (p)-[s:{STEP} {{i: row.i}}]->(n) SET s += row.props",
            steps,
        )


def publish_results(store: GraphStore, results: Results, record: dict[str, Any]) -> PublishReport:
    """Write `results` (with its run record) into the Neo4j `store`; idempotent."""
    neo = _neo4j(store)
    rows = publish_rows(results, record)
    run_id = results.run_id
    with neo._errors(f"publishing run {run_id}"):
        neo.ensure_schema()
        for stmt in _SCHEMA:
            neo._driver.execute_query(stmt, database_=neo.database)
        _check_nodes(neo, rows, run_id)
        _write_rows(
            neo,
            f"UNWIND $rows AS row MERGE (r:{RUN} {{run_id: row.run_id}}) SET r += row, r.published = true",
            [rows.run],
        )
        _write_clusters(neo, rows, run_id)
        _write_accounts(neo, rows, run_id)
        _write_pathways(neo, rows, run_id)
    report = PublishReport(run_id=run_id, store=neo.url, **rows.counts())
    logger.info("published run %s into %s: %s", run_id, neo.url, rows.counts())
    return report


def publish_run(run: str | Path, store: GraphStore, *, runs_dir: Path | None = None) -> PublishReport:
    """Publish run `run` (a run folder, or a run id or `latest` under `runs_dir`) into `store`."""
    folder = read_run(run, runs_dir)
    return publish_results(store, Results.model_validate(folder.results), folder.record)


def _delete_batched(store: Neo4jStore, match: str, what: str, run_id: str) -> int:
    """DETACH DELETE (or DELETE) what `match` finds, 10 000 at a time; how many went."""
    total = 0
    while True:
        rows = store._driver.execute_query(
            f"{match} WITH x LIMIT 10000 {what} x RETURN count(*)", run_id=run_id, database_=store.database
        ).records
        done = int(rows[0][0]) if rows else 0
        total += done
        if done == 0:
            return total


def unpublish_run(run_id: str, store: GraphStore) -> UnpublishReport:
    """Remove what `publish` wrote for `run_id`: its clusters and pathways (with their
    relationships), its FLAGGED_IN and EXPOSED_IN relationships, and its Run node unless the store
    keeps the run's record there (then only the published properties go). Zero counts if the run
    was never published."""
    neo = _neo4j(store)
    with neo._errors(f"unpublishing run {run_id}"):
        clusters = _delete_batched(neo, f"MATCH (x:{CLUSTER} {{run_id: $run_id}})", "DETACH DELETE", run_id)
        pathways = _delete_batched(neo, f"MATCH (x:{PATHWAY} {{run_id: $run_id}})", "DETACH DELETE", run_id)
        flags = _delete_batched(
            neo, f"MATCH (:{RUN} {{run_id: $run_id}})<-[x:{FLAGGED_IN}|{EXPOSED_IN}]-()", "DELETE", run_id
        )
        deleted = neo._driver.execute_query(
            f"MATCH (r:{RUN} {{run_id: $run_id}}) WHERE r.record_json IS NULL AND r.published "
            f"DETACH DELETE r RETURN count(*)",
            run_id=run_id,
            database_=neo.database,
        ).records[0][0]
        neo._driver.execute_query(
            f"MATCH (r:{RUN} {{run_id: $run_id}}) REMOVE " + ", ".join(f"r.{p}" for p in _RUN_PROPS),
            run_id=run_id,
            database_=neo.database,
        )
    logger.info(
        "unpublished run %s from %s: %d clusters, %d pathways, %d flags", run_id, neo.url, clusters, pathways, flags
    )
    return UnpublishReport(run_id, neo.url, clusters, pathways, flags, bool(deleted))
