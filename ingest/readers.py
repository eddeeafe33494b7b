"""Snapshot readers: find each table's files (CSV, Parquet, JSON Lines) and stream them as
all-string Arrow batches in bounded memory. Anything that is not a table file is reported."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from graph.errors import IngestError

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


def discover(snapshot_dir: Path) -> Discovery:
    """Assign every file under `snapshot_dir` to a table, or to the ignored list with a reason.

    Files of a table are ordered by relative path; this order (then row order) decides
    which row is "last" when ids repeat.
    """
    root = Path(snapshot_dir)
    if not root.is_dir():
        raise IngestError(f"snapshot directory {str(root)!r} does not exist or is not a directory", file=str(root))
    files: dict[str, list[SnapshotFile]] = {t: [] for t in TABLES}
    ignored: list[IgnoredFile] = []
    paths = {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file() or p.is_symlink()}
    for rel, path in sorted(paths.items()):
        if not path.is_file():
            ignored.append(IgnoredFile(rel, "not a regular file"))
            continue
        parts = rel.split("/")
        split = _split_suffix(parts[-1])
        if split is None:
            ignored.append(IgnoredFile(rel, f"unknown file type (expected one of {', '.join(sorted(SUFFIXES))})"))
            continue
        stem, suffix = split
        if len(parts) > 1:
            table = parts[0].lower() if parts[0].lower() in TABLES else None
            why = f"folder {parts[0]!r} is not a table ({', '.join(TABLES)})"
        else:
            m = _STEM.match(stem)
            table = m.group("table").lower() if m else None
            why = f"file name does not start with a table name ({', '.join(TABLES)})"
        if any(p.startswith(".") for p in parts):
            table, why = None, "hidden file"
        if table is None:
            ignored.append(IgnoredFile(rel, why))
            continue
        fmt, compression = SUFFIXES[suffix.lower()]
        files[table].append(SnapshotFile(path, rel, table, fmt, compression, path.stat().st_size))
    logger.info(
        "%s: %s; %d file(s) ignored",
        root,
        ", ".join(f"{t} {len(fs)} file(s)" for t, fs in files.items()),
        len(ignored),
    )
    return Discovery(files, ignored)


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


def _first_bad_utf8_line(f: SnapshotFile) -> int | None:
    """1-based line of the first invalid UTF-8 byte (only called on the error path)."""
    import gzip

    opener = gzip.open if f.compression == "gzip" else open
    with opener(f.path, "rb") as fh:
        for i, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return i
    return None


def read_header(f: SnapshotFile) -> list[str] | None:
    """Column names of a CSV or Parquet file (None for JSON Lines, whose columns are per row)."""
    try:
        if f.fmt == "csv":
            reader = pacsv.open_csv(_stream(f), read_options=pacsv.ReadOptions(block_size=1 << 16))
            names = list(reader.schema.names)
            return names
        if f.fmt == "parquet":
            return list(pq.ParquetFile(f.path).schema_arrow.names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _unreadable(f, exc) from exc
    return None


def _stream(f: SnapshotFile) -> pa.NativeFile:
    return pa.input_stream(str(f.path), compression=f.compression)


def _unreadable(f: SnapshotFile, exc: BaseException) -> IngestError:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    row = None
    if "UTF8" in msg or "UTF-8" in msg or isinstance(exc, UnicodeDecodeError):
        row = _first_bad_utf8_line(f)
        where = f" at line {row}" if row else ""
        return IngestError(f"{f.name}: not valid UTF-8{where} ({msg})", file=f.name, row=row)
    return IngestError(f"{f.name}: unreadable {f.fmt} file ({msg})", file=f.name)


def iter_batches(f: SnapshotFile, batch_rows: int) -> Iterator[tuple[pa.Table, pa.Array]]:
    """Yield (all-string table, int64 row numbers) for each batch of `f`.

    Row numbers count data rows: for CSV the header is not a row, for JSON Lines they are
    line numbers. Raises IngestError for an unreadable file (bad encoding, broken Parquet,
    a CSV row with the wrong number of fields, a JSON line that is not an object).
    """
    if f.fmt == "csv":
        yield from _iter_csv(f)
    elif f.fmt == "parquet":
        yield from _iter_parquet(f, batch_rows)
    else:
        yield from _iter_jsonl(f, batch_rows)


def _counted(batch: pa.RecordBatch, f: SnapshotFile, row: int) -> tuple[pa.Table, pa.Array]:
    return _stringify(batch, f.name), pa.array(np.arange(row, row + batch.num_rows, dtype=np.int64))


def _iter_csv(f: SnapshotFile) -> Iterator[tuple[pa.Table, pa.Array]]:
    names = read_header(f) or []
    try:
        reader = pacsv.open_csv(
            _stream(f),
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        row = 1
        for batch in reader:
            if batch.num_rows:
                yield _counted(batch, f, row)
                row += batch.num_rows
    except (pa.ArrowInvalid, OSError) as exc:
        raise _unreadable(f, exc) from exc


def _iter_parquet(f: SnapshotFile, batch_rows: int) -> Iterator[tuple[pa.Table, pa.Array]]:
    try:
        pf = pq.ParquetFile(f.path)
        row = 1
        for batch in pf.iter_batches(batch_size=batch_rows):
            if batch.num_rows:
                yield _counted(batch, f, row)
                row += batch.num_rows
    except (pa.ArrowInvalid, OSError) as exc:
        raise _unreadable(f, exc) from exc


def _json_value(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    return _json_text(v)


def _iter_jsonl(f: SnapshotFile, batch_rows: int) -> Iterator[tuple[pa.Table, pa.Array]]:
    """JSON Lines through the json module: tolerant of ids that are numbers in some rows and
    strings in others (which pyarrow's typed JSON reader rejects), at ~0.3 M rows/s."""
    import gzip

    opener = gzip.open if f.compression == "gzip" else open
    cols: dict[str, list[str | None]] = {}
    n = 0
    rows: list[int] = []

    def flush() -> tuple[pa.Table, pa.Array]:
        data = {k: pa.array(v + [None] * (n - len(v)), pa.string()) for k, v in cols.items()}
        # rows that are all `{}` still count as rows: give the table a length
        table = pa.table(data) if data else pa.table({INTERNAL_PREFIX + "empty": pa.nulls(n, pa.string())})
        return table, pa.array(rows, pa.int64())

    with opener(f.path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise IngestError(
                    f"{f.name}: not valid UTF-8 at line {lineno} ({exc})", file=f.name, row=lineno
                ) from exc
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                raise IngestError(
                    f"{f.name}: line {lineno} is not valid JSON ({exc})", file=f.name, row=lineno
                ) from exc
            if not isinstance(obj, dict):
                raise IngestError(f"{f.name}: line {lineno} is not a JSON object", file=f.name, row=lineno)
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
