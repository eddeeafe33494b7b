"""Writing: every format holds the same rows, split files, and refusing to overwrite a snapshot."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq
import pytest

from graph.errors import ConfigError
from synth import TABLES, SynthParams, synth, write_snapshot
from tests.unit.synth.support import SEED, N


def _sorted_rows(table: pa.Table) -> list[tuple]:
    cols = table.to_pydict()
    return sorted(zip(*cols.values()), key=repr)


def test_csv_and_jsonl_hold_the_same_rows_as_parquet(tmp_path, snap, written):
    for fmt in ("csv", "jsonl"):
        write_snapshot(snap, tmp_path / fmt, fmt)
    for t in TABLES:
        want = pq.read_table(written / f"{t}.parquet")
        types = {f.name: f.type for f in want.schema}
        got_csv = pacsv.read_csv(
            tmp_path / "csv" / f"{t}.csv",
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True),
        )
        got_json = pajson.read_json(
            tmp_path / "jsonl" / f"{t}.jsonl", parse_options=pajson.ParseOptions(explicit_schema=want.schema)
        )
        assert got_csv.column_names == got_json.column_names == want.column_names
        assert _sorted_rows(got_csv) == _sorted_rows(want) == _sorted_rows(got_json), t


def test_split_writes_multi_file_tables_with_the_same_rows(tmp_path, written):
    summary = synth(tmp_path / "s", accounts=N, seed=SEED, split=3, world="classic")
    assert {"links-0000.parquet", "links-0001.parquet", "links-0002.parquet"} <= set(summary.files)
    for t in TABLES:
        parts = pa.concat_tables(pq.read_table(tmp_path / "s" / f"{t}-{i:04d}.parquet") for i in range(3))
        assert parts.equals(pq.read_table(written / f"{t}.parquet"))


def test_refuses_a_directory_with_a_snapshot_unless_forced(tmp_path, snap):
    write_snapshot(snap, tmp_path, "csv")
    with pytest.raises(ConfigError, match="--force"):
        write_snapshot(snap, tmp_path, "parquet")
    write_snapshot(snap, tmp_path, "parquet", force=True)
    assert not list(tmp_path.glob("*.csv"))  # no stale table of another format is left
    with pytest.raises(ConfigError, match="at least 1000"):
        SynthParams(accounts=10)
