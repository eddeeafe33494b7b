"""The case report for law enforcement: exported with a case's evidence package through the API,
rendered to PDF by the real headless chromium, listed in the signed manifest, downloadable by the
investigator and the officer the case is shared with; the text extracted from the PDF names the
case, every pathway and the signer's fingerprint. All data is synthetic."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from api.app import create_app
from evidence.pdf import find_chromium
from evidence.report import ReportContext, case_report_html, pathway_svg
from evidence.signing import init_keys
from evidence.verify import Trust, verify_package
from graph.embedded import EmbeddedStore
from tests.api_support import make_env, real_run
from tests.e2e.conftest import CHROMIUM

pytestmark = pytest.mark.browser


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    import os

    if find_chromium(CHROMIUM) is None:
        if os.environ.get("CRUMBGRAPH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CRUMBGRAPH_REQUIRE_BROWSER=1 but no chromium at {CHROMIUM}")
        pytest.skip(f"no chromium at {CHROMIUM}")
    tmp = tmp_path_factory.mktemp("report")
    env = make_env(tmp, "r-", chromium=CHROMIUM)
    pub = init_keys(env.settings.keys_dir)
    run = real_run(env.settings.runs_dir, tmp_path_factory)
    pathways = run["results"]["pathways"][:3]
    app = create_app(env.settings, store=EmbeddedStore(":memory:"))
    with TestClient(app) as client:
        inv = env.auth("investigator")
        case = client.post(
            "/cases",
            headers=inv,
            json={
                "title": "Invite links under a youth club's posts",
                "note": "three walks into one cluster",
                "items": [{"kind": "pathway", "id": p["pathway_id"]} for p in pathways],
                "run_id": run["run_id"],
            },
        ).json()
        client.patch(f"/cases/{case['case_id']}", headers=inv, json={"status": "in_progress", "note": "checked"})
        client.post(f"/cases/{case['case_id']}/shares", headers=inv, json={"user_name": "law_enforcement", "note": "n"})
        export = client.post(f"/cases/{case['case_id']}/exports", headers=inv, json={}).json()
        yield client, env, pub, case, pathways, export


def test_the_pdf_names_the_case_its_pathways_and_the_fingerprint(exported):
    client, env, pub, case, pathways, export = exported
    assert export["report"] == {"html": "report.html", "pdf": "report.pdf"}
    assert {"report.html", "report.pdf"} <= set(export["files"])
    resp = client.get(f"/exports/{export['export_id']}/report", headers=env.auth("law_enforcement"))
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(resp.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = _flat(text)
    assert len(reader.pages) >= 2
    assert not re.search("[\ufb00-\ufb06]", text), "ligatures would break copied ids (ff, fi, fl)"
    assert "Invite links under a youth club's posts" in text
    for p in pathways:
        assert _flat(p["pathway_id"]) in flat, p["pathway_id"]
    assert pub.fingerprint in flat and f"--fingerprint{pub.fingerprint}" in flat
    assert export["export_id"] in flat
    for section in ("Summary", "Timeline", "Pathways", "Accounts and their roles", "how to verify"):
        assert section in text
    bridges = {b for p in pathways for b in p.get("bridges") or []}
    assert all(b in flat for b in bridges) and bridges


def test_the_report_is_part_of_the_signed_package(exported, tmp_path: Path):
    client, env, pub, case, pathways, export = exported
    pdf = client.get(f"/exports/{export['export_id']}/report", headers=env.auth("investigator")).content
    zipped = client.get(f"/exports/{export['export_id']}/package", headers=env.auth("law_enforcement")).content
    zipfile.ZipFile(io.BytesIO(zipped)).extractall(tmp_path)
    folder = tmp_path / export["export_id"]
    assert (folder / "report.pdf").read_bytes() == pdf
    assert verify_package(folder, Trust(fingerprints=(pub.fingerprint,))).ok
    (folder / "report.pdf").write_bytes(pdf.replace(b"Invite", b"Idvite", 1) if b"Invite" in pdf else pdf + b"%")
    checked = verify_package(folder, Trust(fingerprints=(pub.fingerprint,)))
    assert not checked.ok and any("report.pdf" in p for p in checked.problems)


def test_the_case_lists_its_exports_for_the_officer_it_is_shared_with(exported):
    client, env, pub, case, pathways, export = exported
    listed = client.get(f"/cases/{case['case_id']}/exports", headers=env.auth("law_enforcement")).json()
    assert [e["export_id"] for e in listed["items"]] == [export["export_id"]]
    assert client.get(f"/cases/{case['case_id']}/exports", headers=env.auth("le2")).status_code == 404
    html = client.get(f"/exports/{export['export_id']}/report", params={"format": "html"}, headers=env.auth("le2"))
    assert html.status_code == 404


def test_report_html_escapes_data_and_draws_each_hop():
    pathway = {
        "pathway_id": "pw-1",
        "source": {"kind": "content", "id": "c1"},
        "cluster_id": "k1",
        "nodes": [
            {"kind": "content", "id": "c1"},
            {"kind": "account", "id": "<script>alert(1)</script>"},
            {"kind": "url", "id": "https://x.test/?a=1&b=2"},
        ],
        "edges": ["REPLY_TO", "BIO_LINK"],
        "directions": ["backward", "forward"],
        "created_by": ["<script>alert(1)</script>", "<script>alert(1)</script>"],
        "bridges": ["<script>alert(1)</script>"],
        "score": 0.1,
    }
    svg = pathway_svg(pathway)
    assert svg.count('class="node"') == 3 and svg.count('class="hop crumb"') == 2
    doc = case_report_html(
        {"run_id": "r1", "pathways": [pathway], "nodes": [], "counts": {}},
        ReportContext("pkg-1", "abcd", "ab" * 32, "alice", "2026-01-01T00:00:00+00:00"),
    )
    assert "<script>" not in doc and "&lt;script&gt;" in doc and "a=1&amp;b=2" in doc
