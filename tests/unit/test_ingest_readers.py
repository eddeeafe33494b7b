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
from ingest.guard import ReaderLimits, ReaderReject
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


def test_non_utf8_csv_without_a_reject_list_is_an_error_naming_file_and_row(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_bytes(b"account_id,age_band\na1,minor\na\xff2,adult\n")
    with pytest.raises(IngestError, match=r"accounts\.csv, row 2: account_id: not valid UTF-8") as err:
        _read_all(tmp_path, "accounts")
    assert (err.value.file, err.value.row, err.value.field) == ("accounts.csv", 2, "account_id")


def test_jsonl_line_that_is_not_json(tmp_path: Path) -> None:
    _touch(tmp_path, "links.jsonl", '{"src_kind": "account"}\n{oops\n')
    with pytest.raises(IngestError, match=r"links\.jsonl, row 2: line 2 is not valid JSON") as err:
        _read_all(tmp_path, "links")
    assert err.value.row == 2


def _read_with_rejects(
    root: Path, table: str, limits: ReaderLimits | None = None
) -> tuple[list[tuple[dict, int]], list[ReaderReject]]:
    out, rejects = [], []
    for f in discover(root).files[table]:
        for batch, rows in iter_batches(f, batch_rows=2, limits=limits, rejects=rejects):
            out += list(zip(batch.to_pylist(), rows.to_pylist(), strict=True))
    return out, rejects


# -- issue 11, item 8: one bad row never stops the good ones -------------------------------


def test_a_non_utf8_csv_row_is_rejected_alone(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_bytes(b'account_id,age_band\na1,minor\na\xff2,adult\na3,\xe9\n"a,4",x\n')
    rows, rejects = _read_with_rejects(tmp_path, "accounts")
    assert rows == [
        ({"account_id": "a1", "age_band": "minor"}, 1),
        ({"account_id": "a,4", "age_band": "x"}, 4),
    ]
    assert [(r.file, r.row, r.rule, r.field, r.value) for r in rejects] == [
        ("accounts.csv", 2, "encoding", "account_id", "a\\xff2"),
        ("accounts.csv", 3, "encoding", "age_band", "\\xe9"),
    ]
    assert rejects[0].data == {"account_id": "a\\xff2", "age_band": "adult"}


def test_jsonl_rows_that_cannot_be_read_are_rejected_alone(tmp_path: Path) -> None:
    lines = [
        b'{"account_id": "a1"}',
        b'{"account_id": "a\xff"}',
        b"{oops",
        b"[1, 2]",
        b'{"account_id": "' + b"x" * 5000 + b'"}',
        b"",
        b'{"account_id": "a7"}',
    ]
    (tmp_path / "accounts.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    rows, rejects = _read_with_rejects(tmp_path, "accounts", ReaderLimits(max_line_bytes=1024))
    assert rows == [({"account_id": "a1"}, 1), ({"account_id": "a7"}, 7)]
    assert [(r.row, r.rule) for r in rejects] == [(2, "encoding"), (3, "json"), (4, "not_object"), (5, "line_too_long")]
    assert "longer than 1,024 bytes" in rejects[3].reason and len(rejects[3].value or "") <= 257


def test_an_overlong_csv_line_is_rejected_and_the_rest_read(tmp_path: Path) -> None:
    long_row = b"a2," + b"y" * 300_000
    for name, eol in (("accounts.csv", b"\n"), ("accounts-crlf.csv", b"\r\n")):
        body = eol.join([b"account_id,nick", b"a1,x", long_row, b"a3,z", b'"a4","q"']) + eol
        (tmp_path / name).write_bytes(body)
    rows, rejects = _read_with_rejects(tmp_path, "accounts", ReaderLimits(max_line_bytes=100_000))
    expected = [
        ({"account_id": "a1", "nick": "x"}, 1),
        ({"account_id": "a3", "nick": "z"}, 3),
        ({"account_id": "a4", "nick": "q"}, 4),
    ]
    assert rows == expected + expected
    assert [(r.file, r.row, r.line, r.rule) for r in rejects] == [
        ("accounts-crlf.csv", 2, 3, "line_too_long"),
        ("accounts.csv", 2, 3, "line_too_long"),
    ]
    assert rejects[0].value is not None and rejects[0].value.startswith("a2,yyy")


def test_an_overlong_csv_header_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_bytes(b"account_id," + b"h" * 5000 + b"\na1,x\n")
    with pytest.raises(IngestError, match=r"accounts\.csv: the header line is longer than 1,024 bytes"):
        _read_with_rejects(tmp_path, "accounts", ReaderLimits(max_line_bytes=1024))


def test_parquet_text_that_is_not_utf8_rejects_its_row(tmp_path: Path) -> None:
    good = pa.array([b"a1", b"a\xff2", b"a3"], pa.binary())
    as_string = pa.Array.from_buffers(pa.string(), 3, good.buffers())  # parquet writes it unchecked
    pq.write_table(pa.table({"account_id": as_string, "n": [1, 2, 3]}), tmp_path / "accounts.parquet")
    rows, rejects = _read_with_rejects(tmp_path, "accounts")
    assert rows == [({"account_id": "a1", "n": "1"}, 1), ({"account_id": "a3", "n": "3"}, 3)]
    assert [(r.row, r.rule, r.field, r.data) for r in rejects] == [
        (2, "encoding", "account_id", {"account_id": "a\\xff2", "n": "2"})
    ]


# -- issue 11, item 5: decompression bombs -------------------------------------------------


@pytest.mark.parametrize("name", ["accounts.csv.gz", "accounts.jsonl.gz"])
def test_a_decompression_bomb_is_refused_naming_file_and_limit(tmp_path: Path, name: str) -> None:
    header = b"account_id\n" if name.endswith(".csv.gz") else b""
    with gzip.open(tmp_path / name, "wb", compresslevel=1) as fh:
        fh.write(header)
        for _ in range(80):  # 80 MiB of one line, ~80 KB compressed
            fh.write(b"a" * (1 << 20))
    with pytest.raises(IngestError, match=name.replace(".", r"\.") + r": expands to more than 67,108,864 bytes") as err:
        _read_with_rejects(tmp_path, "accounts")
    assert "MAX_COMPRESSION_RATIO" in str(err.value) and err.value.file == name
    limits = ReaderLimits(max_decompressed_bytes=1 << 20)
    with pytest.raises(IngestError, match=r"more than 1,048,576 bytes .*MAX_DECOMPRESSED_BYTES"):
        _read_with_rejects(tmp_path, "accounts", limits)


def test_ordinary_gzip_files_read_in_full(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv.gz").write_bytes(
        gzip.compress(b"account_id\n" + b"".join(b"a%d\n" % i for i in range(5)))
    )
    rows, rejects = _read_with_rejects(tmp_path, "accounts")
    assert [r["account_id"] for r, _ in rows] == [f"a{i}" for i in range(5)] and not rejects


# -- issue 11, item 9: symlinks out of the snapshot ----------------------------------------


def test_symlinks_that_leave_the_snapshot_are_refused_unread(tmp_path: Path) -> None:
    snap, outside = tmp_path / "snap", tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("content_id,account_id\nSECRET-LINE,x\n")
    (outside / "links").mkdir()
    _touch(snap, "accounts.csv")
    (snap / "content.csv").symlink_to(outside / "secret.csv")
    (snap / "follows.csv").symlink_to("/etc/passwd")
    (snap / "accounts-2.csv").symlink_to(snap / "accounts.csv")  # stays inside: read
    (snap / "links").symlink_to(outside / "links", target_is_directory=True)
    found = discover(snap)
    assert {t: [f.name for f in fs] for t, fs in found.files.items()} == {
        "accounts": ["accounts-2.csv", "accounts.csv"],
        "content": [],
        "follows": [],
        "links": [],
    }
    assert [(i.name, i.reason) for i in found.ignored] == [
        ("content.csv", "symlink that leads outside the snapshot folder (refused, not read)"),
        ("follows.csv", "symlink that leads outside the snapshot folder (refused, not read)"),
        ("links", "symlinked folder (not followed)"),
    ]
    assert "SECRET" not in repr(found) and "root:" not in repr(found)


def test_a_symlink_swapped_in_after_discovery_is_refused(tmp_path: Path) -> None:
    snap = tmp_path / "snap"
    _touch(snap, "accounts.csv")
    (f,) = discover(snap).files["accounts"]
    (snap / "accounts.csv").unlink()
    (snap / "accounts.csv").symlink_to("/etc/passwd")
    with pytest.raises(IngestError, match="outside the snapshot folder") as err:
        list(iter_batches(f, 10))
    assert "root" not in str(err.value)


def test_snapshot_below_the_ingest_root(tmp_path: Path) -> None:
    from ingest.readers import snapshot_below

    (tmp_path / "root" / "snap").mkdir(parents=True)
    (tmp_path / "root" / "out").symlink_to(tmp_path, target_is_directory=True)
    root = tmp_path / "root"
    assert snapshot_below(root, "snap") == (root / "snap").resolve()
    assert snapshot_below(root, str(root / "snap")) == (root / "snap").resolve()
    for bad in ("/etc", "..", "out", "snap/../..", ".", "a\x00b", "x" * 5000, "missing"):
        with pytest.raises(IngestError, match="ingest root") as err:
            snapshot_below(root, bad)
        assert str(tmp_path) not in str(err.value)
