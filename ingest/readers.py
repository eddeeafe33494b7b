"""Snapshot readers: find each table's files (CSV, Parquet, JSON Lines) and stream them as
all-string Arrow batches in bounded memory. Anything that is not a table file is reported."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from graph.errors import IngestError
from ingest.guard import (
    PLACEHOLDER,
    REJECT_VALUE_BYTES,
    DecompressionBudget,
    GuardedCsvStream,
    ReaderLimits,
    ReaderReject,
    shown,
)

logger = logging.getLogger(__name__)

#: the tables of ingest format v1, in load order
TABLES = ("accounts", "content", "follows", "links")

#: file suffix -> (format, compression)
SUFFIXES: dict[str, tuple[str, str | None]] = {
    ".csv": ("csv", None),
    ".csv.gz": ("csv", "gzip"),
    ".parquet": ("parquet", None),
    ".pq": ("parquet", None),
    ".jsonl": ("jsonl", None),
    ".ndjson": ("jsonl", None),
    ".json": ("jsonl", None),
    ".jsonl.gz": ("jsonl", "gzip"),
    ".ndjson.gz": ("jsonl", "gzip"),
}

#: a file of a table is TABLE.ext or TABLE<sep>anything.ext, or any file under a TABLE/ folder
_STEM = re.compile(r"^(?P<table>" + "|".join(TABLES) + r")(?:[-_.].*)?$", re.IGNORECASE)

#: column names starting with this are ingest's own and never user data
INTERNAL_PREFIX = "__cg_"

#: CSV read block: bounded memory per batch, big enough to amortise per-batch overhead
CSV_BLOCK_BYTES = 16 << 20


@dataclass(frozen=True)
class SnapshotFile:
    """One file of one table. `name` is the path relative to the snapshot directory (posix)."""

    path: Path
    name: str
    table: str
    fmt: str
    compression: str | None
    size: int
    root: Path | None = None  # the resolved snapshot folder; readers refuse a path that leaves it


@dataclass(frozen=True)
class IgnoredFile:
    name: str
    reason: str


@dataclass
class Discovery:
    files: dict[str, list[SnapshotFile]]
    ignored: list[IgnoredFile]


def _split_suffix(name: str) -> tuple[str, str] | None:
    lower = name.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], suffix
    return None


def _inside(path: Path, root: Path) -> bool:
    """Whether `path`, every symlink resolved, lies in the (resolved) folder `root`."""
    try:
        return Path(os.path.realpath(path)).is_relative_to(root)
    except (OSError, ValueError):
        return False


def _walk(root: Path) -> tuple[dict[str, Path], list[IgnoredFile]]:
    """Every file below `root` by relative posix path, never following a symlinked folder; a
    symlink that leads outside `root` is ignored unread (its target is never opened or named)."""
    paths: dict[str, Path] = {}
    refused: list[IgnoredFile] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        for d in sorted(dirnames):
            if (here / d).is_symlink():
                rel = (here / d).relative_to(root).as_posix()
                refused.append(IgnoredFile(rel, "symlinked folder (not followed)"))
        for name in filenames:
            path = here / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink() and not _inside(path, root):
                refused.append(IgnoredFile(rel, "symlink that leads outside the snapshot folder (refused, not read)"))
            else:
                paths[rel] = path
    return paths, refused


def snapshot_below(root: Path, requested: str | Path) -> Path:
    """The snapshot folder `requested` (relative to `root`, or absolute) if it lies below `root`
    once every symlink is resolved; IngestError otherwise. The message names neither the
    resolved path nor whether anything exists there (a caller learns nothing outside `root`)."""
    base = Path(os.path.realpath(root))
    try:
        path = Path(os.path.realpath(base / requested))
    except (ValueError, OSError):  # a NUL byte, a name too long: nothing below the root is named so
        path = base
    if not path.is_relative_to(base) or path == base:
        raise IngestError(
            f"snapshot_dir {str(requested)[:200]!r}: not below the ingest root (CRUMBGRAPH_INGEST_ROOT); "
            "give a snapshot folder relative to it",
            field="snapshot_dir",
        )
    try:
        found = path.is_dir()
    except OSError:
        found = False
    if not found:
        raise IngestError(
            f"snapshot_dir {str(requested)[:200]!r}: no such snapshot folder below the ingest root",
            field="snapshot_dir",
        )
    return path


def discover(snapshot_dir: Path) -> Discovery:
    """Assign every file under `snapshot_dir` to a table, or to the ignored list with a reason.

    Files of a table are ordered by relative path; this order (then row order) decides
    which row is "last" when ids repeat. Symlinks are followed only while they stay inside the
    snapshot folder; symlinked folders are not followed.
    """
    given = Path(snapshot_dir)
    if not given.is_dir():
        raise IngestError(f"snapshot directory {str(given)!r} does not exist or is not a directory", file=str(given))
    root = Path(os.path.realpath(given))
    files: dict[str, list[SnapshotFile]] = {t: [] for t in TABLES}
    paths, ignored = _walk(root)
    for rel, path in sorted(paths.items()):
        if not path.is_file():
            ignored.append(IgnoredFile(rel, "not a regular file"))
            continue
        table, why, split = _table_of(rel)
        if table is None or split is None:
            ignored.append(IgnoredFile(rel, why))
            continue
        fmt, compression = SUFFIXES[split[1].lower()]
        files[table].append(SnapshotFile(path, rel, table, fmt, compression, path.stat().st_size, root))
    ignored.sort(key=lambda i: i.name)
    logger.info(
        "%s: %s; %d file(s) ignored",
        root,
        ", ".join(f"{t} {len(fs)} file(s)" for t, fs in files.items()),
        len(ignored),
    )
    return Discovery(files, ignored)


def _table_of(rel: str) -> tuple[str | None, str, tuple[str, str] | None]:
    """(table, why not, (stem, suffix)) of a file's relative path."""
    parts = rel.split("/")
    split = _split_suffix(parts[-1])
    if split is None:
        return None, f"unknown file type (expected one of {', '.join(sorted(SUFFIXES))})", None
    if len(parts) > 1:
        table = parts[0].lower() if parts[0].lower() in TABLES else None
        why = f"folder {parts[0]!r} is not a table ({', '.join(TABLES)})"
    else:
        m = _STEM.match(split[0])
        table = m.group("table").lower() if m else None
        why = f"file name does not start with a table name ({', '.join(TABLES)})"
    if any(p.startswith(".") for p in parts):
        return None, "hidden file", split
    return table, why, split


# -- column conversion -------------------------------------------------------------------


def _json_text(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def to_string_array(arr: pa.Array | pa.ChunkedArray, *, file: str, field: str) -> pa.Array:
    """Render any Arrow column as strings the way a CSV export would spell it.

    Timestamps become ISO-8601 (UTC when zoned), nested values JSON text; invalid UTF-8 in a
    binary column is an IngestError naming file and field.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    try:
        if pa.types.is_string(t):
            return arr
        if pa.types.is_large_string(t) or pa.types.is_string_view(t):
            return arr.cast(pa.string())
        if pa.types.is_dictionary(t):
            return to_string_array(arr.dictionary_decode(), file=file, field=field)
        if (
            pa.types.is_binary(t)
            or pa.types.is_large_binary(t)
            or pa.types.is_binary_view(t)
            or pa.types.is_fixed_size_binary(t)
        ):
            return arr.cast(pa.binary()).cast(pa.string())
        if pa.types.is_timestamp(t):
            unit_us = arr.cast(pa.timestamp("us", "UTC" if t.tz else None), safe=False)
            return unit_us.cast(pa.string())
        if pa.types.is_null(t):
            return pa.nulls(len(arr), pa.string())
        if pa.types.is_nested(t):
            return pa.array([None if v is None else _json_text(v) for v in arr.to_pylist()], pa.string())
        return arr.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise IngestError(f"{file}: column {field!r} cannot be read as text ({exc})", file=file, field=field) from exc


def _stringify(batch: pa.RecordBatch | pa.Table, file: str) -> pa.Table:
    names = [n.strip() for n in batch.schema.names]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise IngestError(f"{file}: duplicate column name(s) {dup}", file=file, field=dup[0])
    cols = [to_string_array(batch.column(i), file=file, field=n) for i, n in enumerate(names)]
    return pa.Table.from_arrays(cols, names=names)


# -- readers -----------------------------------------------------------------------------


def read_header(f: SnapshotFile, limits: ReaderLimits | None = None) -> list[str] | None:
    """Column names of a CSV or Parquet file (None for JSON Lines, whose columns are per row)."""
    try:
        if f.fmt == "csv":
            with _guarded(f, limits or ReaderLimits(), columns=1, header_only=True) as stream:
                reader = pacsv.open_csv(stream, read_options=pacsv.ReadOptions(block_size=1 << 16))
                return list(reader.schema.names)
        if f.fmt == "parquet":
            return list(pq.ParquetFile(_checked_path(f)).schema_arrow.names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _unreadable(f, exc) from exc
    return None


def _checked_path(f: SnapshotFile) -> Path:
    """`f.path`, refused if it now resolves outside its snapshot (a symlink swapped in after
    discovery): the readers never open a file outside the snapshot folder."""
    if f.root is not None and not _inside(f.path, f.root):
        raise IngestError(f"{f.name}: now leads outside the snapshot folder; refused", file=f.name)
    return f.path


def _guarded(f: SnapshotFile, limits: ReaderLimits, *, columns: int, header_only: bool = False) -> GuardedCsvStream:
    source = pa.input_stream(str(_checked_path(f)), compression=f.compression)
    compressed = f.size if f.compression is not None else None
    return GuardedCsvStream(
        source, f.name, limits, columns=columns, compressed_bytes=compressed, header_only=header_only
    )


def _unreadable(f: SnapshotFile, exc: BaseException) -> IngestError:
    if isinstance(exc, IngestError):
        return exc
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "UTF8" in msg or "UTF-8" in msg or isinstance(exc, UnicodeDecodeError):
        return IngestError(f"{f.name}: header is not valid UTF-8 ({msg})", file=f.name, row=1)
    return IngestError(f"{f.name}: unreadable {f.fmt} file ({msg})", file=f.name)


def iter_batches(
    f: SnapshotFile,
    batch_rows: int,
    *,
    limits: ReaderLimits | None = None,
    rejects: list[ReaderReject] | None = None,
) -> Iterator[tuple[pa.Table, pa.Array]]:
    """Yield (all-string table, int64 row numbers) for each batch of `f`.

    Row numbers count data rows: for CSV the header is not a row, for JSON Lines they are
    line numbers. A row the reader cannot decode (bytes that are not UTF-8, a line longer than
    `limits.max_line_bytes`, a JSON line that is not an object) is left out of the batches and
    appended to `rejects` (its row number is skipped); without a `rejects` list it raises
    IngestError instead. Raises IngestError for a file that cannot be read at all (a broken
    Parquet footer, a CSV row with the wrong number of fields, a header that is not UTF-8) and
    for a compressed file that expands past its limit (`ReaderLimits.decompressed_limit`).
    """
    limits = limits or ReaderLimits()
    sink: list[ReaderReject] = rejects if rejects is not None else []
    if f.fmt == "csv":
        batches = _iter_csv(f, limits, sink)
    elif f.fmt == "parquet":
        batches = _iter_parquet(f, batch_rows, sink)
    else:
        batches = _iter_jsonl(f, batch_rows, limits, sink)
    for batch in batches:
        if rejects is None and sink:
            raise _strict_error(sink[0])
        yield batch
    if rejects is None and sink:
        raise _strict_error(sink[0])


def _strict_error(r: ReaderReject) -> IngestError:
    return IngestError(f"{r.file}, row {r.row}: {r.reason}", file=r.file, row=r.row, field=r.field, value=r.value)


def _counted(batch: pa.RecordBatch | pa.Table, f: SnapshotFile, rows: pa.Array) -> tuple[pa.Table, pa.Array]:
    return _stringify(batch, f.name), rows


def _row_numbers(start: int, n: int) -> pa.Array:
    return pa.array(np.arange(start, start + n, dtype=np.int64))


def _iter_csv(
    f: SnapshotFile, limits: ReaderLimits, rejects: list[ReaderReject]
) -> Iterator[tuple[pa.Table, pa.Array]]:
    """CSV through the guard, UTF-8 checked per batch (so one bad byte costs one row, not the file)."""
    names = read_header(f, limits) or []
    try:
        with _guarded(f, limits, columns=len(names)) as stream:
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
                parse_options=pacsv.ParseOptions(newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(
                    check_utf8=False,  # checked per batch below, so that a bad byte costs one row
                    column_types={n: pa.string() for n in names},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            row = 1
            for batch in reader:
                if batch.num_rows:
                    table = pa.Table.from_batches([batch])
                    rows = _row_numbers(row, batch.num_rows)
                    row += batch.num_rows
                    table, rows = _reject_overlong(f, table, rows, stream.overlong, limits, rejects)
                    table, rows = _reject_bad_text(f, table, rows, rejects)
                    if table.num_rows:
                        yield _counted(table, f, rows)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _unreadable(f, exc) from exc


def _iter_parquet(f: SnapshotFile, batch_rows: int, rejects: list[ReaderReject]) -> Iterator[tuple[pa.Table, pa.Array]]:
    """Parquet is typed: a text cell that is not UTF-8 rejects its row; a damaged page or footer
    makes the file unreadable (Parquet has no lines to resynchronise on)."""
    try:
        pf = pq.ParquetFile(_checked_path(f))
        row = 1
        for batch in pf.iter_batches(batch_size=batch_rows):
            if batch.num_rows:
                table, rows = pa.Table.from_batches([batch]), _row_numbers(row, batch.num_rows)
                row += batch.num_rows
                table, rows = _reject_bad_text(f, table, rows, rejects)
                if table.num_rows:
                    yield _counted(table, f, rows)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _unreadable(f, exc) from exc


# -- reader-level rejects ----------------------------------------------------------------


def _reject_overlong(
    f: SnapshotFile,
    table: pa.Table,
    rows: pa.Array,
    overlong: dict[int, bytes],
    limits: ReaderLimits,
    rejects: list[ReaderReject],
) -> tuple[pa.Table, pa.Array]:
    """Drop the placeholder rows the guard put where over-long lines were."""
    if not overlong or not table.num_columns:
        return table, rows
    first = table.column(0)
    mask = pc.fill_null(pc.starts_with(first, pattern=PLACEHOLDER.decode("latin-1")), False)
    if not pc.any(mask).as_py():
        return table, rows
    limit = f"{limits.max_line_bytes:,} bytes (CRUMBGRAPH_INGEST_MAX_LINE_BYTES)"
    for cell, row in zip(first.filter(mask).to_pylist(), rows.filter(mask).to_pylist(), strict=True):
        digits = str(cell)[len(PLACEHOLDER) :]
        line = int(digits) if digits.isdigit() else 0
        rejects.append(
            ReaderReject(
                file=f.name,
                row=row,
                line=line,
                rule="line_too_long",
                reason=f"line {line} is longer than {limit}; skipped unread",
                value=shown(overlong.pop(line, b"")),
            )
        )
    keep = pc.invert(mask)
    return table.filter(keep), rows.filter(keep)


def _bad_utf8_rows(arr: pa.ChunkedArray | pa.Array) -> np.ndarray | None:
    """Positions of cells that are not valid UTF-8, or None when all are (checked in C first)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    try:
        if pa.types.is_binary(t) or pa.types.is_large_binary(t):
            arr.cast(pa.large_string() if pa.types.is_large_binary(t) else pa.string())
        elif pa.types.is_string(t) or pa.types.is_large_string(t):
            arr.validate(full=True)
        else:
            return None
        return None
    except pa.ArrowInvalid:
        bad = [i for i, v in enumerate(arr.cast(pa.large_binary()).to_pylist()) if v is not None and not _is_utf8(v)]
        return np.array(bad, dtype=np.int64)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _reject_bad_text(
    f: SnapshotFile, table: pa.Table, rows: pa.Array, rejects: list[ReaderReject]
) -> tuple[pa.Table, pa.Array]:
    """Rows with a text cell that is not UTF-8 become rejects naming the first such column."""
    bad_field: dict[int, str] = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        positions = _bad_utf8_rows(col)
        for i in positions.tolist() if positions is not None else []:
            bad_field.setdefault(i, name)
    if not bad_field:
        return table, rows
    idx = sorted(bad_field)
    raw_rows = _raw_rows(table.take(pa.array(idx, pa.int64())))
    for i, raw, row in zip(idx, raw_rows, rows.take(pa.array(idx, pa.int64())).to_pylist(), strict=True):
        col = bad_field[i]
        value = raw[col.strip()]
        rejects.append(
            ReaderReject(
                file=f.name,
                row=row,
                rule="encoding",
                field=col.strip(),
                reason=f"{col.strip()}: not valid UTF-8",
                value=value[:REJECT_VALUE_BYTES] if isinstance(value, str) else value,
                data=raw,
            )
        )
    keep = np.ones(table.num_rows, dtype=bool)
    keep[idx] = False
    mask = pa.array(keep)
    return table.filter(mask), rows.filter(mask)


def _raw_rows(table: pa.Table) -> list[dict[str, str | None]]:
    """Rows as text for the quarantine, whatever their bytes: undecodable bytes as \\xNN."""
    cols: dict[str, list[str | None]] = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        t = col.type
        if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t):
            cells = col.cast(pa.large_binary()).to_pylist()
            cols[name.strip()] = [None if v is None else v.decode("utf-8", "backslashreplace") for v in cells]
        else:
            cols[name.strip()] = [_json_value(v) for v in col.to_pylist()]
    return [{k: v[i] for k, v in cols.items()} for i in range(table.num_rows)]


def _json_value(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    return _json_text(v)


# -- JSON Lines --------------------------------------------------------------------------


class _Lines:
    """The lines of a (possibly gzip) file, each at most `max_line_bytes` held in memory; an
    over-long line is read past in bounded pieces. Counts decompressed bytes against the cap."""

    def __init__(self, f: SnapshotFile, limits: ReaderLimits) -> None:
        self.f, self.limits = f, limits
        self.budget = DecompressionBudget(f.name, f.size if f.compression is not None else None, limits)

    def __iter__(self) -> Iterator[tuple[int, bytes | None, bytes]]:
        """(line number, the line or None if over-long, its first bytes)."""
        import gzip

        path = _checked_path(self.f)
        with gzip.open(path, "rb") if self.f.compression == "gzip" else open(path, "rb") as fh:
            lineno = 0
            while True:
                raw = fh.readline(self.limits.max_line_bytes + 1)
                if not raw:
                    return
                lineno += 1
                self.budget.add(len(raw))
                if len(raw) > self.limits.max_line_bytes and not raw.endswith(b"\n"):
                    self._skip_rest(fh)
                    yield lineno, None, raw[: REJECT_VALUE_BYTES + 1]
                else:
                    yield lineno, raw, b""

    def _skip_rest(self, fh: Any) -> None:
        while True:
            piece = fh.readline(1 << 20)
            self.budget.add(len(piece))
            if not piece or piece.endswith(b"\n"):
                return


def _parse_line(
    f: SnapshotFile, lineno: int, raw: bytes | None, head: bytes, limits: ReaderLimits
) -> dict[str, Any] | ReaderReject:
    """A JSON object, or the reject saying why this line is not one."""

    def reject(rule: str, reason: str, value: str | None) -> ReaderReject:
        return ReaderReject(file=f.name, row=lineno, line=lineno, rule=rule, reason=reason, value=value)

    if raw is None:
        return reject(
            "line_too_long",
            f"line {lineno} is longer than {limits.max_line_bytes:,} bytes (CRUMBGRAPH_INGEST_MAX_LINE_BYTES); "
            "skipped unread",
            shown(head),
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return reject("encoding", f"line {lineno} is not valid UTF-8 ({exc.reason} at byte {exc.start})", shown(raw))
    if not text.strip():
        return {}
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return reject("json", f"line {lineno} is not valid JSON ({exc})", shown(raw))
    if not isinstance(obj, dict):
        return reject("not_object", f"line {lineno} is not a JSON object", shown(raw))
    return obj


def _iter_jsonl(
    f: SnapshotFile, batch_rows: int, limits: ReaderLimits, rejects: list[ReaderReject]
) -> Iterator[tuple[pa.Table, pa.Array]]:
    """JSON Lines through the json module: tolerant of ids that are numbers in some rows and
    strings in others (which pyarrow's typed JSON reader rejects), at ~0.3 M rows/s. A line that
    is not a UTF-8 JSON object, or is too long, is a reject; blank lines are skipped."""
    cols: dict[str, list[str | None]] = {}
    n = 0
    rows: list[int] = []

    def flush() -> tuple[pa.Table, pa.Array]:
        data = {k: pa.array(v + [None] * (n - len(v)), pa.string()) for k, v in cols.items()}
        # rows that are all `{}` still count as rows: give the table a length
        table = pa.table(data) if data else pa.table({INTERNAL_PREFIX + "empty": pa.nulls(n, pa.string())})
        return table, pa.array(rows, pa.int64())

    for lineno, raw, head in _Lines(f, limits):
        obj = _parse_line(f, lineno, raw, head, limits)
        if isinstance(obj, ReaderReject):
            rejects.append(obj)
            continue
        if not obj and raw is not None and not raw.strip():
            continue
        for k, v in obj.items():
            k = k.strip()
            col = cols.get(k)
            if col is None:
                col = cols[k] = [None] * n
            elif len(col) < n:
                col.extend([None] * (n - len(col)))
            col.append(_json_value(v))
        rows.append(lineno)
        n += 1
        if n >= batch_rows:
            yield flush()
            cols, n, rows = {}, 0, []
    if n:
        yield flush()
