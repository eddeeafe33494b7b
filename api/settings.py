"""The one Settings object (env prefix CRUMBGRAPH_), read once at the edge and passed down."""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from graph.errors import ConfigError
from graph.store import StoreConfig

if TYPE_CHECKING:
    from ingest.guard import ReaderLimits

logger = logging.getLogger(__name__)

#: The public development password of the project-managed Neo4j (`crumbgraph neo4j start`).
#: Everyone can read it here, so `crumbgraph serve` refuses it unless bound to loopback.
DEV_NEO4J_PASSWORD = "crumbgraph-dev-password"
PSEUDONYM_SECRET_FILE = "pseudonym.secret"


class Settings(BaseSettings):
    """Configuration of crumbgraph. Every field can be set as CRUMBGRAPH_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="CRUMBGRAPH_", extra="ignore")

    store: str = "embedded:./crumbgraph.duckdb"
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = SecretStr(DEV_NEO4J_PASSWORD)  # public dev default: see check_serve_security
    neo4j_database: str = "neo4j"
    batch_size: int = 10_000

    # The project-managed Neo4j server (`crumbgraph neo4j start`).
    neo4j_uri: str = "bolt://127.0.0.1:7687"
    neo4j_home: Path = Path(".neo4j")
    neo4j_bolt_port: int = 7687
    neo4j_heap: str = "1g"
    neo4j_pagecache: str = "512m"

    runs_dir: Path = Path("runs")
    keys_dir: Path = Path("keys")  # evidence signing key (`crumbgraph keys init`; private key mode 0600)
    require_neo4j: bool = False

    # The investigator API (`crumbgraph serve`). State (users, cases, audit log) lives in
    # a SQLite file under state_dir, apart from the graph, so the API works over both stores.
    state_dir: Path = Path("state")
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_rate_limit: float = 50.0  # requests per second per API key (token bucket refill)
    api_rate_burst: int = 100  # bucket size
    api_max_body_bytes: int = 65_536  # larger request bodies get 413
    api_max_json_depth: int = 32  # request bodies nested deeper (arrays/objects) get 400, before parsing
    # Every request, before authentication: a token bucket per client address
    api_address_rate_limit: float = 200.0
    api_address_rate_burst: int = 400
    # Failed key checks (argon2) per client address: a bucket refilled this slowly; when it is
    # empty, that address's new keys get 429 (keys verified before, from anywhere, still pass)
    api_auth_failure_rate: float = 1.0
    api_auth_failure_burst: int = 20
    api_argon2_concurrency: int = 0  # argon2 checks at once (0: half the CPUs, at least 1)
    api_argon2_wait_seconds: float = 10.0  # a key check waiting longer for a slot gets 503
    api_auth_negative_cache_seconds: float = 5.0  # a wrong key is refused without argon2 this long
    # Case reports in evidence packages are rendered to PDF by this headless chromium (a path or a
    # command on PATH); without one, packages hold the printable report.html only
    chromium: str = "/usr/bin/chromium"
    api_exports_per_case: int = 20  # evidence packages kept per case; more get 409
    api_key_cache_seconds: float = 60.0  # a verified key skips argon2 for this long
    api_results_cache_runs: int = 4  # results indexes kept in memory
    # HMAC key for auditors' pseudonyms; unset: a random one generated once in state_dir (mode 0600)
    pseudonym_secret: SecretStr | None = None
    exports_dir: Path = Path("exports")  # evidence packages made through the API (POST /cases/{id}/exports)

    # Ingest. POST /ingest reads only snapshot folders below ingest_root (paths in the request are
    # relative to it); every ingest's report and quarantine go under state_dir/ingests/.
    ingest_root: Path = Path("snapshots")
    ingest_max_decompressed_bytes: int = 4 << 30  # a .gz file may expand to at most this much...
    ingest_max_compression_ratio: int = 100  # ...and to at most this many times its size (past 64 MiB)
    ingest_max_line_bytes: int = 1 << 20  # a longer line is skipped unread and its row quarantined

    # Logging (configured by the CLI entry and `serve`, never by library code): one line per
    # record on stderr. Unset level: WARNING for commands, INFO for `serve`.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = None
    log_format: Literal["text", "json"] = "text"  # text: key=value pairs; json: one object a line

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    def store_config(self, url: str | None = None) -> StoreConfig:
        return StoreConfig(
            url=url or self.store,
            neo4j_user=self.neo4j_user,
            neo4j_password=self.neo4j_password.get_secret_value(),
            neo4j_database=self.neo4j_database,
            batch_size=self.batch_size,
        )


def reader_limits(settings: Settings) -> ReaderLimits:
    """What one snapshot file may cost the ingest readers (decompression bombs, huge lines)."""
    from ingest.guard import ReaderLimits

    return ReaderLimits(
        max_decompressed_bytes=settings.ingest_max_decompressed_bytes,
        max_compression_ratio=settings.ingest_max_compression_ratio,
        max_line_bytes=settings.ingest_max_line_bytes,
    )


def pseudonym_key(settings: Settings) -> bytes:
    """The HMAC key of auditors' pseudonyms: `settings.pseudonym_secret` if set, else a random
    secret generated once and kept in `state_dir/pseudonym.secret` (mode 0600), so pseudonyms are
    stable per deployment and differ between deployments. Never logged."""
    if settings.pseudonym_secret is not None:
        value = settings.pseudonym_secret.get_secret_value()
        if not value:
            raise ConfigError("pseudonym_secret: set but empty; unset it to have one generated")
        return value.encode()
    path = Path(settings.state_dir) / PSEUDONYM_SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: two processes starting at once agree on the first one written
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(32) + "\n")
            logger.info("generated a pseudonym secret in %s", path)
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise ConfigError(f"{path}: mode {oct(path.stat().st_mode & 0o777)} is too open; chmod 600 it")
    value = path.read_text().strip()
    if not value:
        raise ConfigError(f"{path}: empty pseudonym secret; delete it to have one generated")
    return value.encode()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_serve_security(settings: Settings, host: str) -> list[str]:
    """Refuse (ConfigError) to serve a Neo4j store reached with the public development password on
    a non-loopback interface; on loopback it is allowed with a warning (returned, never the password)."""
    uses_neo4j = "://" in settings.store and not settings.store.startswith("embedded:")
    if not uses_neo4j or settings.neo4j_password.get_secret_value() != DEV_NEO4J_PASSWORD:
        return []
    if not is_loopback(host):
        raise ConfigError(
            f"refusing to serve on {host}: the Neo4j store {settings.store} uses the public development "
            "password; set CRUMBGRAPH_NEO4J_PASSWORD (and the server's password) or bind to 127.0.0.1"
        )
    return [
        f"WARNING: the Neo4j store {settings.store} uses the public development password; "
        "acceptable on loopback only — set CRUMBGRAPH_NEO4J_PASSWORD before exposing this server"
    ]
