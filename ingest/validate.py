"""Validation rules of ingest format v1 and the batch validator that applies them.

A batch (all-string Arrow table straight from a reader) goes through one DuckDB query that
normalises every field and names the first rule each row breaks. Rows that break none are
staged; the others are returned for the quarantine, untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from graph.errors import IngestError
from graph.model import AGE_BANDS, LABELS, LINK_DST_KINDS, LINK_SRC_KINDS, LINK_KIND_TO_REL, STATUSES, RelType
from ingest.normalise import (
    sql_blank,
    sql_hashtag,
    sql_ident,
    sql_lower,
    sql_str,
    sql_strip,
    sql_timestamp,
    sql_ts_out_of_range,
    sql_url_normalised,
    sql_url_parts,
)
from ingest.readers import INTERNAL_PREFIX

#: default limit on the length (characters) of any one field
MAX_FIELD_CHARS = 4096


@dataclass(frozen=True)
class Column:
    """A column of the format. `kind` picks the rule: id, text, lower, enum, timestamp,
    confidence, or dst (links.dst_id, whose rule depends on dst_kind)."""

    name: str
    kind: str
    required: bool = False
    choices: tuple[str, ...] = ()
    default: str | None = None


#: the columns of each table, in the order their rules are checked
COLUMNS: dict[str, tuple[Column, ...]] = {
    "accounts": (
        Column("account_id", "id", required=True),
        Column("created_at", "timestamp"),
        Column("age_band", "enum", choices=AGE_BANDS, default="unknown"),
        Column("status", "enum", choices=STATUSES, default="active"),
    ),
    "content": (
        Column("content_id", "id", required=True),
        Column("account_id", "id", required=True),
        Column("created_at", "timestamp"),
        Column("kind", "lower"),
        Column("parent_id", "id"),
        Column("label", "enum", choices=LABELS, default="none"),
        Column("label_source", "text"),
        Column("label_confidence", "confidence", default="1.0"),
    ),
    "follows": (
        Column("follower_id", "id", required=True),
        Column("followee_id", "id", required=True),
        Column("created_at", "timestamp"),
    ),
    "links": (
        Column("src_kind", "enum", required=True, choices=LINK_SRC_KINDS),
        Column("src_id", "id", required=True),
        Column("dst_kind", "enum", required=True, choices=LINK_DST_KINDS),
        Column("dst_id", "dst", required=True),
        Column("kind", "lower", default="reference"),
        Column("created_at", "timestamp"),
    ),
}

#: staged (normalised, accepted) columns of each table and their DuckDB types
STAGED: dict[str, tuple[tuple[str, str], ...]] = {
    "accounts": (("account_id", "VARCHAR"), ("created_at", "TIMESTAMPTZ"), ("age_band", "VARCHAR"),
                 ("status", "VARCHAR"), ("props", "VARCHAR")),
    "content": (("content_id", "VARCHAR"), ("account_id", "VARCHAR"), ("created_at", "TIMESTAMPTZ"),
                ("kind", "VARCHAR"), ("parent_id", "VARCHAR"), ("label", "VARCHAR"),
                ("label_source", "VARCHAR"), ("label_confidence", "DOUBLE"), ("props", "VARCHAR")),
    "follows": (("follower_id", "VARCHAR"), ("followee_id", "VARCHAR"), ("created_at", "TIMESTAMPTZ"),
                ("props", "VARCHAR")),
    "links": (("src_kind", "VARCHAR"), ("src_id", "VARCHAR"), ("type", "VARCHAR"), ("kind", "VARCHAR"),
              ("dst_kind", "VARCHAR"), ("dst_id", "VARCHAR"), ("domain", "VARCHAR"),
              ("created_at", "TIMESTAMPTZ"), ("props", "VARCHAR")),
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
    t: tuple(n for n, _ in cols if not (t == "links" and n in {"type", "domain"})) for t, cols in STAGED.items()
}


@dataclass(frozen=True)
class Check:
    """One rule: `condition` (SQL, true = broken) on `field`, with a stable `rule` code."""

    field: str
    rule: str
    reason: str
    condition: str


@dataclass
class Rejected:
    """Rows of one batch that broke a rule: their positions in the batch and the check broken."""

    positions: list[int] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)


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
                raise IngestError(f"{file}: column {canon!r} appears twice ({found[canon]!r}, {n!r})", file=file, field=canon)
            found[canon] = n
    if complete:
        for c in COLUMNS[table]:
            if c.required and c.name not in found:
                raise IngestError(f"{file}: missing required column {c.name!r} of table {table!r}", file=file, field=c.name)
    return found


class BatchValidator:
    """Validates and normalises batches of one table, staging accepted rows into DuckDB table
    `stage_<table>` (columns STAGED[table] + __cg_seq). One instance per table."""

    def __init__(self, con: duckdb.DuckDBPyConnection, table: str, *, max_field_chars: int = MAX_FIELD_CHARS) -> None:
        self.con = con
        self.table = table
        self.max_chars = max_field_chars
        cols = ", ".join(f"{sql_ident(n)} {t}" for n, t in STAGED[table])
        con.execute(f"CREATE OR REPLACE TABLE stage_{table} ({cols}, __cg_seq BIGINT)")
        self._sql_cache: dict[tuple[tuple[str, str], ...], tuple[str, list[Check]]] = {}

    # -- SQL generation -------------------------------------------------------------------
    def _build(self, mapping: dict[str, str], extras: list[str]) -> tuple[str, list[Check]]:
        """SQL selecting the staged columns + __cg_check (index of the first broken check, or
        NULL) from view __cg_batch, whose columns are the file's own names."""
        src = {c.name: sql_ident(mapping[c.name]) if c.name in mapping else "CAST(NULL AS VARCHAR)"
               for c in COLUMNS[self.table]}
        inner: list[str] = []   # parsed intermediates, computed once
        out: dict[str, str] = {}
        checks: list[Check] = []
        limit = self.max_chars

        for c in COLUMNS[self.table]:
            raw = src[c.name]
            name = c.name
            p = f"__cg_p_{name}"
            if c.required:
                checks.append(Check(name, "required", "required field is empty", f"{sql_strip(raw)} IS NULL"))
            checks.append(Check(name, "too_long", f"longer than {limit} characters", f"length({raw}) > {limit}"))
            if c.kind == "id":
                out[name] = f"CASE WHEN {sql_strip(raw)} IS NULL THEN NULL ELSE {raw} END"
            elif c.kind == "text":
                out[name] = sql_blank(raw)
            elif c.kind == "lower":
                value = sql_lower(raw)
                out[name] = f"coalesce({value}, {sql_str(c.default)})" if c.default else value
            elif c.kind == "enum":
                inner.append(f"{sql_lower(raw)} AS {p}")
                allowed = ", ".join(sql_str(v) for v in c.choices)
                checks.append(Check(name, "enum", f"not one of {', '.join(c.choices)}",
                                    f"{p} IS NOT NULL AND {p} NOT IN ({allowed})"))
                out[name] = f"coalesce({p}, {sql_str(c.default)})" if c.default else p
            elif c.kind == "timestamp":
                inner.append(f"{sql_timestamp(sql_strip(raw))} AS {p}")
                checks.append(Check(name, "timestamp", "not an ISO-8601 timestamp or Unix seconds",
                                    f"{sql_strip(raw)} IS NOT NULL AND {p} IS NULL"))
                checks.append(Check(name, "timestamp_range", "outside 1970-01-01 .. 2100-01-01 (UTC)",
                                    f"{p} IS NOT NULL AND {sql_ts_out_of_range(p)}"))
                out[name] = p
            elif c.kind == "confidence":
                inner.append(f"TRY_CAST({sql_strip(raw)} AS DOUBLE) AS {p}")
                checks.append(Check(name, "number", "not a number",
                                    f"{sql_strip(raw)} IS NOT NULL AND {p} IS NULL"))
                checks.append(Check(name, "range", "outside 0..1",
                                    f"{p} IS NOT NULL AND (isnan({p}) OR {p} < 0 OR {p} > 1)"))
                out[name] = f"coalesce({p} + 0.0, {c.default})"  # + 0.0 turns -0.0 into 0.0
            elif c.kind == "dst":
                kind = "__cg_p_dst_kind"
                inner.append(f"{sql_url_parts(sql_strip(raw))} AS __cg_p_url")
                inner.append(f"{sql_hashtag(raw)} AS __cg_p_tag")
                checks.append(Check(name, "url", "not an absolute URL (scheme://host/...)",
                                    f"{kind} = 'url' AND __cg_p_url IS NULL"))
                checks.append(Check(name, "hashtag", "hashtag is empty",
                                    f"{kind} = 'hashtag' AND __cg_p_tag IS NULL"))
                out[name] = (f"CASE {kind} WHEN 'url' THEN {sql_url_normalised('__cg_p_url')} "
                             f"WHEN 'hashtag' THEN __cg_p_tag "
                             f"ELSE (CASE WHEN {sql_strip(raw)} IS NULL THEN NULL ELSE {raw} END) END")
                out["domain"] = f"CASE WHEN {kind} = 'url' THEN lower(__cg_p_url.host) END"
            else:  # pragma: no cover - a programming error in COLUMNS
                raise AssertionError(c.kind)

        for x in extras:
            checks.append(Check(x, "too_long", f"longer than {limit} characters", f"length({sql_ident(x)}) > {limit}"))
        if extras:
            entries = ", ".join(f"{{'k': {sql_str(x)}, 'v': {sql_blank(sql_ident(x))}}}" for x in sorted(extras))
            out["props"] = (f"nullif(to_json(map_from_entries(list_filter([{entries}], "
                            f"lambda e: e.v IS NOT NULL))), '{{}}')")
        else:
            out["props"] = "CAST(NULL AS VARCHAR)"
        if self.table == "links":
            cases = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(r.value)}" for k, r in LINK_KIND_TO_REL.items())
            out["type"] = f"CASE {out['kind']} {cases} ELSE {sql_str(RelType.REFERENCES.value)} END"

        check_sql = " ".join(f"WHEN {ch.condition} THEN {i}" for i, ch in enumerate(checks))
        select = ", ".join(f"{out[n]} AS {sql_ident(n)}" for n, _ in STAGED[self.table])
        inner_sql = ", ".join(inner) if inner else "1 AS __cg_p_none"
        sql = (f"SELECT {select}, __cg_seq, CASE {check_sql} END AS __cg_check, __cg_pos "
               f"FROM (SELECT *, {inner_sql} FROM __cg_batch)")
        return sql, checks

    # -- running --------------------------------------------------------------------------
    def validate(self, batch: pa.Table, mapping: dict[str, str], first_seq: int) -> Rejected:
        """Stage the accepted rows of `batch` (sequence numbers first_seq...) and return the rejected."""
        extras = [n for n in batch.column_names
                  if not n.startswith(INTERNAL_PREFIX) and n not in set(mapping.values())]
        key = tuple(sorted(mapping.items())) + tuple(("", x) for x in extras)
        if key not in self._sql_cache:
            self._sql_cache[key] = self._build(mapping, extras)
        sql, checks = self._sql_cache[key]
        n = batch.num_rows
        view = batch.append_column("__cg_seq", pa.array(range(first_seq, first_seq + n), pa.int64()))
        view = view.append_column("__cg_pos", pa.array(range(n), pa.int64()))
        con = self.con
        con.register("__cg_batch", view)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE __cg_v AS {sql}")
            cols = ", ".join(sql_ident(c) for c, _ in STAGED[self.table])
            con.execute(f"INSERT INTO stage_{self.table} SELECT {cols}, __cg_seq FROM __cg_v WHERE __cg_check IS NULL")
            bad = con.execute("SELECT __cg_pos, __cg_check FROM __cg_v WHERE __cg_check IS NOT NULL "
                              "ORDER BY __cg_pos").fetchall()
        finally:
            con.unregister("__cg_batch")
        return Rejected([p for p, _ in bad], [checks[c] for _, c in bad])
