"""docker-compose.yml and Dockerfile: valid against the compose-spec JSON schema (offline), and wired
as operations.md describes (Neo4j 5.26 with auth, healthcheck and volume; the API waits for it)."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    # check-jsonschema vendors the compose-spec schema, so no network is needed
    schema = json.loads((files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_compose_file_matches_the_compose_spec(compose: dict, validator) -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []


def test_the_schema_does_reject_a_broken_file(compose: dict, validator) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["api"]["depends_on"]["neo4j"]["condition"] = "when_it_feels_like_it"
    broken["services"]["neo4j"]["healthcheck"]["retries"] = "many"
    assert len(list(validator.iter_errors(broken))) >= 2


def test_neo4j_service_has_auth_from_env_healthcheck_and_volume(compose: dict) -> None:
    neo4j = compose["services"]["neo4j"]

    assert neo4j["image"] == "neo4j:5.26-community"
    # the password comes only from the environment, and is required (no default in the file)
    assert re.fullmatch(r"neo4j/\$\{CRUMBGRAPH_NEO4J_PASSWORD:\?[^}]*\}", neo4j["environment"]["NEO4J_AUTH"])
    assert "RETURN 1" in " ".join(neo4j["healthcheck"]["test"])
    assert any(v.split(":")[1] == "/data" for v in neo4j["volumes"])
    assert all(p.startswith("127.0.0.1:") for p in neo4j.get("ports", []))


def test_api_service_is_built_configured_by_env_and_waits_for_neo4j(compose: dict) -> None:
    api = compose["services"]["api"]

    assert api["build"]["dockerfile"] == "Dockerfile"
    assert api["command"] == ["crumbgraph", "serve"]
    assert api["depends_on"] == {"neo4j": {"condition": "service_healthy"}}
    env = api["environment"]
    assert all(key.startswith("CRUMBGRAPH_") for key in env)
    assert env["CRUMBGRAPH_STORE"] == "bolt://neo4j:7687"
    assert env["CRUMBGRAPH_NEO4J_PASSWORD"].startswith("${CRUMBGRAPH_NEO4J_PASSWORD:?")
    assert set(compose["volumes"]) >= {
        v.split(":")[0] for s in compose["services"].values() for v in s.get("volumes", [])
    }


def test_dockerfile_installs_the_package_and_runs_as_non_root() -> None:
    lines = [
        ln.strip()
        for ln in (ROOT / "Dockerfile").read_text().splitlines()
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    instructions = [ln.split()[0] for ln in lines if ln.split()[0].isupper()]

    assert lines[0] == "FROM python:3.11-slim"
    assert any(re.match(r"RUN pip install \.(\s|$)", ln) for ln in lines)
    users = [ln.split()[1] for ln in lines if ln.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    # the non-root user is in force for the command
    assert instructions.index("USER") < instructions.index("CMD")
    assert lines[-1] == 'CMD ["crumbgraph", "serve"]'
    # every package pyproject.toml ships (its `include` patterns) is copied in
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = [pattern.rstrip("*") for pattern in include]
    assert {"ingest", "graph", "detectors", "casework", "api"} <= set(packages)
    for package in packages:
        assert f"COPY {package} ./{package}" in lines
