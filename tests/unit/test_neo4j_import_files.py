"""Unit tests of graph.neo4j_import without a JVM: the header and data files neo4j-admin reads,
and the import tool's command line (the real tool runs in tests/integration/test_neo4j_bulk_import.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from graph.errors import StoreError
from graph.model import EDGE_SCHEMA, NodeKind
from graph.neo4j_import import Neo4jImportFiles
from ops.neo4j_import import import_command
from ops.neo4j_server import ServerConfig


def _edges(rows: list[tuple[str, str, str, str, str, str]]) -> pa.Table:
    cols = list(zip(*rows))
    n = len(rows)
    return pa.table(
        {
            "src_kind": cols[0],
            "src_id": cols[1],
            "type": cols[2],
            "kind": cols[3],
            "dst_kind": cols[4],
            "dst_id": cols[5],
            "created_at": pa.array([datetime(2024, 1, 1, tzinfo=UTC)] * (n - 1) + [None], pa.timestamp("us", "UTC")),
            "props": [None] * n,
        },
        schema=EDGE_SCHEMA,
    )


def test_files_hold_typed_headers_nulls_and_empty_strings(tmp_path: Path) -> None:
    files = Neo4jImportFiles(tmp_path)
    accounts = pa.table(
        {
            "account_id": ["a2", "a1"],
            "created_at": pa.array([1_000_000, None], pa.int64()).cast(pa.timestamp("us", "UTC")),
            "age_band": ["adult", ""],
            "status": [None, "active"],
        }
    )
    assert files.upsert_nodes(NodeKind.ACCOUNT, accounts) == 2
    assert files.ensure_nodes(NodeKind.ACCOUNT, ["b1", "b2"]) == 2
    assert files.ensure_nodes(NodeKind.ACCOUNT, ["b2", "b3"]) == 1  # b2 is there already
    files.upsert_edges(_edges([("account", "a1", "FOLLOWS", "follow", "account", "a2")]))
    plan = files.finish()

    header = (tmp_path / "nodes-account.header.csv").read_text()
    assert header == "account_id:ID(account),created_at:long,age_band,status,props,bare:boolean\n"
    assert (tmp_path / "nodes-account.csv").read_text().splitlines() == [
        '"a2",1000000,"adult",,,false',
        '"a1",,"","active",,false',
    ]
    assert (tmp_path / "nodes-account-bare.csv").read_text().splitlines() == ['"b1",true', '"b2",true', '"b3",true']
    assert (tmp_path / "rels-account-FOLLOWS-account.header.csv").read_text() == (
        ":START_ID(account),:END_ID(account),kind,created_at:long,props\n"
    )
    assert plan.node_counts == {"Account": 5}
    assert plan.rel_counts == {"FOLLOWS": 1}
    assert not plan.multiline
    assert f"--nodes=Account={tmp_path / 'nodes-account.header.csv'},{tmp_path / 'nodes-account.csv'}" in plan.args()


def test_a_line_break_in_a_field_tells_the_tool(tmp_path: Path) -> None:
    files = Neo4jImportFiles(tmp_path)
    files.upsert_nodes(NodeKind.HASHTAG, pa.table({"tag": ["plain"]}))
    assert not files._plan.multiline
    files.upsert_nodes(NodeKind.URL, pa.table({"url": ["https://x.example/"], "domain": ["two\nlines"]}))
    plan = files.finish()
    assert plan.multiline and "--multiline-fields=true" in plan.args()


def test_edges_go_to_one_file_per_source_type_target(tmp_path: Path) -> None:
    files = Neo4jImportFiles(tmp_path)
    files.upsert_edges(
        _edges(
            [
                ("content", "c1", "MENTIONS", "mention", "account", "a1"),
                ("account", "a1", "MENTIONS", "mention", "account", "a2"),
                ("content", "c2", "MENTIONS", "mention", "account", "a2"),
            ]
        )
    )
    plan = files.finish()
    assert sorted(p.name for _, _, p in plan.relationships) == [
        "rels-account-MENTIONS-account.csv",
        "rels-content-MENTIONS-account.csv",
    ]
    assert plan.rel_counts == {"MENTIONS": 3}
    assert (tmp_path / "rels-content-MENTIONS-account.csv").read_text().count("\n") == 2


def test_reads_and_writes_after_finish_are_refused(tmp_path: Path) -> None:
    files = Neo4jImportFiles(tmp_path)
    files.finish()
    with pytest.raises(StoreError, match="closed"):
        files.upsert_nodes(NodeKind.HASHTAG, pa.table({"tag": ["x"]}))
    with pytest.raises(StoreError, match="cannot be read"):
        files.node_table(NodeKind.ACCOUNT)


def test_import_command_refuses_bad_rows_and_names_the_database(tmp_path: Path) -> None:
    files = Neo4jImportFiles(tmp_path / "files")
    files.upsert_nodes(NodeKind.HASHTAG, pa.table({"tag": ["x"]}))
    cfg = ServerConfig(home=tmp_path / "home", password="long-enough")
    cmd = import_command(cfg, files.finish(), database="graph", threads=2)
    assert cmd[cmd.index("org.neo4j.cli.AdminTool") + 1 : cmd.index("org.neo4j.cli.AdminTool") + 5] == [
        "database",
        "import",
        "full",
        "graph",
    ]
    for flag in ("--bad-tolerance=0", "--strict=true", "--skip-duplicate-nodes=false", "--threads=2"):
        assert flag in cmd
