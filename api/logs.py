"""Logging at the edge: one handler on the root logger, configured once by the CLI entry (and
`serve`), writing structured lines (`key=value`, or JSON lines), and the redaction that keeps
secrets out of logs and the audit log alike. Library modules only call
`logging.getLogger(__name__)`."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json"]

#: a value whose name holds one of these is never written anywhere
SECRET_WORDS = ("key", "password", "secret", "token", "authorization")
REDACTED = "[redacted]"

# attributes every LogRecord has; anything else on a record came in through `extra=`
# (and uvicorn's `color_message`, the same message with terminal colours)
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}


def is_secret_name(name: object) -> bool:
    return any(w in str(name).lower() for w in SECRET_WORDS)


def redact(obj: Any) -> Any:
    """Drop values whose name suggests a secret, at any depth."""
    if isinstance(obj, dict):
        return {k: (REDACTED if is_secret_name(k) else redact(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact(v) for v in obj]
    return obj


class StructuredFormatter(logging.Formatter):
    """One line per record: `at=… level=… logger=… msg="…" key=value …` (or the same fields as a
    JSON object). Fields passed with `extra=` are added, secret-named ones redacted."""

    def __init__(self, fmt: LogFormat = "text") -> None:
        super().__init__()
        self.json = fmt == "json"

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        at = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        out: dict[str, Any] = {"at": at, "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        extra = {k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS and not k.startswith("_")}
        out.update(redact(extra))
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return out

    def format(self, record: logging.LogRecord) -> str:
        fields = self.fields(record)
        if self.json:
            return json.dumps(fields, default=str, separators=(",", ":"))
        return " ".join(f"{k}={_logfmt(v)}" for k, v in fields.items())


def _logfmt(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text and not any(c in text for c in ' "=\n\t\\'):
        return text
    return json.dumps(text)


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is when a record is emitted (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # logging must never break the caller
            self.handleError(record)


def configure_logging(level: str = "WARNING", fmt: LogFormat = "text") -> logging.Handler:
    """Route every logger through one structured handler on stderr at `level`. Calling it
    again replaces the handler it installed before (and leaves any other handler alone)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(old)
    handler = _StderrHandler()
    handler.setFormatter(StructuredFormatter(fmt))
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
