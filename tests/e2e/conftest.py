"""Fixtures of the console's browser tests: a real uvicorn server on a loopback port over an
embedded store holding a small SYNTHETIC run (the project's own generator, ingest and
detectors), one user per role, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.app import create_app
from api.auth import create_user
from api.settings import Settings
from casework import open_casework
from tests.api_support import FAST_HASHER
from tests.live import CHROMIUM_ARGS, serving

CHROMIUM = os.environ.get("CRUMBGRAPH_CHROMIUM", "/usr/bin/chromium")
USERS = {
    "investigator": "investigator",
    "investigator2": "investigator",
    "law_enforcement": "law_enforcement",
    "le2": "law_enforcement",
    "auditor": "auditor",
    "admin": "admin",
}


@dataclass
class Console:
    base: str  # http://127.0.0.1:<port>
    keys: dict[str, str]  # user name -> API key
    run_id: str
    app: object

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[user]}"}


@pytest.fixture(scope="session")
def console(tmp_path_factory) -> Iterator[Console]:
    from detectors.runner import run_detectors
    from graph.embedded import EmbeddedStore
    from ingest.pipeline import load_snapshot
    from synth import synth

    tmp = tmp_path_factory.mktemp("console")
    synth(tmp / "snap", accounts=1000, seed=7)
    store = EmbeddedStore(tmp / "graph.duckdb")
    store.ensure_schema()
    load_snapshot(tmp / "snap", store, progress=False)
    record = run_detectors(store, runs_dir=tmp / "runs")
    settings = Settings(
        state_dir=tmp / "state",
        runs_dir=tmp / "runs",
        store=f"embedded:{tmp}/unused.duckdb",
        keys_dir=tmp / "keys",
        exports_dir=tmp / "exports",
        ingest_root=tmp,  # the Jobs test re-ingests the snapshot `snap` through the API
        api_rate_limit=10_000.0,
        api_rate_burst=10_000,
    )
    from evidence.signing import init_keys

    init_keys(settings.keys_dir)  # the case page's "Export evidence" signs packages
    with open_casework(settings.state_dir) as casework:
        keys = {name: create_user(casework.users, name, role, FAST_HASHER)[1] for name, role in USERS.items()}
    app = create_app(settings, store=store)
    try:
        with serving(app) as base:
            yield Console(base=base, keys=keys, run_id=record.run_id, app=app)
    finally:
        store.close()


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium under Playwright's bundled driver (never `playwright install`). Missing
    chromium or playwright skips locally, and fails when CRUMBGRAPH_REQUIRE_BROWSER=1 (CI)."""
    required = os.environ.get("CRUMBGRAPH_REQUIRE_BROWSER") == "1"
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "playwright is not installed (pip install -e '.[test]')"
    if missing is None and not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing = f"no chromium at {CHROMIUM} (apt-get install -y chromium)"
    if missing:
        if required:
            pytest.fail(f"CRUMBGRAPH_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on(
        "console",
        lambda msg: errors.append(msg.text) if msg.type == "error" and "status of 4" not in msg.text else None,
    )
    try:
        yield pg
    finally:
        context.close()
    assert not errors, f"errors in the page: {errors}"


def sign_in(page, console: Console, user: str) -> None:
    page.goto(f"{console.base}/ui")
    page.fill("#apikey", console.keys[user])
    page.press("#apikey", "Enter")
    page.wait_for_selector(f"#who:has-text('{user}')")
