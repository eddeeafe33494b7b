"""The batch validator: applies the rule table of ingest/rules.py to one batch.

A batch (all-string Arrow table straight from a reader) gets the helper columns of the
arrow-engine rules (timestamps, URLs, the props JSON; vectorised pyarrow), then one DuckDB
query compiled from the rule table yields every normalised field and the index of the first
rule each row breaks. Rows that break none are returned normalised, in the staged schema; the
others by position, for the quarantine, untouched.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph.errors import IngestError
from ingest.normalise import UTC_US, json_props, normalise_urls, parse_timestamps, strip
from ingest.readers import INTERNAL_PREFIX
from ingest.rules import COLUMNS, Column, CompiledCheck, compile_table, helper, strip_helpers

logger = logging.getLogger(__name__)

#: default limit on the length (characters) of any one field
MAX_FIELD_CHARS = 4096

__all__ = ["COLUMNS", "Column", "MAX_FIELD_CHARS", "STAGED", "KEYS", "DIGEST_COLUMNS", "validate_batch"]

_S, _F = pa.string(), pa.float64()

#: staged (normalised, accepted) rows of each table
STAGED: dict[str, pa.Schema] = {
    "accounts": pa.schema(
        [("account_id", _S), ("created_at", UTC_US), ("age_band", _S), ("status", _S), ("props", _S)]
    ),
    "content": pa.schema(
        [
            ("content_id", _S),
            ("account_id", _S),
            ("created_at", UTC_US),
            ("kind", _S),
            ("parent_id", _S),
            ("label", _S),
            ("label_source", _S),
            ("label_confidence", _F),
            ("props", _S),
        ]
    ),
    "follows": pa.schema([("follower_id", _S), ("followee_id", _S), ("created_at", UTC_US), ("props", _S)]),
    "links": pa.schema(
        [
            ("src_kind", _S),
            ("src_id", _S),
            ("type", _S),
            ("kind", _S),
            ("dst_kind", _S),
            ("dst_id", _S),
            ("domain", _S),
            ("created_at", UTC_US),
            ("props", _S),
        ]
    ),
}

#: identity of a row: a later row with the same key replaces an earlier one
KEYS: dict[str, tuple[str, ...]] = {
    "accounts": ("account_id",),
    "content": ("content_id",),
    "follows": ("follower_id", "followee_id"),
    "links": ("src_kind", "src_id", "kind", "dst_kind", "dst_id"),
}

#: columns that enter the snapshot digest (links' type and domain are derived from kind and url)
DIGEST_COLUMNS: dict[str, tuple[str, ...]] = {
    t: tuple(n for n in schema.names if not (t == "links" and n in {"type", "domain"})) for t, schema in STAGED.items()
}


@dataclass(frozen=True)
class Check:
    """One rule broken on `field`, with a stable `rule` code and a reason."""

    field: str
    rule: str
    reason: str


@dataclass
class Rejected:
    """Rows of one batch that broke a rule: their positions in the batch and the check broken."""

    positions: list[int]
    checks: list[Check]


def resolve_columns(table: str, names: list[str], file: str, *, complete: bool = True) -> dict[str, str]:
    """Map the format's column names to the file's (matched case-insensitively).

    Raises IngestError naming the file and field for a required column that is missing
    (only when `complete`: a header, not a JSON Lines batch) or a name given twice.
    """
    known = {c.name for c in COLUMNS[table]}
    found: dict[str, str] = {}
    for n in names:
        if n.startswith(INTERNAL_PREFIX):
            continue
        canon = n.strip().lower()
        if canon in known:
            if canon in found:
                raise IngestError(
                    f"{file}: column {canon!r} appears twice ({found[canon]!r}, {n!r})", file=file, field=canon
                )
            found[canon] = n
    if complete:
        for c in COLUMNS[table]:
            if c.required and c.name not in found:
                raise IngestError(
                    f"{file}: missing required column {c.name!r} of table {table!r}", file=file, field=c.name
                )
    return found


_names = itertools.count()


def validate_batch(
    table: str,
    batch: pa.Table,
    mapping: dict[str, str],
    *,
    max_field_chars: int = MAX_FIELD_CHARS,
    con: duckdb.DuckDBPyConnection | None = None,
) -> tuple[pa.Table, Rejected]:
    """Normalise `batch` (all strings, the file's own column names; `mapping` from
    resolve_columns) -> (accepted rows in STAGED[table] plus `__cg_pos`, the rejected rows).

    The SQL runs on `con` (the ingest's staging database) or, without one, a private in-memory
    DuckDB."""
    n = batch.num_rows
    mapped = set(mapping.values())
    extras = [c for c in batch.column_names if not c.startswith(INTERNAL_PREFIX) and c not in mapped]
    data = {name: _text(batch, name) for name in [*mapping.values(), *extras]}
    data.update(_helpers(table, mapping, data, extras, n))
    data["__cg_pos"] = pa.array(np.arange(n, dtype=np.int64))
    compiled = compile_table(table, mapping, extras, limit=max_field_chars)
    sql = compiled.select("{src}", extra=f", {_ident(helper('props', 'row'))} AS props, __cg_pos")
    out = _run(con, sql, pa.table(data))
    return _split(out, STAGED[table], compiled.checks)


def _text(batch: pa.Table, name: str) -> pa.Array:
    return batch.column(name).combine_chunks().cast(pa.string())


def _helpers(
    table: str, mapping: dict[str, str], data: dict[str, pa.Array], extras: list[str], n: int
) -> dict[str, pa.Array]:
    """The helper columns of the arrow-engine rules (rules.py names them)."""
    out: dict[str, pa.Array] = {}
    stripped = {
        name: strip(data[mapping[name]]) if name in mapping else pa.nulls(n, pa.string())
        for name in strip_helpers(table)
    }
    out.update({helper("s", name): value for name, value in stripped.items()})
    for c in COLUMNS[table]:
        if c.kind == "timestamp":
            ts, bad, out_of_range = parse_timestamps(stripped[c.name])
            out[helper("ts", c.name)] = ts
            out[helper("ts_bad", c.name)] = pa.array(bad)
            out[helper("ts_range", c.name)] = pa.array(out_of_range)
        elif c.kind == "dst":
            out[helper("url", c.name)], out[helper("url_domain", c.name)] = _urls(
                stripped[c.name], stripped["dst_kind"]
            )
    out[helper("props", "row")] = json_props({x: data[x] for x in extras}, n)
    return out


def _urls(dst: pa.Array, dst_kind: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(normalised url, domain) of the rows whose dst_kind is url, null elsewhere (the regex
    runs on those rows only)."""
    is_url = pc.fill_null(pc.equal(pc.utf8_lower(dst_kind), "url"), False)
    n_url = pc.sum(is_url).as_py() or 0
    if n_url == len(dst):
        return normalise_urls(dst)
    nulls = pa.nulls(len(dst), pa.string())
    if n_url == 0:
        return nulls, nulls
    url, host = normalise_urls(dst.filter(is_url))
    return pc.replace_with_mask(nulls, is_url, url), pc.replace_with_mask(nulls, is_url, host)


def _run(con: duckdb.DuckDBPyConnection | None, sql: str, data: pa.Table) -> pa.Table:
    """Run `sql` over `data` (registered under a private name) and return the result."""
    own = con is None
    cur = duckdb.connect(":memory:") if con is None else con
    name = f"__cg_batch_{next(_names)}"
    cur.register(name, data)
    try:
        return cur.sql(sql.format(src=name)).to_arrow_table()
    finally:
        cur.unregister(name)
        if own:
            cur.close()


def _split(out: pa.Table, schema: pa.Schema, checks: tuple[CompiledCheck, ...]) -> tuple[pa.Table, Rejected]:
    """(the rows that broke no rule, in `schema` plus `__cg_pos`; the others, by position)."""
    staged = pa.Table.from_arrays(
        [out.column(f.name).cast(f.type) for f in schema] + [out.column("__cg_pos")],
        names=[*schema.names, "__cg_pos"],
    )
    check = out.column("__cg_check")
    if check.null_count == out.num_rows:
        return staged, Rejected([], [])
    bad = pc.is_valid(check)
    rows = out.filter(bad)
    order = pc.sort_indices(rows.column("__cg_pos"))
    positions = rows.column("__cg_pos").take(order).to_pylist()
    first = rows.column("__cg_check").take(order).to_pylist()
    rejected = [Check(checks[i][0], checks[i][1], checks[i][2]) for i in first]
    logger.debug("batch of %d rows: %d rejected", out.num_rows, len(positions))
    return staged.filter(pc.invert(bad)), Rejected(positions, rejected)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
