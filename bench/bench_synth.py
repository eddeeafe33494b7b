"""Benchmark of `crumbgraph synth`: wall time (generation and writing) and peak memory at 1,000,000
accounts by default. Run: `.venv/bin/python bench/bench_synth.py [--accounts N] [--format F] [--json OUT]`."""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from synth import TABLES, SynthParams, generate_snapshot, write_snapshot


def _rss_mb() -> tuple[int, int]:
    """(current, peak) resident memory of this process in MB, from /proc (Linux)."""
    cur = peak = 0
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1]) // 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) // 1024
    return cur, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--format", default="parquet", choices=["parquet", "csv", "jsonl"])
    ap.add_argument("--out", type=Path, default=None, help="keep the snapshot here (default: a temp dir, deleted)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="synth-bench-"))
    stages: list[tuple[str, float, int]] = []
    t0 = time.perf_counter()

    def progress(stage: str, done: float, total: float | None = None) -> None:
        if stage != "write" or done == 0:  # generation steps, and the start of writing
            stages.append((stage, round(time.perf_counter() - t0, 2), _rss_mb()[0]))

    try:
        snap = generate_snapshot(SynthParams(accounts=args.accounts, seed=args.seed), progress)
        t_gen = time.perf_counter() - t0
        write_snapshot(snap, out, args.format, force=True, progress=progress)
        t_all = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in out.iterdir())
        rows = {t: snap.tables[t].num_rows for t in TABLES}
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    result = {
        "benchmark": "synth",
        "accounts": args.accounts,
        "seed": args.seed,
        "format": args.format,
        "rows": rows,
        "total_rows": sum(rows.values()),
        "generate_seconds": round(t_gen, 1),
        "write_seconds": round(t_all - t_gen, 1),
        "total_seconds": round(t_all, 1),
        "rows_per_second": round(sum(rows.values()) / t_all),
        "peak_rss_mb": peak_mb,
        "output_mb": round(size / 2**20, 1),
        "planted": {k: len(snap.truth[k]) for k in ("clusters", "bridges", "trails", "groomers", "decoys")},
        "stages": [{"stage": s, "at_seconds": t, "rss_mb": m} for s, t, m in stages],
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
    }
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
