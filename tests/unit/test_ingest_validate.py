"""The bad-input matrix: each kind of bad input and the exact report and quarantine it gives.
Every snapshot here is synthetic, a few hand-written rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graph.embedded import EmbeddedStore
from graph.errors import IngestError
from graph.model import NodeKind
from ingest.pipeline import load_snapshot, read_snapshot
from ingest.report import IngestReport

GOOD_ACCOUNTS = "account_id,created_at,age_band,status\na1,2026-03-01T12:00:00Z,minor,active\na2,,adult,\n"


def _snapshot(root: Path, files: dict[str, str | bytes]) -> Path:
    snap = root / "snap"
    for rel, text in files.items():
        path = snap / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    return snap


def _quarantine(root: Path) -> list[dict[str, Any]]:
    text = (root / "q" / "quarantine.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def _counts(report: IngestReport, table: str) -> tuple[int, int, int, int, int]:
    t = report.tables[table]
    return t.rows_read, t.accepted, t.rejected, t.duplicates, t.written


def _run(tmp_path: Path, files: dict[str, str | bytes], **kw: Any) -> IngestReport:
    return read_snapshot(_snapshot(tmp_path, files), quarantine_dir=tmp_path / "q", **kw)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    s = EmbeddedStore(tmp_path / "graph.duckdb")
    yield s
    s.close()


def _empty(store: EmbeddedStore) -> bool:
    return all(v == 0 for v in store.counts().values())


# -- table-stopping errors: nothing of the snapshot is written ---------------------------------


def test_missing_required_column_stops_before_writing(tmp_path: Path, store: EmbeddedStore) -> None:
    snap = _snapshot(
        tmp_path, {"accounts.csv": GOOD_ACCOUNTS, "follows.csv": "follower_id,created_at\na1,2026-03-01\n"}
    )
    with pytest.raises(IngestError, match=r"follows\.csv: missing required column 'followee_id'") as err:
        load_snapshot(snap, store, quarantine_dir=tmp_path / "q")
    assert (err.value.file, err.value.field) == ("follows.csv", "followee_id")
    assert _empty(store)
    saved = json.loads((tmp_path / "q" / "ingest-report.json").read_text())
    assert saved["status"] == "failed"
    assert saved["errors"] == ["follows.csv: missing required column 'followee_id' of table 'follows'"]
    assert saved["digest"] is None


def test_missing_required_key_in_every_jsonl_row(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"links\.jsonl: missing required column 'dst_id'"):
        _run(tmp_path, {"links.jsonl": '{"src_kind": "account", "src_id": "a1", "dst_kind": "account"}\n'})


def test_several_broken_tables_are_all_reported(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"and 1 more error") as err:
        _run(tmp_path, {"accounts.csv": "id\nx\n", "follows.parquet": b"not parquet"})
    assert err.value.args[0].startswith("accounts.csv: missing required column 'account_id'")
    saved = json.loads((tmp_path / "q" / "ingest-report.json").read_text())
    assert [e.split(":")[0] for e in saved["errors"]] == ["accounts.csv", "follows.parquet"]


def test_no_table_files_at_all(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no table files found"):
        _run(tmp_path, {"notes.txt": "hello"})


# -- row-level problems: quarantined, counted ---------------------------------------------


def test_non_utf8_bytes_quarantine_their_row_and_every_good_row_lands(tmp_path: Path, store: EmbeddedStore) -> None:
    """Issue 11, item 8: one bad byte costs one row, in CSV and JSON Lines alike."""
    snap = _snapshot(
        tmp_path,
        {
            "accounts.csv": GOOD_ACCOUNTS,
            "content.csv": b"content_id,account_id\nc1,a1\nc\xe92,a2\nc3,a2\n",
            "follows.jsonl": b'{"follower_id": "a1", "followee_id": "a2"}\n{"follower_id": "a\xff"}\n{oops\n',
        },
    )
    report = load_snapshot(snap, store, quarantine_dir=tmp_path / "q")
    assert _counts(report, "content") == (3, 2, 1, 0, 2)
    assert _counts(report, "follows") == (3, 1, 2, 0, 1)
    assert report.tables["content"].rejected_by_rule == {"encoding": 1}
    assert report.tables["follows"].rejected_by_rule == {"encoding": 1, "json": 1}
    assert {r["content_id"] for r in store.node_table(NodeKind.CONTENT).to_pylist()} == {"c1", "c3"}
    q = _quarantine(tmp_path)
    assert [(e["file"], e["row"], e["rule"], e["field"]) for e in q] == [
        ("content.csv", 2, "encoding", "content_id"),
        ("follows.jsonl", 2, "encoding", None),
        ("follows.jsonl", 3, "json", None),
    ]
    assert q[0]["reason"] == "content_id: not valid UTF-8" and q[0]["value"] == "c\\xe92"
    assert q[0]["data"] == {"content_id": "c\\xe92", "account_id": "a2"}
    assert q[1]["reason"].startswith("line 2 is not valid UTF-8")


def test_an_overlong_line_is_quarantined_and_the_file_read(tmp_path: Path) -> None:
    """Issue 11, item 8: one enormous line rejects its row, not the file."""
    from ingest.guard import ReaderLimits

    big = "a9," + "z" * 200_000
    report = _run(
        tmp_path, {"accounts.csv": GOOD_ACCOUNTS + big + ",adult,\n"}, limits=ReaderLimits(max_line_bytes=65_536)
    )
    assert _counts(report, "accounts") == (3, 2, 1, 0, 2)
    (entry,) = _quarantine(tmp_path)
    assert (entry["file"], entry["row"], entry["rule"]) == ("accounts.csv", 3, "line_too_long")
    assert entry["reason"] == "line 4 is longer than 65,536 bytes (CRUMBGRAPH_INGEST_MAX_LINE_BYTES); skipped unread"
    assert entry["value"].startswith("a9,zzz") and len(entry["value"]) == 257


def test_bad_enum_is_quarantined(tmp_path: Path) -> None:
    report = _run(tmp_path, {"accounts.csv": "account_id,age_band,status\na1,Minor,\na2,teen,\na3,,gone\n"})
    assert _counts(report, "accounts") == (3, 1, 2, 0, 1)
    assert report.tables["accounts"].rejected_by_rule == {"enum": 2}
    assert _quarantine(tmp_path) == [
        {
            "table": "accounts",
            "file": "accounts.csv",
            "row": 2,
            "field": "age_band",
            "rule": "enum",
            "reason": "age_band: not one of minor, adult, unknown",
            "value": "teen",
            "data": {"account_id": "a2", "age_band": "teen", "status": ""},
        },
        {
            "table": "accounts",
            "file": "accounts.csv",
            "row": 3,
            "field": "status",
            "rule": "enum",
            "reason": "status: not one of active, suspended, deleted",
            "value": "gone",
            "data": {"account_id": "a3", "age_band": "", "status": "gone"},
        },
    ]


def test_bad_link_kinds_are_quarantined(tmp_path: Path) -> None:
    report = _run(
        tmp_path,
        {
            "links.csv": "src_kind,src_id,dst_kind,dst_id\n"
            "url,u1,account,a1\naccount,a1,group,g1\nACCOUNT,a1,Hashtag,#ok\n"
        },
    )
    assert _counts(report, "links") == (3, 1, 2, 0, 1)
    assert [(q["row"], q["field"], q["rule"]) for q in _quarantine(tmp_path)] == [
        (1, "src_kind", "enum"),
        (2, "dst_kind", "enum"),
    ]


def test_bad_timestamps_are_quarantined(tmp_path: Path) -> None:
    report = _run(
        tmp_path,
        {
            "follows.csv": "follower_id,followee_id,created_at\n"
            "a1,a2,yesterday\na1,a3,1772366400000\na1,a4,1772366400\n"
            "a1,a5,2026-02-30T00:00:00Z\n"
        },
    )
    assert _counts(report, "follows") == (4, 1, 3, 0, 1)
    assert [(q["row"], q["field"], q["rule"], q["value"]) for q in _quarantine(tmp_path)] == [
        (1, "created_at", "timestamp", "yesterday"),
        (2, "created_at", "timestamp_range", "1772366400000"),  # milliseconds, not seconds
        (4, "created_at", "timestamp", "2026-02-30T00:00:00Z"),
    ]


def test_empty_required_fields_and_confidence(tmp_path: Path) -> None:
    report = _run(
        tmp_path,
        {
            "content.csv": "content_id,account_id,label,label_confidence\n"
            "c1,,none,\n ,a1,none,\nc3,a1,abusive,1.2\nc4,a1,abusive,high\n"
            "c5,a1,abusive,0.75\n"
        },
    )
    assert _counts(report, "content") == (5, 1, 4, 0, 1)
    assert [(q["row"], q["field"], q["rule"], q["reason"]) for q in _quarantine(tmp_path)] == [
        (1, "account_id", "required", "account_id: required field is empty"),
        (2, "content_id", "required", "content_id: required field is empty"),
        (3, "label_confidence", "range", "label_confidence: outside 0..1"),
        (4, "label_confidence", "number", "label_confidence: not a number"),
    ]


def test_bad_url_and_empty_hashtag(tmp_path: Path) -> None:
    report = _run(
        tmp_path,
        {
            "links.jsonl": "\n".join(
                json.dumps(r)
                for r in [
                    {"src_kind": "account", "src_id": "a1", "dst_kind": "url", "dst_id": "www.example.com/x"},
                    {"src_kind": "account", "src_id": "a1", "dst_kind": "hashtag", "dst_id": " # "},
                    {"src_kind": "account", "src_id": "a1", "dst_kind": "url", "dst_id": "https://Example.com/x"},
                ]
            )
            + "\n"
        },
    )
    assert _counts(report, "links") == (3, 1, 2, 0, 1)
    assert [(q["row"], q["rule"], q["value"]) for q in _quarantine(tmp_path)] == [
        (1, "url", "www.example.com/x"),
        (2, "hashtag", " # "),
    ]


def test_oversized_fields_are_quarantined(tmp_path: Path) -> None:
    long_id = "x" * 4097
    report = _run(tmp_path, {"accounts.csv": f"account_id,bio\n{long_id},\nok,{'b' * 5000}\n{'y' * 4096},short\n"})
    assert _counts(report, "accounts") == (3, 1, 2, 0, 1)
    q = _quarantine(tmp_path)
    assert [(r["row"], r["field"], r["rule"], r["reason"]) for r in q] == [
        (1, "account_id", "too_long", "account_id: longer than 4096 characters"),
        (2, "bio", "too_long", "bio: longer than 4096 characters"),
    ]
    assert q[0]["value"] == "x" * 256 + "…"  # the value is cut, the row is whole
    assert q[0]["data"]["account_id"] == long_id


def test_field_limit_is_configurable(tmp_path: Path) -> None:
    report = _run(tmp_path, {"accounts.csv": "account_id\nabcdef\nabc\n"}, max_field_chars=4)
    assert _counts(report, "accounts") == (2, 1, 1, 0, 1)


# -- duplicates, dangling ids, empty files, unknown files ----------------------------------


def test_duplicate_ids_last_row_wins(tmp_path: Path, store: EmbeddedStore) -> None:
    snap = _snapshot(
        tmp_path,
        {
            "accounts-1.csv": "account_id,age_band,nick\na1,minor,first\na2,adult,x\na1,adult,second\n",
            "accounts-2.jsonl": '{"account_id": "a1", "age_band": "unknown", "nick": "third"}\n',
            "follows.csv": "follower_id,followee_id,created_at\na1,a2,1772366400\na1,a2,1772366401\n",
        },
    )
    report = load_snapshot(snap, store, quarantine_dir=tmp_path / "q")
    assert _counts(report, "accounts") == (4, 4, 0, 2, 2)
    assert _counts(report, "follows") == (2, 2, 0, 1, 1)
    accounts = {(r["account_id"], r["age_band"], r["props"]) for r in store.node_table(NodeKind.ACCOUNT).to_pylist()}
    assert accounts == {("a1", "unknown", '{"nick":"third"}'), ("a2", "adult", '{"nick":"x"}')}
    follows = store.edge_table().to_pylist()
    assert [(e["src_id"], e["dst_id"], e["created_at"].timestamp()) for e in follows] == [("a1", "a2", 1772366401.0)]


def test_dangling_ids_become_counted_bare_nodes(tmp_path: Path, store: EmbeddedStore) -> None:
    snap = _snapshot(
        tmp_path,
        {
            "accounts.csv": GOOD_ACCOUNTS,
            "content.csv": "content_id,account_id,parent_id\nc1,a1,\nc2,ghost1,c1\nc3,a2,c404\n",
            "follows.csv": "follower_id,followee_id\na1,ghost1\nghost2,a1\n",
            "links.csv": "src_kind,src_id,dst_kind,dst_id,kind\naccount,ghost3,content,c1,share\n"
            "content,c1,account,ghost1,mention\ncontent,c2,content,c999,reply\n",
        },
    )
    report = load_snapshot(snap, store, quarantine_dir=tmp_path / "q")

    bare = {t: (r.bare_endpoints, r.bare_created) for t, r in report.tables.items()}
    assert bare == {
        "accounts": ({}, {}),
        "content": ({"account": 1, "content": 1}, {"account": 1, "content": 1}),  # ghost1, c404
        "follows": ({"account": 2}, {"account": 1}),  # ghost1 (exists by now), ghost2
        "links": ({"account": 2, "content": 1}, {"account": 1, "content": 1}),  # ghost3, ghost1; c999
    }
    accounts = {(r["account_id"], r["bare"]) for r in store.node_table(NodeKind.ACCOUNT).to_pylist()}
    assert accounts == {("a1", False), ("a2", False), ("ghost1", True), ("ghost2", True), ("ghost3", True)}
    content = {(r["content_id"], r["bare"]) for r in store.node_table(NodeKind.CONTENT).to_pylist()}
    assert content == {("c1", False), ("c2", False), ("c3", False), ("c404", True), ("c999", True)}
    edges = {(e["src_id"], e["type"], e["dst_id"]) for e in store.edge_table().to_pylist()}
    assert edges == {
        ("a1", "POSTED", "c1"),
        ("ghost1", "POSTED", "c2"),
        ("a2", "POSTED", "c3"),
        ("c2", "REPLY_TO", "c1"),
        ("c3", "REPLY_TO", "c404"),
        ("a1", "FOLLOWS", "ghost1"),
        ("ghost2", "FOLLOWS", "a1"),
        ("ghost3", "SHARES", "c1"),
        ("c1", "MENTIONS", "ghost1"),
        ("c2", "REPLIES", "c999"),
    }


def test_empty_files(tmp_path: Path) -> None:
    report = _run(
        tmp_path,
        {
            "accounts.csv": "",
            "accounts-2.csv": "account_id,age_band\n",
            "follows.jsonl": "\n\n",
            "content.csv": "content_id,account_id\nc1,a1\n",
        },
    )
    assert _counts(report, "accounts") == (0, 0, 0, 0, 0)
    assert _counts(report, "follows") == (0, 0, 0, 0, 0)
    assert _counts(report, "content") == (1, 1, 0, 0, 1)
    assert report.warnings == ["accounts.csv: empty file (no header, no rows)"]
    assert report.tables["accounts"].files == ["accounts-2.csv", "accounts.csv"]
    assert report.status == "ok"


def test_unknown_file_names_are_reported_not_read(tmp_path: Path) -> None:
    report = _run(
        tmp_path,
        {
            "accounts.csv": GOOD_ACCOUNTS,
            "users.csv": "account_id\nzz\n",
            "truth.json": "{}",
            "extra/links.csv": "x\n",
            "README": "synthetic",
        },
    )
    assert report.ignored_files == [
        {"file": "README", "reason": report.ignored_files[0]["reason"]},
        {"file": "extra/links.csv", "reason": "folder 'extra' is not a table (accounts, content, follows, links)"},
        {
            "file": "truth.json",
            "reason": "file name does not start with a table name (accounts, content, follows, links)",
        },
        {
            "file": "users.csv",
            "reason": "file name does not start with a table name (accounts, content, follows, links)",
        },
    ]
    assert report.ignored_files[0]["reason"].startswith("unknown file type")
    assert _counts(report, "accounts") == (2, 2, 0, 0, 2)
    saved = json.loads((tmp_path / "q" / "ingest-report.json").read_text())
    assert [f["file"] for f in saved["ignored_files"]] == ["README", "extra/links.csv", "truth.json", "users.csv"]


def test_extra_columns_become_sorted_props(tmp_path: Path, store: EmbeddedStore) -> None:
    snap = _snapshot(tmp_path, {"accounts.csv": 'Account_ID,zeta,alpha,AGE_BAND\na1,z,"a""q",MINOR\na2,,,\n'})
    load_snapshot(snap, store, quarantine_dir=tmp_path / "q")
    rows = {(r["account_id"], r["age_band"], r["props"]) for r in store.node_table(NodeKind.ACCOUNT).to_pylist()}
    assert rows == {("a1", "minor", '{"alpha":"a\\"q","zeta":"z"}'), ("a2", "unknown", None)}
