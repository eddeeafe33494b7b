"""EmbeddedStore is crash-safe: `kill -9` during a write leaves the last committed state, and
writing again converges to the state of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from graph.embedded import EmbeddedStore
from graph.model import NodeKind

BATCH = 20_000
BATCHES = 6

# Writes BATCHES batches of follows (each one upsert_edges call), printing after each commit.
WRITER = f"""
import sys
import pyarrow as pa
from graph.embedded import EmbeddedStore
from graph.model import EDGE_SCHEMA, NodeKind
store = EmbeddedStore(sys.argv[1])
ids = pa.array([f"acc{{i}}" for i in range({BATCH * BATCHES + 1})])
store.ensure_nodes(NodeKind.ACCOUNT, ids)
print("nodes", flush=True)
for b in range({BATCHES}):
    src = ids.slice(b * {BATCH}, {BATCH})
    dst = ids.slice(b * {BATCH} + 1, {BATCH})
    n = len(src)
    table = pa.table({{"src_kind": pa.array(["account"] * n), "src_id": src, "type": pa.array(["FOLLOWS"] * n),
                      "kind": pa.array(["follow"] * n), "dst_kind": pa.array(["account"] * n), "dst_id": dst}})
    store.upsert_edges(table)
    print("batch", b, flush=True)
store.close()
"""


def run_writer(path: Path, kill_after_lines: int | None) -> int:
    """Run the writer; with kill_after_lines, SIGKILL it once that many lines are out (mid-write)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    lines = 0
    if kill_after_lines is not None:
        while lines < kill_after_lines and proc.stdout.readline():
            lines += 1
        time.sleep(0.02)  # into the next batch's transaction
        proc.send_signal(signal.SIGKILL)
    proc.communicate()
    return proc.returncode


def test_kill_9_mid_write_leaves_a_committed_state_and_rerun_converges(tmp_path: Path) -> None:
    reference = tmp_path / "reference.duckdb"  # the uninterrupted run, in this process (faster)
    argv = sys.argv
    try:
        sys.argv = ["writer", str(reference)]
        exec(compile(WRITER, "writer", "exec"), {"__name__": "__main__"})
    finally:
        sys.argv = argv
    crashed = tmp_path / "crashed.duckdb"
    assert run_writer(crashed, kill_after_lines=3) == -signal.SIGKILL

    store = EmbeddedStore(crashed)
    edges_after_crash = store.edge_table().num_rows
    store.close()
    # Only whole batches: the transaction of the killed call left nothing behind.
    assert edges_after_crash % BATCH == 0 and BATCH * 2 <= edges_after_crash < BATCH * BATCHES

    assert run_writer(crashed, None) == 0
    with EmbeddedStore(crashed) as done, EmbeddedStore(reference) as ref:
        assert done.counts() == ref.counts()
        assert done.edge_table().equals(ref.edge_table())
        assert done.node_table(NodeKind.ACCOUNT).equals(ref.node_table(NodeKind.ACCOUNT))
