"""Benchmark: /health latency while clients send wrong secrets for a real key id (issue 11).

Starts `crumbgraph serve` as its own process with one user whose key is hashed with argon2's
production parameters, measures /health alone, then while N clients (each from its own loopback
address, so that no per-address budget of failed keys stops them: the worst case) send
wrong secrets for that user's key id as fast as they can. Reports p50/p95 of /health, the wrong
keys answered per second, and how they were answered.

  .venv/bin/python bench/bench_auth_flood.py --clients 32 --seconds 5 --out bench/results/auth-flood.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx


def health_latencies(base: str, seconds: float) -> list[float]:
    out = []
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=30) as http:
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            http.get(f"{base}/health")
            out.append((time.perf_counter() - t0) * 1000.0)
            time.sleep(0.02)
    return out


def flood(base: str, key: str, clients: int, stop: threading.Event, codes: Counter[int]) -> list[threading.Thread]:
    def one(i: int) -> None:
        transport = httpx.HTTPTransport(local_address=f"127.0.{1 + i // 250}.{2 + i % 250}")
        with httpx.Client(transport=transport, timeout=60) as http:
            n = 0
            while not stop.is_set():
                wrong = f"{key[:-8]}{i:04d}{n:04d}"
                codes[http.get(f"{base}/me", headers={"Authorization": f"Bearer {wrong}"}).status_code] += 1
                n += 1

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    return threads


def summary(ms: list[float]) -> dict[str, float]:
    ms = sorted(ms)
    return {"p50_ms": round(statistics.median(ms), 2), "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2), "n": len(ms)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    from api.auth import create_user
    from casework import open_casework
    from tests.live import serving_process

    work = Path(tempfile.mkdtemp(prefix="bench-auth-"))
    with open_casework(work / "state") as casework:
        key = create_user(casework.users, "bench", "investigator")[1]  # production argon2 parameters
    env = {
        **os.environ,
        "CRUMBGRAPH_STORE": f"embedded:{work}/g.duckdb",
        "CRUMBGRAPH_STATE_DIR": str(work / "state"),
        "CRUMBGRAPH_RUNS_DIR": str(work / "runs"),
    }
    codes: Counter[int] = Counter()
    with serving_process(env) as (base, _):
        alone = health_latencies(base, args.seconds)
        stop = threading.Event()
        threads = flood(base, key, args.clients, stop, codes)
        time.sleep(1.0)  # let the flood build up
        started = sum(codes.values())
        loaded = health_latencies(base, args.seconds)
        answered = sum(codes.values()) - started
        stop.set()
        for t in threads:
            t.join(timeout=60)
    report = {
        "benchmark": "auth-flood",
        "clients": args.clients,
        "cpus": os.cpu_count(),
        "health_alone": summary(alone),
        "health_under_flood": summary(loaded),
        "wrong_keys_per_second": round(answered / args.seconds, 1),
        "answers": {str(k): v for k, v in sorted(codes.items())},
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
