"""Writing a generated snapshot: the four tables (Parquet, CSV or JSON Lines, optionally split
into several files each), truth.json and a README.txt saying the data is synthetic."""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from graph.errors import ConfigError
from graph.progress import Progress, no_progress
from synth.tables import TABLES
from synth.truth import GENERATOR

logger = logging.getLogger(__name__)

FORMATS = ("parquet", "csv", "jsonl")
#: Files the generator writes besides the tables; ingest must ignore them.
SIDE_FILES = ("truth.json", "README.txt")
ROWS_PER_FILE = 5_000_000
_TABLE_FILE = re.compile(r"^(accounts|content|follows|links)([-_.].*)?\.(parquet|csv|jsonl|json|ndjson)$")


@dataclass
class Snapshot:
    """A generated snapshot in memory: the four tables (all columns as in the ingest spec) and the truth."""

    tables: dict[str, pa.Table]
    truth: dict[str, Any]


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ConfigError(f"synth: --format must be one of {', '.join(FORMATS)} (got {fmt!r})")


def write_snapshot(
    snap: Snapshot,
    out_dir: Path,
    fmt: str = "parquet",
    split: int = 0,
    force: bool = False,
    progress: Progress | None = None,
) -> list[str]:
    """Write the tables, truth.json and README.txt into `out_dir`; returns the file names written.

    `split` = files per table (0: one file per 5,000,000 rows). Refuses a directory that already
    holds table files unless `force`, which deletes those (and the side files) first, so no stale
    table of another format or split is left for ingest to pick up. Reports
    `progress("write", files written, files in all)`."""
    check_format(fmt)
    if split < 0:
        raise ConfigError(f"synth: --split must be >= 0 (got {split})")
    out_dir = Path(out_dir)
    _clear(out_dir, check_out_dir(out_dir, force))
    report = progress or no_progress
    parts = {name: split or max(1, math.ceil(snap.tables[name].num_rows / ROWS_PER_FILE)) for name in TABLES}
    total = sum(parts.values()) + len(SIDE_FILES)
    written: list[str] = []
    for name in TABLES:
        table, k = snap.tables[name], parts[name]
        bounds = np.linspace(0, table.num_rows, k + 1).astype(np.int64)
        for i in range(k):
            report("write", len(written), total)
            fname = f"{name}.{fmt}" if k == 1 else f"{name}-{i:04d}.{fmt}"
            _write_table(table.slice(int(bounds[i]), int(bounds[i + 1] - bounds[i])), out_dir / fname, fmt)
            written.append(fname)
    (out_dir / "truth.json").write_text(json.dumps(snap.truth, indent=1) + "\n", encoding="utf-8")
    (out_dir / "README.txt").write_text(_readme(snap.truth), encoding="utf-8")
    report("write", total, total)
    logger.debug("synth: wrote %d files to %s", total, out_dir)
    return written + list(SIDE_FILES)


def check_out_dir(out_dir: Path, force: bool) -> list[Path]:
    """The snapshot files already in `out_dir` (to replace); raises unless `force` when there are any."""
    old = sorted(_existing_table_files(Path(out_dir))) if Path(out_dir).is_dir() else []
    if old and not force:
        raise ConfigError(
            f"synth: {out_dir} already holds snapshot files ({old[0].name}, ...); "
            "use --force to replace them or choose an empty directory"
        )
    return old


def _clear(out_dir: Path, old: list[Path]) -> None:
    """Create `out_dir`; delete the old snapshot files (a table folder with its files) and side files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for p in old:
        if p.is_dir():
            for q in sorted(p.iterdir()):
                q.unlink()
            p.rmdir()
        else:
            p.unlink()
    for name in SIDE_FILES:
        (out_dir / name).unlink(missing_ok=True)


def _existing_table_files(out_dir: Path) -> list[Path]:
    found = []
    for p in out_dir.iterdir():
        if p.is_dir() and p.name in TABLES or _TABLE_FILE.match(p.name) or p.name in SIDE_FILES:
            found.append(p)
    return found


def _write_table(table: pa.Table, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        pq.write_table(table, path, compression="zstd")
    elif fmt == "csv":
        pacsv.write_csv(table, path)
    else:
        import duckdb

        con = duckdb.connect()
        try:
            con.execute("SET preserve_insertion_order = true")
            con.register("rows_", table)
            con.execute(f"COPY (SELECT * FROM rows_) TO '{_sql_path(path)}' (FORMAT JSON)")
        finally:
            con.close()


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _readme(truth: dict[str, Any]) -> str:
    return (
        "SYNTHETIC DATA - NOT REAL\n"
        "=========================\n\n"
        f"Generated by {GENERATOR} (crumbgraph synth), truth version {truth['version']},\n"
        f"seed {truth['seed']}, {truth['accounts']} accounts.\n"
        + f"Made with: crumbgraph synth --accounts {truth['accounts']} --seed {truth['seed']}"
        + (f" --background-mix {truth['background_mix']}" if "background_mix" in truth else "")
        + f" --world {truth['world']}"
        + "\n"
        + "\nEvery account, content item, URL and hashtag here was made up by a seeded random\n"
        "generator. Nothing describes a real person, account or site; domains use the reserved\n"
        ".example top-level domain. No media exists or is referenced.\n\n"
        f"truth.json lists what was planted: {len(truth['clusters'])} abusive clusters, "
        f"{len(truth['bridges'])} bridge accounts,\n{len(truth['trails'])} breadcrumb trails, "
        f"{len(truth['relays'])} relays, {len(truth['contacts'])} grooming-like contacts and "
        f"{len(truth['decoys'])} decoys.\n"
        "It is for tests and quality scoring only; detectors must not read it.\n"
        "See docs/synthetic-data.md in the crumbgraph repository.\n"
    )
