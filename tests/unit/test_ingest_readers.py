"""Readers: which file belongs to which table, and every format read as the same strings.
All data here is synthetic, written by hand."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from graph.errors import IngestError
from ingest.readers import discover, iter_batches


def _touch(root: Path, rel: str, text: str = "account_id\nx\n") -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_discover_assigns_tables_and_reports_the_rest(tmp_path: Path) -> None:
    for rel in [
        "accounts.csv",
        "links-0001.parquet",
        "links/part-7.jsonl",
        "links/2026/x.ndjson",
        "content_b.json",
        "Follows.CSV",
        "notes.txt",
        "users.csv",
        "misc/links.csv",
        ".hidden.csv",
        "accounts.csv.bak",
        "links/.DS_Store",
    ]:
        _touch(tmp_path, rel)
    (tmp_path / "content-2.csv.gz").write_bytes(gzip.compress(b"content_id,account_id\n"))

    found = discover(tmp_path)

    assert {t: [f.name for f in fs] for t, fs in found.files.items()} == {
        "accounts": ["accounts.csv"],
        "content": ["content-2.csv.gz", "content_b.json"],
        "follows": ["Follows.CSV"],
        "links": ["links-0001.parquet", "links/2026/x.ndjson", "links/part-7.jsonl"],
    }
    assert {(i.name, i.reason.split(" (")[0]) for i in found.ignored} == {
        (".hidden.csv", "hidden file"),
        ("accounts.csv.bak", "unknown file type"),
        ("links/.DS_Store", "unknown file type"),
        ("misc/links.csv", "folder 'misc' is not a table"),
        ("notes.txt", "unknown file type"),
        ("users.csv", "file name does not start with a table name"),
    }
    gz = found.files["content"][0]
    assert (gz.fmt, gz.compression) == ("csv", "gzip")


def test_discover_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="does not exist"):
        discover(tmp_path / "nope")


def _read_all(root: Path, table: str) -> list[tuple[dict, int]]:
    out = []
    for f in discover(root).files[table]:
        for batch, rows in iter_batches(f, batch_rows=2):
            out += list(zip(batch.to_pylist(), rows.to_pylist(), strict=True))
    return out


def test_csv_reads_every_column_as_text(tmp_path: Path) -> None:
    _touch(tmp_path, "accounts.csv", 'account_id,created_at,score\n007,1772366400,1.50\n"a,b",,\n')
    assert _read_all(tmp_path, "accounts") == [
        ({"account_id": "007", "created_at": "1772366400", "score": "1.50"}, 1),
        ({"account_id": "a,b", "created_at": "", "score": ""}, 2),
    ]


def test_parquet_typed_columns_become_text(tmp_path: Path) -> None:
    table = pa.table(
        {
            "account_id": pa.array([7, 8, 9], pa.int64()),
            "created_at": pa.array([datetime(2026, 3, 1, 12, tzinfo=UTC)] * 3, pa.timestamp("ms", "UTC")),
            "flag": pa.array([True, None, False]),
            "tags": pa.array([["a"], [], None], pa.list_(pa.string())),
        }
    )
    pq.write_table(table, tmp_path / "accounts.parquet")
    rows = _read_all(tmp_path, "accounts")
    assert [r for r, _ in rows] == [
        {"account_id": "7", "created_at": "2026-03-01 12:00:00.000000Z", "flag": "true", "tags": '["a"]'},
        {"account_id": "8", "created_at": "2026-03-01 12:00:00.000000Z", "flag": None, "tags": "[]"},
        {"account_id": "9", "created_at": "2026-03-01 12:00:00.000000Z", "flag": "false", "tags": None},
    ]
    assert [n for _, n in rows] == [1, 2, 3]


def test_jsonl_tolerates_mixed_types_and_counts_lines(tmp_path: Path) -> None:
    _touch(tmp_path, "accounts.jsonl", '{"account_id": 5, "x": {"b": 1, "a": 2}}\n\n{"account_id": "b", "y": null}\n')
    assert _read_all(tmp_path, "accounts") == [
        ({"account_id": "5", "x": '{"a":2,"b":1}', "y": None}, 1),
        ({"account_id": "b", "x": None, "y": None}, 3),
    ]


def test_broken_parquet_is_an_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "accounts.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(IngestError, match=r"accounts\.parquet: unreadable parquet file") as err:
        _read_all(tmp_path, "accounts")
    assert err.value.file == "accounts.parquet"


def test_non_utf8_csv_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_bytes(b"account_id,age_band\na1,minor\na\xff2,adult\n")
    with pytest.raises(IngestError, match=r"accounts\.csv: not valid UTF-8 at line 3") as err:
        _read_all(tmp_path, "accounts")
    assert (err.value.file, err.value.row) == ("accounts.csv", 3)


def test_jsonl_line_that_is_not_json(tmp_path: Path) -> None:
    _touch(tmp_path, "links.jsonl", '{"src_kind": "account"}\n{oops\n')
    with pytest.raises(IngestError, match=r"links\.jsonl: line 2 is not valid JSON") as err:
        _read_all(tmp_path, "links")
    assert err.value.row == 2
