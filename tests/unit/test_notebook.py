"""The notebook API: docs/notebook.md's walkthrough executed block by block on the demo's
SYNTHETIC run (its frames checked against results.json), and the auditor's view, in which no
account id of the run survives anywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.auth import pseudonym
from api.cli import build_app

DOC = Path(__file__).resolve().parents[2] / "docs" / "notebook.md"


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run `crumbgraph demo`, then every ```python block of the doc, in order, in one namespace."""
    import os

    tmp = tmp_path_factory.mktemp("notebook")
    old = Path.cwd()
    os.chdir(tmp)
    try:
        out = CliRunner().invoke(build_app(), ["demo", "--accounts", "1000", "--quiet"])
        assert out.exit_code == 0, out.output
        namespace: dict[str, Any] = {}
        for i, block in enumerate(re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)):
            exec(compile(block, f"{DOC.name} block {i + 1}", "exec"), namespace)
        results = json.loads(next((tmp / "demo" / "runs").glob("*/results.json")).read_text())
        return {"ns": namespace, "results": results, "tmp": tmp}
    finally:
        os.chdir(old)


def test_the_walkthrough_has_its_blocks() -> None:
    assert len(re.findall(r"```python\n", DOC.read_text())) >= 8


def test_frames_hold_the_results(walkthrough: dict[str, Any]) -> None:
    ns, res = walkthrough["ns"], walkthrough["results"]
    assert list(ns["runs"].run_id) == [res["run_id"]]
    assert list(ns["clusters"].cluster_id) == [c["cluster_id"] for c in res["clusters"]]
    assert list(ns["clusters"].accounts) == [len(c["accounts"]) for c in res["clusters"]]
    assert len(ns["members"]) == sum(
        len(c.get(k, [])) for c in res["clusters"] for k in ("accounts", "content", "urls", "hashtags")
    )
    assert list(ns["pathways"].pathway_id) == [p["pathway_id"] for p in res["pathways"]]
    assert len(ns["hops"]) == sum(len(p["edges"]) for p in res["pathways"]) > 0
    first = res["pathways"][0]
    hop1 = ns["hops"].iloc[0]
    assert (hop1.src_id, hop1.rel, hop1.dst_id) == (first["nodes"][0]["id"], first["edges"][0], first["nodes"][1]["id"])
    assert isinstance(hop1.created_at, pd.Timestamp) and str(hop1.created_at.tz) == "UTC"
    assert list(zip(ns["flagged"].account_id, ns["flagged"].role, strict=True)) == [
        (a["account_id"], a["role"]) for a in res["flagged_accounts"]
    ]
    assert list(ns["exposure"].content_id) == [e["content_id"] for e in res["exposure"]]


def test_the_pandas_questions_answer_from_the_results(walkthrough: dict[str, Any]) -> None:
    ns, res = walkthrough["ns"], walkthrough["results"]
    laid: dict[str, int] = {}
    for p in res["pathways"]:
        for by in p.get("created_by") or []:
            if by in set(p.get("bridges") or []):
                laid[by] = laid.get(by, 0) + 1
    assert laid, "the synthetic run has crumbs laid by bridges"
    assert ns["crumbs"].crumbs.to_dict() == laid
    bridge = ns["bridge"]
    assert ns["nodes"].iloc[0].id == bridge and ns["nodes"].iloc[0].distance == 0
    assert len(ns["edges"]) > 0


def test_the_auditor_view_names_no_account(walkthrough: dict[str, Any]) -> None:
    ns, res = walkthrough["ns"], walkthrough["results"]
    secret = ns["secret"]
    accounts = {a["account_id"] for a in res["flagged_accounts"]} | {
        a for p in res["pathways"] for a in (p.get("created_by") or []) if a
    }
    frames = [ns["audit_flagged"], ns["audit_hops"], ns["audit_nodes"], ns["audit_edges"]]
    frames += [ns["audit"].run().pathways(), ns["audit"].run().cluster_members(), ns["audit"].runs()]
    cells = {str(v) for f in frames for col in f.columns for v in f[col].explode().tolist()}
    assert not accounts & cells
    assert list(ns["audit_flagged"].account_id) == [pseudonym(secret, a["account_id"]) for a in res["flagged_accounts"]]
    # the neighbourhood was asked by pseudonym, and its accounts carry the same pseudonyms
    assert ns["audit_nodes"].iloc[0].id == ns["audit_flagged"].account_id.iloc[0]
    assert set(ns["audit_nodes"][ns["audit_nodes"].kind == "account"].id.str.slice(0, 5)) == {"acct_"}
    # content ids stay, as in the API
    assert list(ns["audit_hops"].src_id[ns["audit_hops"].src_kind == "content"]) == list(
        ns["hops"].src_id[ns["hops"].src_kind == "content"]
    )
