"""Benchmark: `load_snapshot` rows/s from Parquet and from CSV into the embedded store beside
its anchor, DuckDB's own raw load of the same files into a fresh database file in the same run
(`CREATE TABLE t AS SELECT * FROM read_parquet([...])` / `read_csv([...], all_varchar=true)`,
one table per snapshot table, then CHECKPOINT), and the ratio ingest / raw (issue 13: >= 0.5).
Optionally also the store-less `read_snapshot` (read + validate + dedup + digest).
Data: a SYNTHETIC snapshot from `crumbgraph synth`.

  .venv/bin/python bench/bench_ingest.py --accounts 200000 [--formats parquet,csv] [--modes raw,store,read]
      [--workdir DIR] [--code CHECKOUT]   # --code: measure another checkout's ingest (before/after)

Each measurement runs in its own child process so that peak RSS (getrusage) is its own.
CPU seconds (user + system, all threads) are printed too: on a shared machine they say more
than wall time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from ingest.pipeline import load_snapshot, read_snapshot
snap, db, q, mode = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), sys.argv[4]
t0 = time.perf_counter()
if mode == "raw":
    import duckdb
    from ingest.readers import TABLES, discover
    found = discover(snap)
    with duckdb.connect(db) as con:
        n = 0
        for table in TABLES:
            files = [str(f.path) for f in found.files[table]]
            if not files:
                continue
            fmt = found.files[table][0].fmt
            read = (f"read_parquet({{files!r}})" if fmt == "parquet"
                    else f"read_csv({{files!r}}, header=true, all_varchar=true)")
            con.execute(f"CREATE TABLE {{table}} AS SELECT * FROM {{read}}")
            n += con.execute(f"SELECT count(*) FROM {{table}}").fetchall()[0][0]
        con.execute("CHECKPOINT")
    class report:
        rows_read, phases, digest = n, {{}}, None
elif mode == "store":
    from graph.store import StoreConfig, open_store
    with open_store(StoreConfig(url="embedded:" + db)) as store:
        report = load_snapshot(snap, store, quarantine_dir=q)
else:
    report = read_snapshot(snap, quarantine_dir=q)
seconds = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"rows": report.rows_read, "seconds": seconds, "cpu_seconds": ru.ru_utime + ru.ru_stime,
                  "phases": report.phases,
                  "digest": report.digest, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def snapshot(workdir: Path, accounts: int, seed: int, fmt: str) -> Path:
    out = workdir / f"synth-{accounts}-{seed}-{fmt}"
    if not (out / "truth.json").exists():
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from api.cli import main; main()",
                "synth",
                "--accounts",
                str(accounts),
                "--seed",
                str(seed),
                "--out",
                str(out),
                "--format",
                fmt,
                "--quiet",
                "--force",
            ],
            check=True,
            cwd=ROOT,
        )
    return out


def measure(snap: Path, workdir: Path, mode: str, code: Path) -> dict:
    db = workdir / f"{snap.name}-{mode}.duckdb"
    for p in (db, db.with_suffix(".duckdb.wal")):
        p.unlink(missing_ok=True)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD.format(root=str(code)),
            str(snap),
            str(db),
            str(workdir / f"{snap.name}-{mode}.q"),
            mode,
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--formats", default="parquet,csv")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--modes", default="raw,store", help="raw (the anchor), store, read (no store)")
    ap.add_argument("--code", type=Path, default=ROOT, help="checkout whose ingest to measure (default: this one)")
    args = ap.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for fmt in args.formats.split(","):
        snap = snapshot(workdir, args.accounts, args.seed, fmt)
        raw = None
        for mode in args.modes.split(","):
            r = measure(snap, workdir, mode, args.code.resolve())
            r.update(format=fmt, mode=mode, accounts=args.accounts, rows_per_s=round(r["rows"] / r["seconds"]))
            raw = r["rows_per_s"] if mode == "raw" else raw
            ratio = f"{r['rows_per_s'] / raw:5.2f}x raw" if raw and mode != "raw" else "  anchor "
            r["ratio_to_raw"] = round(r["rows_per_s"] / raw, 3) if raw else None
            results.append(r)
            print(
                f"{fmt:8} {mode:6} {r['rows']:>10,} rows {r['seconds']:7.2f} s {r['rows_per_s']:>10,} rows/s {ratio} "
                f"(cpu {r['cpu_seconds']:6.1f} s) peak {r['peak_rss_mb']:6.0f} MB  phases {r['phases']}",
                flush=True,
            )
    digests = {r["digest"] for r in results if r["digest"]}
    print(f"digests equal across formats: {len(digests) == 1}")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
