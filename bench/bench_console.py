"""Benchmark: first paint of the console's flagged-accounts table, in Debian's headless chromium
against a real `crumbgraph serve`-style uvicorn server on loopback, over a store that already
holds a run (build one with `crumbgraph synth --accounts 200000` + `crumbgraph run`; SYNTHETIC).

  .venv/bin/python bench/bench_console.py --store embedded:/tmp/big/g.duckdb --repeat 5

"Cold" is the first load after the server starts (the API builds its in-memory index of the
run's results); "warm" loads follow. Each load is a full page load of /ui#/flagged, timed from
navigation start to the first table rows in the DOM (in-page `performance.now()`), and by the
driver from `goto` to the first row visible. Prints one JSON object."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright

from api.app import create_app
from api.auth import create_user
from api.settings import Settings
from casework import open_casework
from graph.store import open_store
from tests.live import CHROMIUM_ARGS, serving


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-console-"))
    settings = Settings(state_dir=tmp / "state", store=a.store, api_rate_limit=1000.0, api_rate_burst=1000)
    with open_casework(settings.state_dir) as casework:
        key = create_user(casework.users, "bench", "investigator")[1]
    store = open_store(settings.store_config())
    counts = store.counts()
    loads = []
    with serving(create_app(settings, store=store), timeout=600) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=a.chromium, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{base}/ui")
        page.fill("#apikey", key)
        page.press("#apikey", "Enter")
        page.wait_for_selector("#who:has-text('bench')")
        for _ in range(a.repeat + 1):
            page.goto("about:blank")
            t0 = time.perf_counter()
            page.goto(f"{base}/ui#/flagged")
            page.wait_for_selector("main tbody tr", state="visible", timeout=120_000)
            wall = (time.perf_counter() - t0) * 1000
            inpage = page.evaluate("window.crumbgraphFlaggedPaint")
            loads.append(
                {
                    "driver_ms": round(wall, 1),
                    "since_navigation_ms": round(inpage["sinceNavigation"], 1),
                    "since_request_ms": round(inpage["sinceRequest"], 1),
                    "rows": page.locator("main tbody tr").count(),
                }
            )
        total = page.inner_text("main p.muted")
        browser.close()
    store.close()
    warm = loads[1:]
    print(
        json.dumps(
            {
                "store": a.store,
                "graph": counts,
                "table": total,
                "cold": loads[0],
                "warm_median_since_navigation_ms": statistics.median(x["since_navigation_ms"] for x in warm),
                "warm_max_since_navigation_ms": max(x["since_navigation_ms"] for x in warm),
                "warm_median_driver_ms": statistics.median(x["driver_ms"] for x in warm),
                "loads": loads,
            },
            indent=2,
            default=str,
        )
    )


if __name__ == "__main__":
    main()
