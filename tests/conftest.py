"""Shared fixtures: the real Neo4j (from CRUMBGRAPH_NEO4J_URI) and synthetic data helpers.

Tests marked `neo4j` use the `neo4j_config` fixture. Without CRUMBGRAPH_NEO4J_URI they
skip with a reason; with CRUMBGRAPH_REQUIRE_NEO4J=1 (as CI sets) they fail instead.
"""

from __future__ import annotations

import os

import pytest

from graph.store import StoreConfig


def _require_neo4j() -> bool:
    return os.environ.get("CRUMBGRAPH_REQUIRE_NEO4J", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def neo4j_config() -> StoreConfig:
    """Connection settings of the test Neo4j; skips (locally) or fails (CI) when absent."""
    uri = os.environ.get("CRUMBGRAPH_NEO4J_URI")
    if not uri:
        msg = "CRUMBGRAPH_NEO4J_URI is not set: start one with `crumbgraph neo4j start`"
        if _require_neo4j():
            pytest.fail(f"CRUMBGRAPH_REQUIRE_NEO4J=1 but {msg}")
        pytest.skip(msg)
    cfg = StoreConfig(
        url=uri,
        neo4j_user=os.environ.get("CRUMBGRAPH_NEO4J_USER", "neo4j"),
        neo4j_password=os.environ.get("CRUMBGRAPH_NEO4J_PASSWORD", ""),
        neo4j_database=os.environ.get("CRUMBGRAPH_NEO4J_DATABASE", "neo4j"),
    )
    from neo4j import GraphDatabase
    from neo4j.exceptions import AuthError, Neo4jError, ServiceUnavailable

    try:
        with GraphDatabase.driver(uri, auth=(cfg.neo4j_user, cfg.neo4j_password)) as drv:
            drv.verify_connectivity()
    except (ServiceUnavailable, AuthError, Neo4jError, OSError) as exc:
        msg = f"Neo4j at {uri} is not reachable: {exc}"
        if _require_neo4j():
            pytest.fail(msg)
        pytest.skip(msg)
    return cfg


@pytest.fixture(autouse=True)
def _restore_root_logging():
    """A CLI command run inside a test configures the root logger (api/logs.py) for the whole
    process; put the handlers and level back so no later test inherits them."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
