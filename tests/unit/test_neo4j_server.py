"""Unit tests of ops.neo4j_server without a JVM: conf, command line, ports, pid files, errors."""

from __future__ import annotations

import os
import socket
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import SecretStr

from api.settings import Settings
from graph.errors import ConfigError, StoreUnavailable
from ops import neo4j_server as ns


def _conf_dict(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


@pytest.fixture
def cfg(tmp_path: Path) -> ns.ServerConfig:
    return ns.ServerConfig(
        home=tmp_path / "n4j", bolt_port=17687, password="s3cret-pass", heap="768m", pagecache="256m"
    )


def test_conf_binds_localhost_bolt_port_auth_and_memory(cfg: ns.ServerConfig) -> None:
    conf = _conf_dict(ns.render_conf(cfg))

    assert conf["server.bolt.listen_address"] == ["127.0.0.1:17687"]
    assert conf["server.bolt.advertised_address"] == ["127.0.0.1:17687"]
    assert conf["server.default_listen_address"] == ["127.0.0.1"]
    assert conf["server.http.enabled"] == ["false"]
    assert conf["server.https.enabled"] == ["false"]
    assert conf["dbms.security.auth_enabled"] == ["true"]
    assert conf["server.memory.heap.max_size"] == ["768m"]
    assert conf["server.memory.pagecache.size"] == ["256m"]
    assert conf["server.directories.data"] == [str(cfg.home / "data")]
    assert conf["server.jvm.additional"] == list(ns.JVM_FLAGS)
    # every key but the repeatable JVM flag appears once (Neo4j's strict validation refuses duplicates)
    assert all(len(v) == 1 for k, v in conf.items() if k != "server.jvm.additional")


def test_conf_never_contains_the_password(cfg: ns.ServerConfig) -> None:
    assert cfg.password not in ns.render_conf(cfg)
    assert cfg.password not in repr(cfg)


def test_jvm_command_runs_entry_point_with_heap_and_add_opens(cfg: ns.ServerConfig) -> None:
    cmd = ns.jvm_command(cfg)

    assert cmd[0] == "java"
    assert {"-Xms768m", "-Xmx768m"} <= set(cmd)
    assert "--add-opens=java.base/java.nio=ALL-UNNAMED" in cmd
    assert "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED" in cmd
    main = cmd.index(ns.ENTRY_POINT)
    assert cmd[main - 2 : main] == ["-cp", f"{cfg.home / 'lib'}/*"]
    assert cmd[main + 1 :] == [f"--home-dir={cfg.home}", f"--config-dir={cfg.home / 'conf'}"]
    assert cfg.password not in " ".join(cmd)


def test_home_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = ns.ServerConfig(home=Path("rel"), password="x" * 8)
    assert cfg.home == tmp_path / "rel"
    assert cfg.uri == "bolt://127.0.0.1:7687"


def test_from_settings_uses_settings_and_port_zero_picks_a_free_port(tmp_path: Path) -> None:
    settings = Settings(
        neo4j_home=tmp_path, neo4j_bolt_port=7999, neo4j_heap="2g", neo4j_password=SecretStr("pw-from-settings")
    )

    cfg = ns.ServerConfig.from_settings(settings)
    assert (cfg.home, cfg.bolt_port, cfg.heap, cfg.password) == (tmp_path, 7999, "2g", "pw-from-settings")

    picked = ns.ServerConfig.from_settings(settings, bolt_port=0)
    assert picked.bolt_port not in (0, 7999)
    assert not ns.port_in_use(picked.bolt_port)


def test_port_in_use_sees_a_listener() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert ns.port_in_use(port)
    assert not ns.port_in_use(port)


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("heap", "1 GB", "neo4j_heap"),
        ("pagecache", "0m", "neo4j_pagecache"),
        ("bolt_port", 70000, "neo4j_bolt_port"),
        ("user", "alice", "neo4j_user"),
        ("password", "short", "8 characters"),
    ],
)
def test_validate_rejects_bad_settings(cfg: ns.ServerConfig, field: str, value: object, needle: str) -> None:
    bad = replace(cfg, **{field: value})
    with pytest.raises(ConfigError, match=needle):
        bad.validate()


def test_start_refuses_a_busy_port_before_touching_maven(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        cfg = ns.ServerConfig(home=tmp_path, bolt_port=sock.getsockname()[1], password="p" * 8, mvn="/nonexistent/mvn")
        with pytest.raises(ConfigError, match=f"port {cfg.bolt_port} .* in use"):
            ns.start(cfg)
    assert not (tmp_path / "lib").exists()


def test_fetch_jars_without_maven_is_a_config_error(cfg: ns.ServerConfig) -> None:
    with pytest.raises(ConfigError, match="Maven"):
        ns.fetch_jars(replace(cfg, mvn="/nonexistent/mvn"))


def test_fetch_jars_is_skipped_when_stamp_matches_pom(cfg: ns.ServerConfig) -> None:
    cfg.lib_dir.mkdir(parents=True)
    (cfg.lib_dir / f".crumbgraph-{ns.NEO4J_VERSION}-{ns.pom_digest()}").write_text("x")
    # mvn does not exist: reaching it would raise, so the stamp must short-cut
    assert ns.fetch_jars(replace(cfg, mvn="/nonexistent/mvn")) == cfg.lib_dir


def test_pom_pins_the_version_the_launcher_names() -> None:
    pom = ET.parse(ns.POM).getroot()
    nsmap = {"m": "http://maven.apache.org/POM/4.0.0"}
    assert pom.findtext("m:properties/m:neo4j.version", namespaces=nsmap) == ns.NEO4J_VERSION
    artifacts = {
        (d.findtext("m:groupId", namespaces=nsmap), d.findtext("m:artifactId", namespaces=nsmap))
        for d in pom.iterfind("m:dependencies/m:dependency", nsmap)
    }
    assert {("org.neo4j", "neo4j"), ("org.neo4j.app", "neo4j-server")} <= artifacts


def test_configured_port_reads_the_written_conf(cfg: ns.ServerConfig) -> None:
    ns.write_conf(cfg)
    assert replace(cfg, bolt_port=1234).configured_port() == 17687


def test_stale_pid_file_means_not_running(cfg: ns.ServerConfig) -> None:
    cfg.run_dir.mkdir(parents=True)
    cfg.pid_file.write_text(f"{os.getpid()}\n")  # alive, but not a Neo4j of this home

    assert ns.read_pid(cfg) is None
    assert not cfg.pid_file.exists()
    st = ns.status(cfg)
    assert (st.running, st.bolt_ok, st.pid) == (False, False, None)
    assert ns.stop(cfg) is None


def test_check_bolt_unreachable_is_store_unavailable_without_password() -> None:
    port = ns.free_port()
    with pytest.raises(StoreUnavailable) as info:
        ns.check_bolt(f"bolt://127.0.0.1:{port}", "neo4j", "do-not-print-me", timeout=1.0)
    assert f"127.0.0.1:{port}" in str(info.value)
    assert "do-not-print-me" not in str(info.value)


def test_log_tail_shows_the_last_lines(cfg: ns.ServerConfig) -> None:
    cfg.logs_dir.mkdir(parents=True)
    cfg.log_file.write_text("".join(f"line {i}\n" for i in range(100)))
    tail = ns.log_tail(cfg, lines=3)
    assert "line 99" in tail and "line 97" in tail and "line 96" not in tail


def test_cli_status_of_an_empty_home_says_not_running_with_exit_3(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from api.cli import build_app

    result = CliRunner().invoke(build_app(), ["neo4j", "status", "--home", str(tmp_path)])

    assert result.exit_code == 3
    assert f"not running (home {tmp_path})" in result.output
