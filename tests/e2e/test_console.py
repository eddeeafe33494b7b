"""The console in a real headless chromium against a real server: sign-in per role, the pathway
drawing against the API's pathway, a case worked through its states, and law enforcement
seeing only its shared case. All data is synthetic."""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from evidence.signing import PublicKey
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.browser

#: Screenshots of the main views go here; `CRUMBGRAPH_SCREENSHOT_DIR=docs/screenshots` refreshes the
#: ones in docs/ (by default they go to a temporary folder, so test runs leave the tree unchanged).
SHOTS = Path(os.environ.get("CRUMBGRAPH_SCREENSHOT_DIR") or Path(tempfile.gettempdir()) / "crumbgraph-e2e-screenshots")


def _get(console, user, path, **params):
    r = httpx.get(f"{console.base}{path}", headers=console.auth(user), params=params, timeout=30)
    r.raise_for_status()
    return r.json()


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


@pytest.mark.parametrize(
    "user, nav",
    [
        ("investigator", ["Runs", "Flagged accounts", "Clusters", "Cases", "Jobs"]),
        ("law_enforcement", ["Shared cases"]),
        ("auditor", ["Runs", "Audit log", "Jobs"]),
        ("admin", ["Users", "Jobs"]),
    ],
)
def test_each_role_signs_in_and_sees_only_its_views(console, page, user, nav):
    sign_in(page, console, user)
    assert page.locator("#nav a").all_inner_texts() == nav
    assert page.evaluate("sessionStorage.getItem('crumbgraph.key')") == console.keys[user]
    # a view of another role is neither shown nor fetched: the page says so and the API refuses it
    if user != "investigator":
        page.goto(f"{console.base}/ui#/flagged")
        page.wait_for_selector("text=Your role may not see this.")
        status = page.evaluate("""async () => (await fetch('/runs/latest/flagged-accounts',
            {headers: {Authorization: 'Bearer ' + sessionStorage.getItem('crumbgraph.key')}})).status""")
        assert status == 403
    page.click("#signout")
    page.wait_for_selector("#apikey")
    assert page.evaluate("sessionStorage.getItem('crumbgraph.key')") is None


def test_a_wrong_key_is_refused(console, page):
    page.goto(f"{console.base}/ui")
    page.fill("#apikey", "cg_0000000000000000_not-a-real-key-at-all")
    page.press("#apikey", "Enter")
    page.wait_for_selector("text=Sign-in failed")
    assert page.evaluate("sessionStorage.getItem('crumbgraph.key')") is None


def test_pathway_drawing_matches_the_api(console, page):
    pathways = _get(console, "investigator", "/runs/latest/pathways", limit=500)["items"]
    # a pathway with hops laid by a bridge, from the source with the most pathways (the drawing merges them)
    by_source: dict[str, list] = {}
    for p in pathways:
        by_source.setdefault(p["source"]["id"], []).append(p)
    laid = [p for p in pathways if set(p.get("created_by") or []) & set(p.get("bridges") or [])]
    assert laid, "the synthetic run should have pathways laid by a bridge account"
    pw = max(laid, key=lambda p: (len(by_source[p["source"]["id"]]), p["pathway_id"]))
    assert len(by_source[pw["source"]["id"]]) >= 2, "the drawing should merge several pathways"
    sign_in(page, console, "investigator")
    page.goto(f"{console.base}/ui#/pathway/{pw['pathway_id']}")
    page.wait_for_selector("#pathway-drawing svg")
    svg = page.locator("#pathway-drawing svg")
    on_path = {(n.get_attribute("data-kind"), n.get_attribute("data-id")) for n in svg.locator("g.node.on-path").all()}
    assert on_path == {(n["kind"], n["id"]) for n in pw["nodes"]}
    drawn = {
        (e.get_attribute("data-src"), e.get_attribute("data-dst"), e.get_attribute("data-type"))
        for e in svg.locator("g.edge.selected").all()
    }
    hops = {
        (f"{a['kind']}:{a['id']}", f"{b['kind']}:{b['id']}", t)
        for a, b, t in zip(pw["nodes"], pw["nodes"][1:], pw["edges"], strict=False)
    }
    assert drawn == hops
    # each hop of the selected pathway shows its timestamp (minute precision) on its edge
    for a, b, t, at in zip(pw["nodes"], pw["nodes"][1:], pw["edges"], pw["created_at"], strict=False):
        edge = svg.locator(
            f"g.edge.selected[data-src='{a['kind']}:{a['id']}'][data-dst='{b['kind']}:{b['id']}'][data-type='{t}']"
        )
        assert edge.locator("text.when").text_content() == at[:16].replace("T", " ")
    # the other pathways from the same source are merged into the same drawing
    same = _get(console, "investigator", "/runs/latest/pathways", source_id=pw["source"]["id"], limit=25)["items"]
    all_nodes = {(n["kind"], n["id"]) for p in [pw, *same] for n in p["nodes"]}
    assert {
        (n.get_attribute("data-kind"), n.get_attribute("data-id")) for n in svg.locator("g.node").all()
    } == all_nodes
    # node labels: the source is child-oriented; recorded crumb layers are highlighted on their hops
    source = svg.locator(f"g.node[data-id='{pw['source']['id']}']")
    assert "child_oriented" in source.get_attribute("class")
    crumb_hops = {
        (f"{a['kind']}:{a['id']}", f"{b['kind']}:{b['id']}", t)
        for a, b, t, by in zip(pw["nodes"], pw["nodes"][1:], pw["edges"], pw["created_by"], strict=False)
        if by in set(pw["bridges"])
    }
    assert crumb_hops, "the chosen pathway has hops laid by a bridge account"
    drawn_crumbs = {
        (e.get_attribute("data-src"), e.get_attribute("data-dst"), e.get_attribute("data-type"))
        for e in svg.locator("g.edge.selected.crumb").all()
    }
    assert drawn_crumbs == crumb_hops
    # the text alternative names every node in order
    text = page.inner_text("#pathway-text")
    pos = 0
    for n, t in zip(pw["nodes"], [None, *pw["edges"]], strict=True):  # each hop's type, then the node it reaches
        if t:
            pos = text.index(t, pos)
        pos = text.index(f"{n['kind']} {n['id']}", pos)
    assert text.count("->") + text.count("<-") == len(pw["edges"])
    assert page.locator("#hops tbody tr").count() == len(pw["edges"])
    _shot(page, "pathway")


def test_flagged_table_sorts_filters_and_opens_the_account(console, page):
    api_rows = _get(console, "investigator", "/runs/latest/flagged-accounts", limit=500)
    sign_in(page, console, "investigator")
    page.goto(f"{console.base}/ui#/flagged")
    expect(page.locator("main tbody tr")).to_have_count(min(api_rows["total"], 500))
    ids = page.locator("main tbody tr td:first-child").all_inner_texts()
    assert ids == [a["account_id"] for a in api_rows["items"]][:500]  # the API's order: highest score first
    _shot(page, "flagged")
    page.get_by_role("button", name="Score").focus()  # headers sort from the keyboard too
    page.keyboard.press("Enter")  # numeric: highest first
    page.keyboard.press("Enter")  # again: lowest first
    assert page.locator("th[aria-sort='ascending']").inner_text() == "Score"
    scores = [float(x) for x in page.locator("main tbody tr td:nth-child(3)").all_inner_texts()]
    assert scores == sorted(scores) and len(scores) == len(ids)
    page.select_option("#f-role", "bridge")
    bridges = _get(console, "investigator", "/runs/latest/flagged-accounts", role="bridge", limit=500)["items"]
    assert bridges, "the synthetic run should flag bridge accounts"
    expect(page.locator("main tbody tr")).to_have_count(len(bridges))
    assert set(page.locator("main tbody tr td:nth-child(2)").all_inner_texts()) == {"bridge"}
    target = bridges[0]["account_id"]
    page.fill("#f-text", target)
    expect(page.locator("main tbody tr")).to_have_count(1)
    page.get_by_role("link", name=target, exact=True).focus()
    page.keyboard.press("Enter")  # keyboard navigation into the account view
    page.wait_for_selector(f"h1:has-text('Account {target}')")
    page.wait_for_selector(".drawing.zoomable svg g.node")
    hood = _get(console, "investigator", f"/accounts/{target}/neighbourhood", hops=1, limit=150)
    assert page.locator(".drawing.zoomable svg g.node").count() == len(hood["nodes"])
    before = page.get_attribute(".drawing.zoomable svg", "viewBox")
    page.get_by_role("button", name="Zoom in").click()
    assert page.get_attribute(".drawing.zoomable svg", "viewBox") != before
    _shot(page, "account")


def test_cluster_view_shows_size_share_and_entry_pathways(console, page):
    c = _get(console, "investigator", "/runs/latest/clusters", limit=1)["items"][0]
    sign_in(page, console, "investigator")
    page.goto(f"{console.base}/ui#/cluster/{c['cluster_id']}")
    page.wait_for_selector("#c-size")
    assert page.inner_text("#c-size") == str(len(c["accounts"]))
    assert page.locator("ul.members li").count() == len(c["accounts"])
    _shot(page, "cluster")


def test_case_through_its_states_and_shared_with_law_enforcement_only(console, page, browser):
    bridge = _get(console, "investigator", "/runs/latest/flagged-accounts", role="bridge", limit=1)["items"][0]
    sign_in(page, console, "investigator")
    page.goto(f"{console.base}/ui#/account/{bridge['account_id']}")
    page.get_by_role("button", name="Open a case from this").click()
    page.fill("form[aria-label='Open a case'] textarea", "Opened from the console test (synthetic data).")
    page.get_by_role("button", name="Open case").click()
    page.wait_for_selector("#case-state")
    case_id = re.search(r"#/case/(.+)$", page.url).group(1)
    assert page.inner_text("#case-state") == "open"

    # a status change needs a note: without one nothing is sent
    form = page.locator("form[aria-label='Change status']")
    form.get_by_role("button", name="Change status").click()
    assert page.inner_text("#case-state") == "open"
    for to in ("in_progress", "confirmed"):
        form = page.locator("form[aria-label='Change status']")
        form.locator("select").select_option(to)
        form.locator("textarea").fill(f"moving to {to}")
        form.get_by_role("button", name="Change status").click()
        page.wait_for_selector(f"#case-state:text-is('{to}')")
    assert page.locator("form[aria-label='Change status']").count() == 0  # confirmed is final

    assign = page.locator("form[aria-label='Assign']")
    assign.locator("input").fill("investigator2")
    assign.locator("textarea").fill("handing over")
    assign.get_by_role("button", name="Assign").click()
    page.wait_for_selector("#case-assignee:text-is('investigator2')")
    share = page.locator("form[aria-label='Share']")
    share.locator("input").fill("law_enforcement")
    share.locator("textarea").fill("referral (synthetic)")
    share.get_by_role("button", name="Share").click()
    page.wait_for_selector("#case-shared:text-is('law_enforcement')")
    history = _get(console, "investigator", f"/cases/{case_id}/history")["items"]
    assert [e["note"] for e in history][-4:] == [
        "moving to in_progress",
        "moving to confirmed",
        "handing over",
        "referral (synthetic)",
    ]
    assert page.locator("#case-history li").count() == len(history)
    page.get_by_role("button", name="Export evidence").click()
    page.wait_for_selector("#export-download")
    assert page.get_attribute("#export-download", "download").startswith("evidence-")
    assert page.get_attribute("#report-download", "download").startswith("case-report-")
    _shot(page, "case")

    # a second case, not shared: law enforcement sees only the shared one, in the list and by URL
    other = httpx.post(
        f"{console.base}/cases",
        headers=console.auth("investigator"),
        timeout=30,
        json={"title": "not shared", "note": "n", "items": [{"kind": "account", "id": "x"}]},
    ).json()
    le = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    try:
        sign_in(le, console, "law_enforcement")
        le.wait_for_selector("main tbody tr")
        shown = le.locator("main tbody tr td:first-child").all_inner_texts()
        assert shown == [c["case_id"] for c in _get(console, "law_enforcement", "/cases")["items"]]
        assert case_id in shown and other["case_id"] not in shown
        le.goto(f"{console.base}/ui#/case/{case_id}")
        le.wait_for_selector("#case-state")
        assert le.locator("section[aria-label='Case actions']").count() == 0  # read-only for law enforcement
        # the officer downloads the case report of the package from the case page
        expect(le.locator("#case-packages li")).to_have_count(1)
        with le.expect_download() as dl:
            le.get_by_role("button", name="Case report (PDF)").click()
        pdf = Path(dl.value.path()).read_bytes()
        assert dl.value.suggested_filename.startswith("case-report-") and pdf.startswith(b"%PDF")
        text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))
        key = PublicKey.from_text(_get(console, "law_enforcement", "/keys/public")["public_key"])
        assert key.fingerprint in text and case_id in text
        _shot(le, "case-law-enforcement")
        export_id = le.locator("#case-packages li").get_attribute("data-export")
        report = httpx.get(
            f"{console.base}/exports/{export_id}/report",
            params={"format": "html"},
            headers=console.auth("law_enforcement"),
            timeout=30,
        )
        shot = browser.new_page(viewport={"width": 900, "height": 1270})
        shot.set_content(report.text)
        shot.emulate_media(media="print")
        _shot(shot, "case-report")
        shot.close()
        le.goto(f"{console.base}/ui#/case/{other['case_id']}")
        le.wait_for_selector("text=Could not load")
        # the second law-enforcement user sees neither
        le.click("#signout")
        sign_in(le, console, "le2")
        le.wait_for_selector("text=No cases.")
    finally:
        le.context.close()


def test_runs_list_record_and_a_live_job(console, page):
    runs = _get(console, "investigator", "/runs")["items"]
    sign_in(page, console, "auditor")  # auditors see the run records too (no job controls)
    page.goto(f"{console.base}/ui#/runs")
    expect(page.locator("main tbody tr")).to_have_count(len(runs))
    assert page.get_by_role("button", name="Start a detector run").count() == 0
    _shot(page, "runs-auditor")
    page.click("#signout")
    sign_in(page, console, "investigator")
    page.goto(f"{console.base}/ui#/run/{console.run_id}")
    page.wait_for_selector(f"h1:has-text('Run {console.run_id}')")
    assert "pathways" in page.inner_text("main")
    # start a real detector run and watch its status change without reloading (same snapshot and
    # parameters: the results are byte-identical, so the other tests are unaffected)
    page.goto(f"{console.base}/ui#/runs")
    page.get_by_role("button", name="Start a detector run").click()
    status = page.locator("tr[data-job] td.job-status")
    expect(status).to_have_count(1)
    expect(status).to_have_text("succeeded", timeout=120_000)
    assert page.locator("tr[data-job] a").count() == 1  # the finished job links its run
    expect(page.locator("main table").last.locator("tbody tr")).to_have_count(len(runs) + 1)  # and the list has it
    _shot(page, "runs")


def test_jobs_everyone_can_see_update_live(console, page, browser):
    """Jobs started by two people show in everyone's Jobs view, with who started them, and their
    state changes without a reload. (A real detector run and a real re-ingest of the same synthetic
    snapshot: byte-identical results, an unchanged store.)"""
    sign_in(page, console, "admin")
    page.goto(f"{console.base}/ui#/jobs")  # opened before the jobs exist: they must appear by themselves
    rows = page.locator("#jobs-table tbody tr")
    page.wait_for_selector("#jobs-summary")
    before = len(_get(console, "admin", "/jobs")["items"])
    run = httpx.post(f"{console.base}/runs", headers=console.auth("investigator2"), json={}, timeout=30).json()
    ingest = httpx.post(
        f"{console.base}/ingest",
        headers=console.auth("admin"),
        json={"snapshot_dir": "snap"},  # below the server's ingest_root
        timeout=30,
    ).json()
    assert "job_id" in ingest, ingest
    page.wait_for_selector(f"tr[data-job='{run['job_id']}']")  # no reload: the view polls
    page.wait_for_selector(f"tr[data-job='{ingest['job_id']}']")
    expect(rows).to_have_count(before + 2)
    assert page.locator(f"tr[data-job='{run['job_id']}'] td.job-by").inner_text() == "investigator2"
    assert page.locator(f"tr[data-job='{ingest['job_id']}'] td.job-by").inner_text() == "admin"
    expect(page.locator(f"tr[data-job='{run['job_id']}'] td.job-status")).to_have_text("succeeded", timeout=120_000)
    expect(page.locator(f"tr[data-job='{ingest['job_id']}'] td.job-status")).to_have_text("succeeded", timeout=120_000)
    expect(page.locator("#jobs-summary")).to_contain_text("0 queued or running")
    assert page.locator(f"tr[data-job='{run['job_id']}'] a").count() == 1  # links the run it made
    assert rows.count() == len(_get(console, "admin", "/jobs")["items"])
    assert page.evaluate(MIN_CONTRAST_JS)["ratio"] >= 7.0
    _shot(page, "jobs")
    # an auditor sees the same jobs; law enforcement has no Jobs view and the API refuses it
    page.click("#signout")
    sign_in(page, console, "auditor")
    page.goto(f"{console.base}/ui#/jobs")
    page.wait_for_selector(f"tr[data-job='{run['job_id']}']")
    page.click("#signout")
    sign_in(page, console, "law_enforcement")
    page.goto(f"{console.base}/ui#/jobs")
    page.wait_for_selector("text=Your role may not see this.")
    assert httpx.get(f"{console.base}/jobs", headers=console.auth("law_enforcement")).status_code == 403


def test_auditor_audit_log_and_admin_users(console, page):
    sign_in(page, console, "auditor")
    page.goto(f"{console.base}/ui#/audit")
    page.wait_for_selector("main tbody tr")
    routes = set(page.locator("main tbody tr td:nth-child(6)").all_inner_texts())
    assert "/ui" in routes and "/me" in routes  # the console's own requests are in the log
    page.get_by_role("button", name="Verify the hash chain").click()
    verdict = _get(console, "auditor", "/audit/verify")
    assert verdict["ok"]
    expect(page.locator("main p[aria-live]")).not_to_be_empty()
    assert page.locator("main p[aria-live]").get_attribute("class") != "error"
    page.click("#signout")
    sign_in(page, console, "admin")
    users = _get(console, "admin", "/users")["items"]
    expect(page.locator("main tbody tr")).to_have_count(len(users))
    assert sorted(page.locator("main tbody tr td:first-child").all_inner_texts()) == sorted(u["name"] for u in users)


#: In-page check: the lowest contrast ratio (WCAG 2 formula) of any visible HTML text against the
#: first opaque background behind it.
MIN_CONTRAST_JS = """() => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
                                      .reduce((acc, v, i) => acc + v * [0.2126, 0.7152, 0.0722][i], 0);
  const bg = (el) => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
                         if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3); } return [255, 255, 255]; };
  let worst = { ratio: 99 };
  for (const el of document.querySelectorAll("body *:not(svg *)")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const a = lum(rgb(getComputedStyle(el).color).slice(0, 3)), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < worst.ratio) worst = { ratio, text: el.textContent.trim().slice(0, 40) };
  }
  return worst;
}"""


def test_text_contrast_is_readable(console, page):
    sign_in(page, console, "investigator")
    c = _get(console, "investigator", "/runs/latest/clusters", limit=1)["items"][0]
    p = _get(console, "investigator", "/runs/latest/pathways", limit=1)["items"][0]
    for view, ready in (
        ("#/flagged", "main tbody tr"),
        (f"#/cluster/{c['cluster_id']}", "#c-size"),
        (f"#/pathway/{p['pathway_id']}", "#pathway-drawing svg"),
    ):
        page.goto(f"{console.base}/ui{view}")
        page.wait_for_selector(ready)
        worst = page.evaluate(MIN_CONTRAST_JS)
        assert worst["ratio"] >= 7.0, (view, worst)
