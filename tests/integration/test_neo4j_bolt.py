"""The real Neo4j through Bolt: nodes, a relationship and a uniqueness constraint; wrong credentials.

Runs against the server named by CRUMBGRAPH_NEO4J_URI (started by `crumbgraph neo4j start`).
Writes only nodes of its own label with a per-run id prefix, and removes them afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from neo4j import Driver, GraphDatabase, RoutingControl
from neo4j.exceptions import ConstraintError

from graph.errors import StoreUnavailable
from graph.store import StoreConfig, open_store
from ops.neo4j_server import check_bolt

pytestmark = pytest.mark.neo4j

LABEL = "CrumbgraphBoltTest"  # used by this test only
CONSTRAINT = "crumbgraph_bolt_test_key"


@pytest.fixture
def driver(neo4j_config: StoreConfig) -> Iterator[Driver]:
    with GraphDatabase.driver(neo4j_config.url, auth=(neo4j_config.neo4j_user, neo4j_config.neo4j_password)) as drv:
        yield drv


@pytest.fixture
def prefix(driver: Driver, neo4j_config: StoreConfig) -> Iterator[str]:
    pfx = f"bolt-test-{uuid.uuid4().hex[:12]}-"
    yield pfx
    driver.execute_query(
        f"MATCH (n:{LABEL}) WHERE n.test_id STARTS WITH $pfx DETACH DELETE n",
        pfx=pfx,
        database_=neo4j_config.neo4j_database,
    )


def test_write_and_read_nodes_and_relationship_with_uniqueness(
    driver: Driver, prefix: str, neo4j_config: StoreConfig
) -> None:
    db = neo4j_config.neo4j_database
    driver.execute_query(
        f"CREATE CONSTRAINT {CONSTRAINT} IF NOT EXISTS FOR (n:{LABEL}) REQUIRE n.test_id IS UNIQUE", database_=db
    )
    rows = [
        {"id": f"{prefix}a", "name": "synthetic vlog channel"},
        {"id": f"{prefix}b", "name": "synthetic follower"},
        {"id": f"{prefix}a", "name": "synthetic vlog channel (renamed)"},
    ]  # same key: MERGE updates

    def write(tx, rows):
        tx.run(f"UNWIND $rows AS row MERGE (n:{LABEL} {{test_id: row.id}}) SET n.name = row.name", rows=rows).consume()
        tx.run(
            f"MATCH (a:{LABEL} {{test_id: $a}}), (b:{LABEL} {{test_id: $b}}) "
            "MERGE (b)-[r:FOLLOWS]->(a) SET r.weight = 1",
            a=f"{prefix}a",
            b=f"{prefix}b",
        ).consume()

    with driver.session(database=db) as session:
        session.execute_write(write, rows)

    nodes, _, _ = driver.execute_query(
        f"MATCH (n:{LABEL}) WHERE n.test_id STARTS WITH $pfx RETURN n.test_id AS id, n.name AS name",
        pfx=prefix,
        database_=db,
        routing_=RoutingControl.READ,
    )
    edges, _, _ = driver.execute_query(
        f"MATCH (s:{LABEL})-[r]->(d:{LABEL}) WHERE s.test_id STARTS WITH $pfx "
        "RETURN s.test_id AS src, type(r) AS type, d.test_id AS dst",
        pfx=prefix,
        database_=db,
        routing_=RoutingControl.READ,
    )

    assert {(r["id"], r["name"]) for r in nodes} == {
        (f"{prefix}a", "synthetic vlog channel (renamed)"),
        (f"{prefix}b", "synthetic follower"),
    }
    assert {(r["src"], r["type"], r["dst"]) for r in edges} == {(f"{prefix}b", "FOLLOWS", f"{prefix}a")}
    with pytest.raises(ConstraintError):
        driver.execute_query(f"CREATE (:{LABEL} {{test_id: $id}})", id=f"{prefix}a", database_=db)


def _reset_failed_logins(cfg: StoreConfig) -> None:
    """A successful login resets Neo4j's count of failed ones (it locks a user after 3 in a row),
    so these tests never lock the shared `neo4j` user for other tests."""
    check_bolt(cfg.url, cfg.neo4j_user, cfg.neo4j_password, database=cfg.neo4j_database)


def test_wrong_password_is_a_clear_store_unavailable(neo4j_config: StoreConfig) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"

    with pytest.raises(StoreUnavailable) as info:
        check_bolt(neo4j_config.url, neo4j_config.neo4j_user, wrong)
    _reset_failed_logins(neo4j_config)

    message = str(info.value)
    assert neo4j_config.url in message
    assert "wrong password" in message
    assert wrong not in message
    assert info.value.exit_code == 3 and info.value.http_status == 503


def test_wrong_password_through_open_store_is_store_unavailable(neo4j_config: StoreConfig) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    bad = StoreConfig(
        url=neo4j_config.url,
        neo4j_user=neo4j_config.neo4j_user,
        neo4j_password=wrong,
        neo4j_database=neo4j_config.neo4j_database,
    )

    with pytest.raises(StoreUnavailable) as info, open_store(bad) as store:
        store.counts()
    _reset_failed_logins(neo4j_config)

    message = str(info.value)
    assert neo4j_config.url in message and "credentials" in message
    assert wrong not in message


def test_right_password_passes_check_bolt(neo4j_config: StoreConfig) -> None:
    check_bolt(
        neo4j_config.url, neo4j_config.neo4j_user, neo4j_config.neo4j_password, database=neo4j_config.neo4j_database
    )
