"""The rule table (ingest/rules.py): every rule compiles for DuckDB and for Spark SQL (text only,
no pyspark), and every rule of the table fires on an example row through the real validator."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest

from ingest.rules import COLUMNS, DIALECTS, RULES, compile_table
from ingest.validate import validate_batch

#: a row of each table that breaks no rule
GOOD = {
    "accounts": {"account_id": "a1", "created_at": "2026-03-01T12:00:00Z", "age_band": "minor", "status": ""},
    "content": {
        "content_id": "c1",
        "account_id": "a1",
        "created_at": "1772366400",
        "kind": "Post",
        "parent_id": "",
        "label": "abusive",
        "label_source": "hash",
        "label_confidence": "0.5",
    },
    "follows": {"follower_id": "a1", "followee_id": "a2", "created_at": ""},
    "links": {
        "src_kind": "content",
        "src_id": "c1",
        "dst_kind": "url",
        "dst_id": "HTTPS://Example.COM:443/x#frag",
        "kind": "url",
        "created_at": "2026-03-01",
    },
}

LONG = "x" * 41

#: (table, field, rule) -> the values that, put into GOOD, break exactly that rule first
EXAMPLES: dict[tuple[str, str, str], dict[str, str]] = {
    ("accounts", "account_id", "required"): {"account_id": " \t"},
    ("accounts", "account_id", "too_long"): {"account_id": LONG},
    ("accounts", "created_at", "too_long"): {"created_at": LONG},
    ("accounts", "created_at", "timestamp"): {"created_at": "yesterday"},
    ("accounts", "created_at", "timestamp_range"): {"created_at": "1772366400000"},
    ("accounts", "age_band", "too_long"): {"age_band": LONG},
    ("accounts", "age_band", "enum"): {"age_band": "teen"},
    ("accounts", "status", "too_long"): {"status": LONG},
    ("accounts", "status", "enum"): {"status": "gone"},
    ("content", "content_id", "required"): {"content_id": ""},
    ("content", "content_id", "too_long"): {"content_id": LONG},
    ("content", "account_id", "required"): {"account_id": "  "},
    ("content", "account_id", "too_long"): {"account_id": LONG},
    ("content", "created_at", "too_long"): {"created_at": LONG},
    ("content", "created_at", "timestamp"): {"created_at": "2026-13-45"},
    ("content", "created_at", "timestamp_range"): {"created_at": "1969-12-31T23:59:59Z"},
    ("content", "kind", "too_long"): {"kind": LONG},
    ("content", "parent_id", "too_long"): {"parent_id": LONG},
    ("content", "label", "too_long"): {"label": LONG},
    ("content", "label", "enum"): {"label": "bad"},
    ("content", "label_source", "too_long"): {"label_source": LONG},
    ("content", "label_confidence", "too_long"): {"label_confidence": LONG},
    ("content", "label_confidence", "number"): {"label_confidence": "high"},
    ("content", "label_confidence", "range"): {"label_confidence": "1e999"},
    ("follows", "follower_id", "required"): {"follower_id": ""},
    ("follows", "follower_id", "too_long"): {"follower_id": LONG},
    ("follows", "followee_id", "required"): {"followee_id": "\n"},
    ("follows", "followee_id", "too_long"): {"followee_id": LONG},
    ("follows", "created_at", "too_long"): {"created_at": LONG},
    ("follows", "created_at", "timestamp"): {"created_at": "nan"},
    ("follows", "created_at", "timestamp_range"): {"created_at": "2100-01-01T00:00:00Z"},
    ("links", "src_kind", "required"): {"src_kind": ""},
    ("links", "src_kind", "too_long"): {"src_kind": LONG},
    ("links", "src_kind", "enum"): {"src_kind": "url"},
    ("links", "src_id", "required"): {"src_id": " "},
    ("links", "src_id", "too_long"): {"src_id": LONG},
    ("links", "dst_kind", "required"): {"dst_kind": ""},
    ("links", "dst_kind", "too_long"): {"dst_kind": LONG},
    ("links", "dst_kind", "enum"): {"dst_kind": "place"},
    ("links", "dst_id", "required"): {"dst_id": ""},
    ("links", "dst_id", "too_long"): {"dst_id": "https://e.x/" + LONG},
    ("links", "dst_id", "url"): {"dst_id": "www.example.com/x"},
    ("links", "dst_id", "hashtag"): {"dst_kind": "hashtag", "dst_id": " ## "},
    ("links", "kind", "too_long"): {"kind": LONG},
    ("links", "created_at", "too_long"): {"created_at": LONG},
    ("links", "created_at", "timestamp"): {"created_at": "01/03/2026"},
    ("links", "created_at", "timestamp_range"): {"created_at": "-1"},
}


def test_every_rule_of_the_table_has_an_example() -> None:
    assert {(r.table, r.field, r.rule.name) for r in RULES} == set(EXAMPLES)


@pytest.mark.parametrize(("table", "field", "rule"), sorted(EXAMPLES))
def test_each_rule_fires_through_the_compiled_sql(table: str, field: str, rule: str) -> None:
    row = {**GOOD[table], **EXAMPLES[(table, field, rule)]}
    batch = pa.table({k: pa.array([v, v] if k != field else [GOOD[table][k], v]) for k, v in row.items()})
    accepted, rejected = validate_batch(table, batch, {k: k for k in row}, max_field_chars=40)
    assert accepted.num_rows == 1 and rejected.positions == [1]
    check = rejected.checks[0]
    assert (check.field, check.rule) == (field, rule)


def test_good_rows_are_normalised() -> None:
    batch = pa.table({k: pa.array([v]) for k, v in GOOD["links"].items()})
    accepted, rejected = validate_batch("links", batch, {k: k for k in GOOD["links"]})
    assert rejected.positions == []
    row = accepted.to_pylist()[0]
    assert (row["dst_id"], row["domain"], row["type"], row["kind"]) == (
        "https://example.com/x",
        "example.com",
        "LINKS_TO",
        "url",
    )


def _compiled_text(dialect: str) -> str:
    parts = []
    for table, cols in COLUMNS.items():
        compiled = compile_table(
            table, {c.name: c.name.upper() for c in cols}, ["extra col"], limit=4096, dialect=dialect
        )
        parts += [sql for *_, sql in compiled.checks] + [sql for _, sql in compiled.values]
        parts += [sql for level in compiled.inner for _, sql in level] + [compiled.select("src")]
    return "\n".join(parts)


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_every_rule_compiles_for_every_dialect(dialect: str) -> None:
    text = _compiled_text(dialect)
    assert "{" not in text and "}" not in text  # every fragment was filled
    for line in text.splitlines():
        depth = 0
        for ch in re.sub(r"'(?:[^'\\]|\\.|'')*'", "''", line):  # parentheses outside string literals
            depth += {"(": 1, ")": -1}.get(ch, 0)
            assert depth >= 0, line
        assert depth == 0, line


def test_spark_text_uses_only_spark_functions() -> None:
    spark, duck = _compiled_text("spark"), _compiled_text("duckdb")
    for only_duckdb in ("regexp_full_match", "TRY_CAST(", "isfinite(", "chr(", "VARCHAR", '"', "strlen("):
        assert only_duckdb not in spark
        assert only_duckdb in duck
    for only_spark in ("RLIKE", "char_length(", "try_cast(", "char(9)", "STRING", "`", "trim(BOTH", "octet_length("):
        assert only_spark in spark
        assert only_spark not in duck
    # the same rules and values in the same order for both engines
    for table, cols in COLUMNS.items():
        mapping = {c.name: c.name for c in cols}
        both = [compile_table(table, mapping, ["x"], limit=9, dialect=d) for d in ("duckdb", "spark")]
        assert [c[:3] for c in both[0].checks] == [c[:3] for c in both[1].checks]
        assert [v[0] for v in both[0].values] == [v[0] for v in both[1].values]
        # Spark strips in SQL what DuckDB gets from a pyarrow helper column
        assert not both[0].inner[0] and both[1].inner[0]
