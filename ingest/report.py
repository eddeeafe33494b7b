"""The ingest report (per-table counts, ignored files, digest) and its JSON form (the CLI renders
it: api/cli_ingest.py)."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPORT_FILE = "ingest-report.json"
QUARANTINE_FILE = "quarantine.jsonl"
#: the folder under the state folder that holds one folder per ingest (report + quarantine)
INGESTS_DIR = "ingests"


def new_ingest_dir(state_dir: Path, now: datetime | None = None) -> Path:
    """A new, private (0700) folder `state_dir/ingests/<UTC time>-<random>/` for one ingest's
    report and quarantine: never beside the snapshot, which may sit on read-only evidence media."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    base = Path(state_dir) / INGESTS_DIR
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = base / f"{stamp}-{secrets.token_hex(4)}"
    path.mkdir(mode=0o700)
    os.chmod(path, 0o700)
    return path


@dataclass
class TableReport:
    """Counts of one table. `accepted` includes duplicates; `written` = accepted - duplicates.

    `bare_endpoints`: distinct ids this table references that this snapshot does not define
    (per node kind: account, content), i.e. the bare nodes it needs. `bare_created`: how many
    of them the store did not have yet and created (0 on a re-run).
    """

    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    written: int = 0
    bare_endpoints: dict[str, int] = field(default_factory=dict)
    bare_created: dict[str, int] = field(default_factory=dict)
    rejected_by_rule: dict[str, int] = field(default_factory=dict)
    digest: str | None = None

    @property
    def bare_total(self) -> int:
        return sum(self.bare_endpoints.values())


@dataclass
class IngestReport:
    """What one ingest did. Saved as ingest-report.json beside the quarantine file."""

    snapshot: str
    store: str | None = None
    status: str = "running"  # running | ok | failed
    digest: str | None = None
    tables: dict[str, TableReport] = field(default_factory=dict)
    nodes: dict[str, int] = field(default_factory=dict)  # url / hashtag nodes written
    ignored_files: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    quarantine_file: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    seconds: float | None = None
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase: stage, dedup, write

    @property
    def rows_read(self) -> int:
        return sum(t.rows_read for t in self.tables.values())

    @property
    def rejected(self) -> int:
        return sum(t.rejected for t in self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["totals"] = {
            k: sum(getattr(t, k) for t in self.tables.values())
            for k in ("rows_read", "accepted", "rejected", "duplicates", "written")
        }
        return d

    def save(self, directory: Path) -> Path:
        """Write ingest-report.json atomically into `directory`."""
        path = Path(directory) / REPORT_FILE
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path
