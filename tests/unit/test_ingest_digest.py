"""The snapshot digest depends on the normalised rows only: not on file format, file split or
row order; and it changes when any value changes. Data is synthetic, built in the test."""

from __future__ import annotations

import csv
import hashlib
import json
import random
import struct
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.digest import DIGEST_VERSION, TableDigest
from ingest.pipeline import read_snapshot

ACCOUNTS = [
    {
        "account_id": f"acct-{i:03d}",
        "created_at": f"2026-0{1 + i % 9}-1{i % 10}T0{i % 10}:30:00Z",
        "age_band": ["minor", "adult", ""][i % 3],
        "status": ["active", "suspended", ""][i % 3],
        "bio_len": str(i * 7) if i % 4 else "",
    }
    for i in range(40)
]
CONTENT = [
    {
        "content_id": f"post-{i}",
        "account_id": f"acct-{i % 45:03d}",
        "created_at": str(1772366400 + i * 3600),
        "kind": "video" if i % 2 else "comment",
        "parent_id": f"post-{i - 1}" if i % 2 == 0 and i else "",
        "label": ["child_oriented", "abusive", "none"][i % 3],
        "label_source": "classifier:v3" if i % 3 < 2 else "",
        "label_confidence": ["0.5", "1", "", "0.125"][i % 4],
    }
    for i in range(30)
]
FOLLOWS = [
    {
        "follower_id": f"acct-{i % 40:03d}",
        "followee_id": f"acct-{(i * 7) % 41:03d}",
        "created_at": f"2026-02-0{1 + i % 9}",
    }
    for i in range(60)
]
LINKS = [
    {
        "src_kind": "content",
        "src_id": f"post-{i % 30}",
        "dst_kind": ["url", "hashtag", "account"][i % 3],
        "dst_id": [f"HTTPS://Site{i}.Example/P?x={i}#f", f"#Tag{i % 5}", f"acct-{i:03d}"][i % 3],
        "kind": ["url", "hashtag", "mention"][i % 3],
    }
    for i in range(45)
]
TABLES = {"accounts": ACCOUNTS, "content": CONTENT, "follows": FOLLOWS, "links": LINKS}


def _write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def _typed(table: str, rows: list[dict]) -> pa.Table:
    """The same rows with real types, as a Parquet producer would write them."""
    cols = {k: [r[k] or None for r in rows] for k in rows[0]}
    out = {}
    for k, v in cols.items():
        if k == "created_at" and table in ("accounts", "follows"):
            out[k] = pa.array(
                [
                    None if x is None else datetime.fromisoformat(x.replace("Z", "+00:00")).replace(tzinfo=UTC)
                    for x in v
                ],
                pa.timestamp("ms", "UTC"),
            )
        elif k == "created_at":
            out[k] = pa.array([None if x is None else int(x) for x in v], pa.int64())
        elif k == "label_confidence":
            out[k] = pa.array([None if x is None else float(x) for x in v], pa.float64())
        else:
            out[k] = pa.array(v, pa.string())
    return pa.table(out)


def _digest(tmp_path: Path, name: str, write) -> str:
    snap = tmp_path / name
    snap.mkdir()
    write(snap)
    return read_snapshot(snap, quarantine_dir=tmp_path / f"{name}.q").digest


def test_same_data_in_any_format_split_or_order_gives_the_same_digest(tmp_path: Path) -> None:
    def as_csv(snap: Path) -> None:
        for t, rows in TABLES.items():
            _write_csv(snap / f"{t}.csv", rows)

    def as_parquet(snap: Path) -> None:
        for t, rows in TABLES.items():
            pq.write_table(_typed(t, rows), snap / f"{t}.parquet")

    def as_split_shuffled_mixed(snap: Path) -> None:
        rng = random.Random(7)
        for t, rows in TABLES.items():
            rows = rows[:]
            rng.shuffle(rows)
            third = len(rows) // 3
            (snap / t).mkdir()
            _write_csv(snap / t / "part-1.csv", rows[:third])
            pq.write_table(_typed(t, rows[third : 2 * third]), snap / f"{t}-0002.parquet")
            (snap / t / "part-3.jsonl").write_text(
                "".join(json.dumps({k: v for k, v in r.items() if v != ""}) + "\n" for r in rows[2 * third :])
            )

    digests = {
        name: _digest(tmp_path, name, fn)
        for name, fn in [("csv", as_csv), ("parquet", as_parquet), ("mixed", as_split_shuffled_mixed)]
    }
    assert len(set(digests.values())) == 1, digests
    assert len(digests["csv"]) == 64


@pytest.mark.parametrize(
    ("table", "column", "new"),
    [
        ("accounts", "age_band", "minor"),
        ("content", "label_confidence", "0.5000001"),
        ("follows", "created_at", "2026-02-01T00:00:01Z"),
        ("links", "dst_id", "#tag0x"),
        ("accounts", "bio_len", "8"),
    ],
)
def test_any_changed_value_changes_the_digest(tmp_path: Path, table: str, column: str, new: str) -> None:
    def write(changed: bool):
        def _w(snap: Path) -> None:
            for t, rows in TABLES.items():
                rows = [dict(r) for r in rows]
                if changed and t == table:
                    rows[1][column] = new
                _write_csv(snap / f"{t}.csv", rows)

        return _w

    assert _digest(tmp_path, "a", write(False)) != _digest(tmp_path, "b", write(True))


def test_duplicates_are_digested_after_last_row_wins(tmp_path: Path) -> None:
    def once(snap: Path) -> None:
        _write_csv(snap / "accounts.csv", [{"account_id": "a1", "age_band": "adult"}])

    def twice(snap: Path) -> None:
        _write_csv(
            snap / "accounts.csv",
            [{"account_id": "a1", "age_band": "minor"}, {"account_id": "a1", "age_band": "adult"}],
        )

    assert _digest(tmp_path, "once", once) == _digest(tmp_path, "twice", twice)


def _reference_table_digest(table: str, columns: list[tuple[str, str]], rows: list[tuple]) -> str:
    """The digest definition of docs/ingest.md, written out row by row."""

    def col_digest(kind: str, values: list) -> bytes:
        valid = bytes(0 if v is None else 1 for v in values)
        if kind == "str":
            enc = [(v or "").encode() for v in values]
            lengths = b"".join(struct.pack("<Q", len(e)) for e in enc)
            data = b"".join(enc)
        elif kind == "ts":
            lengths = b""
            data = b"".join(struct.pack("<q", 0 if v is None else v) for v in values)
        else:
            lengths = b""
            data = b"".join(struct.pack("<d", 0.0 if v is None else v + 0.0) for v in values)
        return hashlib.sha256(
            hashlib.sha256(valid).digest() + hashlib.sha256(lengths).digest() + hashlib.sha256(data).digest()
        ).digest()

    def field(b: bytes) -> bytes:
        return struct.pack("<Q", len(b)) + b

    h = hashlib.sha256(DIGEST_VERSION + field(table.encode()) + struct.pack("<Q", len(rows)))
    for i, (name, kind) in enumerate(columns):
        h.update(field(name.encode()) + col_digest(kind, [r[i] for r in rows]))
    return h.hexdigest()


def test_table_digest_matches_the_written_definition(tmp_path: Path) -> None:
    snap = tmp_path / "s"
    snap.mkdir()
    (snap / "accounts.csv").write_text(
        "account_id,created_at,age_band,status,x\nb,1772366400,MINOR,,1\na,,,deleted,\n", encoding="utf-8"
    )
    report = read_snapshot(snap, quarantine_dir=tmp_path / "q", batch_rows=1)
    expected = _reference_table_digest(
        "accounts",
        [("account_id", "str"), ("created_at", "ts"), ("age_band", "str"), ("status", "str"), ("props", "str")],
        [("a", None, "unknown", "deleted", None), ("b", 1772366400 * 10**6, "minor", "active", '{"x":"1"}')],
    )
    assert report.tables["accounts"].digest == expected


def test_streaming_digest_ignores_batch_boundaries() -> None:
    cols = ("s", "t", "f")
    table = pa.table(
        {
            "s": pa.array(["a", None, "ccc", "", "dd"]),
            "t": pa.array([1, None, 3, 4, 5], pa.timestamp("us", "UTC")),
            "f": pa.array([0.5, -0.0, None, 1.0, 0.25]),
        }
    )
    whole = TableDigest("x", cols)
    whole.update(table)
    pieces = TableDigest("x", cols)
    for start, length in [(0, 2), (2, 0), (2, 3)]:
        pieces.update(table.slice(start, length))
    assert whole.hexdigest() == pieces.hexdigest()


def test_digest_of_a_large_table_ignores_row_order(tmp_path: Path) -> None:
    """Big enough (250,000 rows) that DuckDB sorts and scans in parallel; with duplicates."""
    import numpy as np
    import pyarrow.compute as pc

    n = 250_000
    rng = np.random.default_rng(5)
    ids = pa.array(rng.permutation(n)).cast(pa.string())
    table = pa.table(
        {
            "follower_id": pc.binary_join_element_wise("acct", ids, ""),
            "followee_id": pc.binary_join_element_wise("acct", pc.utf8_reverse(ids), ""),
            "created_at": pa.array(rng.integers(1_700_000_000, 1_780_000_000, n)).cast(pa.string()),
        }
    )
    shuffled = table.take(pa.array(rng.permutation(n)))
    again = table.slice(0, 1000)  # duplicates, identical values: last-wins changes nothing

    def write(*parts: pa.Table):
        return lambda snap: pq.write_table(pa.concat_tables(parts), snap / "follows.parquet", row_group_size=50_000)

    assert _digest(tmp_path, "sorted", write(table)) == _digest(tmp_path, "shuffled", write(shuffled, again))
