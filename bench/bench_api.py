"""Benchmark: the investigator API under loopback load, audit log on.

Builds (or reuses) a SYNTHETIC snapshot, ingests it, runs the detectors, starts `crumbgraph serve`
as its own process, and loads it from a second process (wrk if installed, else httpx/asyncio)
with one client, then N concurrent keep-alive clients, on two lookups: pathways by source
content and the account neighbourhood. Reports p50/p95/p99 latency, requests/s and the server's
CPU time per request, and checks the audit chain afterwards.

  .venv/bin/python bench/bench_api.py --accounts 100000                 # embedded store
  .venv/bin/python bench/bench_api.py --accounts 100000 --store bolt://127.0.0.1:7687 --reuse-store
The rate limits are raised for the run (one key and one address play all clients); nothing else
is switched off.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx


def prepare_prefixed(args: argparse.Namespace) -> dict:
    """For a shared store (the team's Neo4j): a SYNTHETIC graph whose every id carries a unique
    prefix (accounts, 2 posts each, ~8 follows each) and a SYNTHETIC results.json whose pathways are
    real walks in it (post -> its author -> someone the author follows). Removed by `cleanup_prefixed`."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from api.settings import Settings
    from graph.model import NodeKind
    from graph.store import open_store

    p, n = args.prefix, args.accounts
    rng = np.random.default_rng(args.seed)
    ids = lambda what, idx: pc.binary_join_element_wise(pa.scalar(p + what), pa.array(idx).cast(pa.string()), "")  # noqa: E731
    acct = ids("a", np.arange(n))
    posts = ids("c", np.arange(2 * n))
    owner = np.arange(2 * n) // 2
    src = rng.integers(0, n, 8 * n)
    dst = rng.integers(0, n, 8 * n)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    info: dict = {}
    t = time.perf_counter()
    with open_store(Settings(store=args.store).store_config()) as store:
        store.ensure_schema()
        store.upsert_nodes(NodeKind.ACCOUNT, pa.table({"account_id": acct}))
        store.upsert_nodes(
            NodeKind.CONTENT,
            pa.table(
                {
                    "content_id": posts,
                    "account_id": pc.take(acct, pa.array(owner)),
                    "label": pa.array(["child_oriented", "none"] * n),
                }
            ),
        )
        for s_kind, s_ids, typ, kind, d_kind, d_ids in (
            ("account", pc.take(acct, pa.array(owner)), "POSTED", "posted", "content", posts),
            ("account", pc.take(acct, pa.array(src)), "FOLLOWS", "follow", "account", pc.take(acct, pa.array(dst))),
        ):
            m = len(s_ids)
            store.upsert_edges(
                pa.table(
                    {
                        "src_kind": [s_kind] * m,
                        "src_id": s_ids,
                        "type": [typ] * m,
                        "kind": [kind] * m,
                        "dst_kind": [d_kind] * m,
                        "dst_id": d_ids,
                    }
                )
            )
        info["load_seconds"] = round(time.perf_counter() - t, 1)
        pathways = _prefixed_pathways(p, n, src, dst, rng)
        run_id = f"{p}run"
        doc = {
            "run_id": run_id,
            "snapshot_digest": "synthetic",
            "clusters": [],
            "pathways": pathways,
            "flagged_accounts": [],
        }
        store.save_run(run_id, {"started_at": "2026-01-01T00:00:00+00:00", "synthetic": True}, json.dumps(doc).encode())
        info["counts"] = {"Account": n, "Content": 2 * n, "FOLLOWS": int(len(src)), "POSTED": 2 * n}
    info.update(
        run_id=run_id,
        pathways=len(pathways),
        sources=len(pathways),
        sample_sources=[pw["source"]["id"] for pw in pathways],
        sample_accounts=[f"{p}a{i}" for i in rng.integers(0, n, 2000).tolist()],
    )
    return info


def _prefixed_pathways(p: str, n: int, src, dst, rng) -> list[dict]:
    """Pathways of the prefixed graph: child-oriented post 2k -> author k -> a followee of k, 2,000 of them."""
    first_followee = {}
    for a, b in zip(src.tolist(), dst.tolist(), strict=True):
        first_followee.setdefault(a, b)
    authors = [a for a in rng.permutation(n).tolist() if a in first_followee][:2000]
    return [
        {
            "pathway_id": f"{p}pw{i}",
            "source": {"kind": "content", "id": f"{p}c{2 * a}"},
            "cluster_id": f"{p}k{a % 50}",
            "edges": ["POSTED", "FOLLOWS"],
            "score": round(float(rng.random()), 6),
            "nodes": [
                {"kind": "content", "id": f"{p}c{2 * a}"},
                {"kind": "account", "id": f"{p}a{a}"},
                {"kind": "account", "id": f"{p}a{first_followee[a]}"},
            ],
        }
        for i, a in enumerate(authors)
    ]


def cleanup_prefixed(args: argparse.Namespace) -> None:
    from api.settings import Settings
    from graph.store import open_store

    with open_store(Settings(store=args.store).store_config()) as store:
        if not hasattr(store, "_driver"):
            return  # embedded: the work directory is the benchmark's own
        with store._driver.session(database=store.database) as session:  # bench-only: exactly our rows
            for label, key in (("Account", "account_id"), ("Content", "content_id"), ("Run", "run_id")):
                session.run(
                    f"MATCH (n:{label}) WHERE n.{key} STARTS WITH $p "
                    "CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS",
                    p=args.prefix,
                ).consume()


def prepare(args: argparse.Namespace, work: Path) -> dict:
    """Snapshot -> store -> detector run; returns timings and a sample of ids to query."""
    from api.settings import Settings
    from detectors.runner import run_detectors
    from graph.model import NodeKind
    from graph.store import open_store
    from ingest.pipeline import load_snapshot
    from synth import synth

    settings = Settings(store=args.store)
    info: dict = {}
    with open_store(settings.store_config()) as store:
        store.ensure_schema()
        populated = store.counts().get("Account", 0) > 0
        if not (args.reuse_store and populated):
            snap = Path(args.snapshot) if args.snapshot else work / "snapshot"
            if not (snap / "accounts.parquet").exists():
                t = time.perf_counter()
                synth(snap, accounts=args.accounts, seed=args.seed)
                info["synth_seconds"] = round(time.perf_counter() - t, 1)
            t = time.perf_counter()
            load_snapshot(snap, store, quarantine_dir=work / "quarantine")
            info["ingest_seconds"] = round(time.perf_counter() - t, 1)
        runs = [r for r in store.list_runs() if r.get("run_id")]
        if not (args.reuse_store and runs):
            t = time.perf_counter()
            record = run_detectors(store, params=None, runs_dir=work / "runs")
            info["detect_seconds"] = round(time.perf_counter() - t, 1)
            run_id = record.run_id
        else:
            run_id = runs[0]["run_id"]
        results = json.loads(store.get_results(run_id))
        info["counts"] = store.counts()
        accounts = store.node_table(NodeKind.ACCOUNT).column("account_id").to_pylist()
    rng = random.Random(args.seed)
    sources = sorted({p["source"]["id"] for p in results.get("pathways", [])})
    info.update(run_id=run_id, pathways=len(results.get("pathways", [])), sources=len(sources))
    # neighbourhoods of flagged accounts (what investigators open) and of random accounts
    flagged = [a["account_id"] for a in results.get("flagged_accounts", [])]
    info["sample_sources"] = sources if len(sources) <= 2000 else rng.sample(sources, 2000)
    info["sample_accounts"] = rng.sample(flagged, min(len(flagged), 500)) + rng.sample(
        accounts, min(1500, len(accounts))
    )
    return info


async def drive(
    base: str, key: str, paths: list[str], concurrency: int, seconds: float, warmup: float, timeout: float = 60.0
) -> dict:
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    sent = [0]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=timeout) as client:
        start = time.perf_counter()
        measure_from = start + warmup
        stop = measure_from + seconds
        counter = iter(range(10**12))

        async def worker() -> None:
            while True:
                now = time.perf_counter()
                if now >= stop:
                    return
                path = paths[next(counter) % len(paths)]
                t = time.perf_counter()
                try:
                    code = (await client.get(path)).status_code
                except httpx.TimeoutException:
                    code = 0  # reported as status "0": no answer within the client timeout
                sent[0] += 1
                done = time.perf_counter()
                if t >= measure_from and done <= stop:
                    latencies.append(done - t)
                    statuses[code] = statuses.get(code, 0) + 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "requests": len(latencies),
        "seconds": seconds,
        "req_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(q[49] * 1000, 2),
        "p95_ms": round(q[94] * 1000, 2),
        "p99_ms": round(q[98] * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "requests_total": sent[0],
    }


_WRK_LUA = """
local paths = {%s}
local i = 0
wrk.headers["Authorization"] = "Bearer %s"
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format('RESULT {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p95_us": %%d, "p99_us": %%d, ' ..
    '"mean_us": %%f, "non_2xx": %%d, "timeouts": %%d, "connect_errors": %%d, "read_errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.mean, summary.errors.status, summary.errors.timeout, summary.errors.connect, summary.errors.read))
end
"""


def drive_wrk(
    base: str, key: str, paths: list[str], concurrency: int, seconds: float, warmup: float, timeout: float = 60.0
) -> dict:
    """The same load from wrk (C, event-driven): the client then costs the server little CPU."""
    script = Path(tempfile.mkdtemp(prefix="bench-api-wrk-")) / "paths.lua"
    script.write_text(_WRK_LUA % (", ".join(json.dumps(p) for p in paths), key))
    threads = str(min(2, concurrency))

    def run(secs: float) -> dict:
        out = subprocess.run(
            [
                "wrk",
                "-t",
                threads,
                "-c",
                str(concurrency),
                "-d",
                f"{max(1, round(secs))}s",
                "--timeout",
                f"{int(timeout)}s",
                "-s",
                str(script),
                base,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return json.loads(out.split("RESULT ", 1)[1].splitlines()[0])

    if warmup > 0:
        run(warmup)
    r = run(seconds)
    secs = r["duration_us"] / 1e6
    return {
        "requests": r["requests"],
        "seconds": round(secs, 2),
        "req_per_s": round(r["requests"] / secs, 1),
        "p50_ms": round(r["p50_us"] / 1000, 2),
        "p95_ms": round(r["p95_us"] / 1000, 2),
        "p99_ms": round(r["p99_us"] / 1000, 2),
        "mean_ms": round(r["mean_us"] / 1000, 2),
        "statuses": {
            "non_2xx": r["non_2xx"],
            "timeouts": r["timeouts"],
            "socket_errors": r["connect_errors"] + r["read_errors"],
        },
        "requests_total": r["requests"],
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to state the server's cost per request
    independently of how busy the machine is."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--store", default=None, help="store URL [default: embedded:<workdir>/graph.duckdb]")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--snapshot", default=None, help="reuse a snapshot directory")
    ap.add_argument("--reuse-store", action="store_true", help="skip ingest/detect if the store has data/runs")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument(
        "--client",
        choices=["wrk", "httpx"],
        default="wrk" if shutil.which("wrk") else "httpx",
        help="load generator: wrk (Debian package; lighter) or httpx.AsyncClient",
    )
    ap.add_argument("--single-seconds", type=float, default=10.0, help="also measure one client alone (0: skip)")
    ap.add_argument("--hops", type=int, default=1)
    ap.add_argument("--out", default=None, help="write the JSON result here")
    ap.add_argument(
        "--prefixed", action="store_true", help="shared store: a prefixed synthetic graph + results, removed afterwards"
    )
    ap.add_argument("--prepare-only", action="store_true", help="build store and run, then stop (run nice'd)")
    return ap.parse_args()


def measure(args: argparse.Namespace, base: str, pid: int, key: str, info: dict, report: dict) -> None:
    """One client alone, then `--concurrency` clients, on each lookup; results into `report`."""
    run = info["run_id"]
    # one request first, alone: it verifies the key (argon2) and indexes the run's results,
    # one-off costs that the steady state below does not pay
    httpx.get(f"{base}/runs/{run}/pathways?limit=1", headers={"Authorization": f"Bearer {key}"}, timeout=120)
    targets = {
        "pathways_by_content": [f"/runs/{run}/pathways?source_id={s}&limit=50" for s in info["sample_sources"]],
        "account_neighbourhood": [
            f"/accounts/{a}/neighbourhood?hops={args.hops}&limit=200" for a in info["sample_accounts"]
        ],
    }
    for name, paths in targets.items():
        if not paths:
            report["lookups"][name] = {"skipped": "no targets"}
            continue
        random.Random(args.seed).shuffle(paths)
        for conc, key_name, secs in (
            (1, "single_client", args.single_seconds),
            (args.concurrency, "lookups", args.seconds),
        ):
            if secs <= 0:
                continue
            load_before = os.getloadavg()[0]
            cpu_before = cpu_seconds(pid)
            if args.client == "wrk":
                result = drive_wrk(base, key, paths, conc, secs, args.warmup)
            else:
                result = asyncio.run(drive(base, key, paths, conc, secs, args.warmup))
            cpu = cpu_seconds(pid) - cpu_before
            total = result.pop("requests_total")
            result["concurrency"] = conc
            result["loadavg_1m_before_after"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
            result["server_cpu_ms_per_request"] = round(cpu * 1000 / max(total, 1), 2)
            result["server_cpu_share"] = round(cpu / (args.warmup + secs), 2)
            report[key_name][name] = result
            print(
                f"{name:22s} c={conc:<3d} {result['req_per_s']:7.1f} req/s  p50 {result['p50_ms']:8.2f} ms  "
                f"p95 {result['p95_ms']:8.2f} ms  p99 {result['p99_ms']:8.2f} ms  {result['statuses']}  "
                f"server {result['server_cpu_ms_per_request']} CPU-ms/req on {result['server_cpu_share']} "
                f"cores; load {result['loadavg_1m_before_after']}"
            )


def main() -> None:
    args = parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-api-"))
    work.mkdir(parents=True, exist_ok=True)
    args.store = args.store or f"embedded:{work}/graph.duckdb"

    args.prefix = f"bench-api-{os.getpid()}-"
    t0 = time.perf_counter()
    info = prepare_prefixed(args) if args.prefixed else prepare(args, work)
    print(
        f"prepared in {time.perf_counter() - t0:.0f} s: {info['counts']}; run {info['run_id']} with "
        f"{info['pathways']} pathways from {info['sources']} sources",
        file=sys.stderr,
    )
    if args.prepare_only:
        return

    from api.auth import create_user
    from casework import open_casework
    from tests.live import serving_process

    state_dir = work / f"state-{int(time.time())}"
    with open_casework(state_dir) as casework:
        key = create_user(casework.users, "bench", "investigator")[1]
    env = {
        **os.environ,
        "CRUMBGRAPH_STORE": args.store,
        "CRUMBGRAPH_STATE_DIR": str(state_dir),
        "CRUMBGRAPH_RUNS_DIR": str(work / "runs"),
        "CRUMBGRAPH_API_RATE_LIMIT": "1e9",
        "CRUMBGRAPH_API_RATE_BURST": "1000000000",
        "CRUMBGRAPH_API_ADDRESS_RATE_LIMIT": "1e9",  # every client is 127.0.0.1
        "CRUMBGRAPH_API_ADDRESS_RATE_BURST": "1000000000",
    }
    report: dict = {
        "benchmark": "api",
        "store": args.store.split(":", 1)[0],
        "accounts": info["counts"].get("Account"),
        "counts": info["counts"],
        "run_id": info["run_id"],
        "pathways": info["pathways"],
        "concurrency": args.concurrency,
        "audit_log": "on",
        "client": f"{args.client}, separate process" + (" (2 threads)" if args.client == "wrk" else ""),
        "prepare": {k: v for k, v in info.items() if k.endswith("_seconds")},
        "lookups": {},
        "single_client": {},
    }
    try:
        with serving_process(env) as (base, server):
            measure(args, base, server.pid, key, info, report)
    finally:
        if args.prefixed:
            cleanup_prefixed(args)
    with open_casework(state_dir) as casework:
        finding = casework.audit.verify()
    report["audit_entries"] = finding.entries
    report["audit_chain_ok"] = finding.ok
    report["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    print(json.dumps(report, indent=1))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
