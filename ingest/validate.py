"""Validation rules of ingest format v1 and the batch validator that applies them.

A batch (all-string Arrow table straight from a reader) goes through vectorised pyarrow
kernels that normalise every field and name the first rule each row breaks. Rows that
break none are returned normalised, in the staged schema; the others by position, for the
quarantine, untouched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph.errors import IngestError
from graph.model import AGE_BANDS, LABELS, LINK_DST_KINDS, LINK_KIND_TO_REL, LINK_SRC_KINDS, STATUSES, RelType
from ingest.normalise import (
    UTC_US,
    blank_to_null,
    json_props,
    mask,
    normalise_hashtags,
    normalise_urls,
    parse_numbers,
    parse_timestamps,
    strip,
)
from ingest.readers import INTERNAL_PREFIX

logger = logging.getLogger(__name__)

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


class _Checks:
    """The first broken check of each row, accumulated check by check in rule order."""

    def __init__(self, n: int) -> None:
        self.first = np.full(n, -1, np.int32)
        self.checks: list[Check] = []

    def add(self, broken: np.ndarray | pa.Array, field: str, rule: str, reason: str) -> None:
        broken = broken if isinstance(broken, np.ndarray) else mask(broken)
        if broken.any():
            self.first[broken & (self.first < 0)] = len(self.checks)
        self.checks.append(Check(field, rule, reason))


def validate_batch(
    table: str, batch: pa.Table, mapping: dict[str, str], *, max_field_chars: int = MAX_FIELD_CHARS
) -> tuple[pa.Table, Rejected]:
    """Normalise `batch` (all strings, the file's own column names; `mapping` from
    resolve_columns) -> (accepted rows in STAGED[table] plus `__cg_pos`, the rejected rows)."""
    v = _BatchValidator(batch, max_field_chars)
    for c in COLUMNS[table]:
        raw = v.column(mapping[c.name]) if c.name in mapping else pa.nulls(v.n, pa.string())
        v.apply(c, raw)
    mapped = set(mapping.values())
    extras = [c for c in batch.column_names if not c.startswith(INTERNAL_PREFIX) and c not in mapped]
    v.props({x: v.column(x) for x in extras})
    if table == "links":
        v.out["type"] = _link_types(v.out["kind"])
    return v.split(STAGED[table])


def _link_types(kinds: pa.Array) -> pa.Array:
    """The relationship type of each link kind (graph.model.LINK_KIND_TO_REL; else REFERENCES)."""
    known = list(LINK_KIND_TO_REL)
    types = pa.array([LINK_KIND_TO_REL[k].value for k in known] + [RelType.REFERENCES.value])
    return pc.take(types, pc.fill_null(pc.index_in(kinds, value_set=pa.array(known)), len(known)))


class _BatchValidator:
    """Applies the rules of one batch's columns, in rule order, into normalised columns (`out`)
    and the first broken check of each row (`checks`)."""

    def __init__(self, batch: pa.Table, max_field_chars: int) -> None:
        self.batch = batch
        self.n = batch.num_rows
        self.limit = max_field_chars
        self.checks = _Checks(self.n)
        self.out: dict[str, pa.Array] = {}

    def column(self, name: str) -> pa.Array:
        return self.batch.column(name).combine_chunks().cast(pa.string())

    def check_length(self, arr: pa.Array, field: str) -> None:
        # bytes >= characters, so only a long byte string can be too many characters
        if arr.null_count == self.n or not pc.any(pc.greater(pc.binary_length(arr), self.limit)).as_py():
            long = np.zeros(self.n, bool)
        else:
            long = mask(pc.greater(pc.utf8_length(arr), self.limit))
        self.checks.add(long, field, "too_long", f"longer than {self.limit} characters")

    def apply(self, c: Column, raw: pa.Array) -> None:
        """Check and normalise one column of the format (`raw`: null where the file lacks it)."""
        stripped = strip(raw) if c.kind != "text" else None
        if c.required:
            self.checks.add(pc.is_null(stripped), c.name, "required", "required field is empty")
        self.check_length(raw, c.name)
        rule = {
            "id": self._id,
            "text": self._text,
            "lower": self._lower_or_enum,
            "enum": self._lower_or_enum,
            "timestamp": self._timestamp,
            "confidence": self._confidence,
            "dst": self._dst,
        }.get(c.kind)
        if rule is None:  # pragma: no cover - a programming error in COLUMNS
            raise AssertionError(c.kind)
        rule(c, raw, stripped)

    def _id(self, c: Column, raw: pa.Array, stripped: pa.Array | None) -> None:
        self.out[c.name] = pc.if_else(pc.is_null(stripped), pa.scalar(None, pa.string()), raw)

    def _text(self, c: Column, raw: pa.Array, stripped: pa.Array | None) -> None:
        self.out[c.name] = blank_to_null(raw)

    def _lower_or_enum(self, c: Column, raw: pa.Array, stripped: pa.Array | None) -> None:
        value = pc.utf8_lower(stripped)
        if c.kind == "enum":
            broken = pc.and_(pc.is_valid(value), pc.invert(pc.is_in(value, value_set=pa.array(c.choices))))
            self.checks.add(broken, c.name, "enum", f"not one of {', '.join(c.choices)}")
        self.out[c.name] = pc.fill_null(value, c.default) if c.default else value

    def _timestamp(self, c: Column, raw: pa.Array, stripped: pa.Array | None) -> None:
        ts, bad, out_of_range = parse_timestamps(stripped)
        self.checks.add(bad, c.name, "timestamp", "not an ISO-8601 timestamp or Unix seconds")
        self.checks.add(out_of_range, c.name, "timestamp_range", "outside 1970-01-01 .. 2100-01-01 (UTC)")
        self.out[c.name] = ts

    def _confidence(self, c: Column, raw: pa.Array, stripped: pa.Array | None) -> None:
        value, bad = parse_numbers(stripped)
        self.checks.add(bad, c.name, "number", "not a number")
        in_range = mask(pc.is_finite(value)) & mask(pc.greater_equal(value, 0.0)) & mask(pc.less_equal(value, 1.0))
        self.checks.add(mask(pc.is_valid(value)) & ~in_range, c.name, "range", "outside 0..1")
        self.out[c.name] = pc.fill_null(pc.add(value, 0.0), float(c.default or 0))  # + 0.0 turns -0.0 into 0.0

    def _dst(self, c: Column, raw: pa.Array, stripped: pa.Array | None) -> None:
        """links.dst_id: an absolute URL when dst_kind is url, a hashtag when hashtag, else an id."""
        kind = self.out["dst_kind"]
        is_url = mask(pc.equal(kind, "url"))
        is_tag = mask(pc.equal(kind, "hashtag"))
        value = pc.if_else(pc.is_null(stripped), pa.scalar(None, pa.string()), raw)
        domain = pa.nulls(self.n, pa.string())
        bad_url = np.zeros(self.n, bool)
        if is_url.any():
            url, host = normalise_urls(stripped)
            bad_url = is_url & mask(pc.is_null(url))
            value = pc.if_else(pa.array(is_url), url, value)
            domain = pc.if_else(pa.array(is_url), host, domain)
        self.checks.add(bad_url, c.name, "url", "not an absolute URL (scheme://host/...)")
        if is_tag.any():
            tag = normalise_hashtags(raw)
            self.checks.add(is_tag & mask(pc.is_null(tag)), c.name, "hashtag", "hashtag is empty")
            value = pc.if_else(pa.array(is_tag), tag, value)
        self.out[c.name] = value
        self.out["domain"] = domain

    def props(self, extra_cols: dict[str, pa.Array]) -> None:
        """Columns beyond the format: length-checked, kept as one JSON object per row."""
        for x, arr in extra_cols.items():
            self.check_length(arr, x)
        self.out["props"] = json_props(extra_cols, self.n)

    def split(self, schema: pa.Schema) -> tuple[pa.Table, Rejected]:
        """(the rows that broke no rule, in `schema` plus `__cg_pos`; the others)."""
        staged = pa.Table.from_arrays([self.out[f.name].cast(f.type) for f in schema], schema=schema)
        staged = staged.append_column("__cg_pos", pa.array(np.arange(self.n, dtype=np.int64)))
        ok = self.checks.first < 0
        if ok.all():
            return staged, Rejected([], [])
        positions = np.flatnonzero(~ok)
        checks = [self.checks.checks[i] for i in self.checks.first[positions]]
        logger.debug("batch of %d rows: %d rejected", self.n, positions.size)
        return staged.filter(pa.array(ok)), Rejected(positions.tolist(), checks)
