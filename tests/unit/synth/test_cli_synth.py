"""The `crumbgraph synth` command."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from api.cli import build_app
from graph.errors import ConfigError


def test_cli_synth_writes_a_snapshot(tmp_path):
    result = CliRunner().invoke(
        build_app(), ["synth", "--accounts", "1500", "--seed", "3", "--out", str(tmp_path / "o"), "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    assert "planted" in result.output
    assert json.loads((tmp_path / "o" / "truth.json").read_text())["accounts"] == 1500
    assert {p.name for p in (tmp_path / "o").iterdir()} == {
        "accounts.csv",
        "content.csv",
        "follows.csv",
        "links.csv",
        "truth.json",
        "README.txt",
    }
    bad = CliRunner().invoke(build_app(), ["synth", "--accounts", "1500", "--out", str(tmp_path / "o")])
    assert bad.exit_code != 0 and isinstance(bad.exception, ConfigError)  # --out already holds one


def test_cli_synth_background_mix(tmp_path):
    result = CliRunner().invoke(
        build_app(),
        [
            "synth",
            "--accounts",
            "1500",
            "--seed",
            "3",
            "--out",
            str(tmp_path / "m"),
            "--background-mix",
            "0.5",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    truth = json.loads((tmp_path / "m" / "truth.json").read_text())
    assert truth["background_mix"] == 0.5 and truth["incidental"]
    assert "--background-mix 0.5" in (tmp_path / "m" / "README.txt").read_text()
