"""The one Settings object (env prefix CRUMBGRAPH_), read once at the edge and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from graph.store import StoreConfig


class Settings(BaseSettings):
    """Configuration of crumbgraph. Every field can be set as CRUMBGRAPH_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="CRUMBGRAPH_", extra="ignore")

    store: str = "embedded:./crumbgraph.duckdb"
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = SecretStr("crumbgraph-dev-password")
    neo4j_database: str = "neo4j"
    batch_size: int = 10_000

    # The project-managed Neo4j server (`crumbgraph neo4j start`).
    neo4j_uri: str = "bolt://127.0.0.1:7687"
    neo4j_home: Path = Path(".neo4j")
    neo4j_bolt_port: int = 7687
    neo4j_heap: str = "1g"
    neo4j_pagecache: str = "512m"

    runs_dir: Path = Path("runs")
    keys_dir: Path = Path("keys")         # evidence signing key (`crumbgraph keys init`; private key mode 0600)
    require_neo4j: bool = False

    # The investigator API (`crumbgraph serve`). State (users, cases, audit log) lives in
    # a SQLite file under state_dir, apart from the graph, so the API works over both stores.
    state_dir: Path = Path("state")
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_rate_limit: float = 50.0          # requests per second per API key (token bucket refill)
    api_rate_burst: int = 100             # bucket size
    api_max_body_bytes: int = 65_536      # larger request bodies get 413
    api_key_cache_seconds: float = 60.0   # a verified key skips argon2 for this long
    api_results_cache_runs: int = 4       # results indexes kept in memory
    pseudonym_secret: SecretStr = SecretStr("crumbgraph-dev-pseudonym-secret")  # HMAC key for auditors' view

    def store_config(self, url: str | None = None) -> StoreConfig:
        return StoreConfig(url=url or self.store, neo4j_user=self.neo4j_user,
                           neo4j_password=self.neo4j_password.get_secret_value(),
                           neo4j_database=self.neo4j_database, batch_size=self.batch_size)
