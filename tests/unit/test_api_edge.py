"""The CLI edge: Settings read once per invocation and handed down, logging configured there
(structured lines, level from Settings, secrets redacted)."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
from typer.testing import CliRunner

from api.cli import build_app
from api.logs import StructuredFormatter, configure_logging
from api.settings import Settings
from graph.errors import ConfigError


@pytest.fixture
def root_logging():
    """Leave the root logger as the test found it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "api.test", "levelname": "WARNING", "msg": msg, "args": args})
    record.__dict__.update(extra)
    return record


def test_text_lines_are_key_value_with_secret_named_fields_redacted():
    line = StructuredFormatter("text").format(
        _record("refused %s", "a key", route="/users", api_key="cg_0123_s3cret", params={"password": "pw"})
    )
    assert line.startswith("at=") and " level=WARNING logger=api.test " in line
    assert 'msg="refused a key"' in line and "route=/users" in line
    assert "api_key=[redacted]" in line and "s3cret" not in line and '"pw"' not in line


def test_json_lines_carry_the_same_fields():
    doc = json.loads(StructuredFormatter("json").format(_record("hello", run_id="r1", token="t0p")))
    assert (doc["level"], doc["logger"], doc["msg"], doc["run_id"], doc["token"]) == (
        "WARNING",
        "api.test",
        "hello",
        "r1",
        "[redacted]",
    )


def test_configure_logging_installs_one_handler_at_the_level(root_logging, monkeypatch):
    configure_logging("INFO")
    configure_logging("DEBUG", "json")
    ours = [h for h in root_logging.handlers if isinstance(h.formatter, StructuredFormatter)]
    assert len(ours) == 1 and root_logging.level == logging.DEBUG
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)  # the handler writes to the stderr of the moment
    logging.getLogger("casework.x").debug("opened", extra={"state_dir": "/tmp/s"})
    assert json.loads(stderr.getvalue())["state_dir"] == "/tmp/s"


def test_the_root_callback_reads_settings_once_and_sets_the_log_level(root_logging, tmp_path, monkeypatch):
    monkeypatch.setenv("CRUMBGRAPH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("CRUMBGRAPH_LOG_LEVEL", "error")
    made = []
    real_init = Settings.__init__

    def counting_init(self, *args, **kwargs):
        made.append(1)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(Settings, "__init__", counting_init)
    runner, cli = CliRunner(), build_app()
    added = runner.invoke(cli, ["users", "add", "alice", "--role", "investigator"])
    assert added.exit_code == 0, added.output
    assert len(made) == 1 and root_logging.level == logging.ERROR
    assert runner.invoke(cli, ["audit", "verify"]).exit_code == 0
    assert len(made) == 2  # one read per invocation, none inside the commands


def test_bad_settings_are_a_config_error_naming_the_field(monkeypatch):
    monkeypatch.setenv("CRUMBGRAPH_API_PORT", "eighty")
    result = CliRunner().invoke(build_app(), ["users", "list"])
    assert isinstance(result.exception, ConfigError) and "api_port" in str(result.exception)
