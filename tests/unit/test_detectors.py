"""Detectors on a small hand-built graph (synthetic ids): clusters, pathways, bridges, grooming."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from detectors.base import DetectorContext
from detectors.navigation import NavigationParams, build_navigation
from detectors.registry import DETECTORS
from detectors.runner import resolve_params, run_projection
from graph.errors import DetectorError
from graph.model import ACCOUNT_SCHEMA, CONTENT_SCHEMA, EDGE_SCHEMA, HASHTAG_SCHEMA, URL_SCHEMA, NodeKind
from graph.projection import Projection, build_projection


@dataclass
class ToyGraph:
    """A tiny graph in the model schemas, built by hand."""

    accounts: dict[str, str] = field(default_factory=dict)  # id -> age band
    content: list[tuple[str, str, str, str | None, str, float]] = field(default_factory=list)
    edges: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    urls: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)

    def account(self, aid: str, age: str = "adult") -> None:
        self.accounts[aid] = age

    def post(
        self,
        cid: str,
        author: str,
        *,
        kind: str = "post",
        parent: str | None = None,
        label: str = "none",
        conf: float = 1.0,
    ) -> None:
        self.content.append((cid, author, kind, parent, label, conf))

    def link(self, sk: str, sid: str, rel: str, dk: str, did: str) -> None:
        if dk == "url":
            self.urls.add(did)
        if dk == "hashtag":
            self.tags.add(did)
        self.edges.append((sk, sid, rel, dk, did))

    def follow(self, a: str, b: str) -> None:
        self.link("account", a, "FOLLOWS", "account", b)

    def tables(self) -> tuple[dict[NodeKind, pa.Table], pa.Table]:
        acc = pa.Table.from_pylist(
            [{"account_id": a, "age_band": b, "status": "active", "bare": False} for a, b in self.accounts.items()],
            schema=ACCOUNT_SCHEMA,
        )
        con = pa.Table.from_pylist(
            [
                {
                    "content_id": c,
                    "account_id": a,
                    "kind": k,
                    "parent_id": p,
                    "label": lab,
                    "label_confidence": conf,
                    "bare": False,
                }
                for c, a, k, p, lab, conf in self.content
            ],
            schema=CONTENT_SCHEMA,
        )
        url = pa.Table.from_pylist(
            [{"url": u, "domain": u.split("/")[2]} for u in sorted(self.urls)], schema=URL_SCHEMA
        )
        tag = pa.Table.from_pylist([{"tag": t} for t in sorted(self.tags)], schema=HASHTAG_SCHEMA)
        rows = [
            {"src_kind": "account", "src_id": a, "type": "POSTED", "kind": "posted", "dst_kind": "content", "dst_id": c}
            for c, a, *_ in self.content
        ]
        rows += [
            {
                "src_kind": "content",
                "src_id": c,
                "type": "REPLY_TO",
                "kind": "parent",
                "dst_kind": "content",
                "dst_id": p,
            }
            for c, _, _, p, *_ in self.content
            if p
        ]
        rows += [
            {"src_kind": sk, "src_id": s, "type": r, "kind": r.lower(), "dst_kind": dk, "dst_id": d}
            for sk, s, r, dk, d in self.edges
        ]
        return (
            {NodeKind.ACCOUNT: acc, NodeKind.CONTENT: con, NodeKind.URL: url, NodeKind.HASHTAG: tag},
            pa.Table.from_pylist(rows, schema=EDGE_SCHEMA),
        )

    def projection(self) -> Projection:
        return build_projection(*self.tables())


def toy_graph() -> ToyGraph:
    """Two child posts, a 5-account abusive cluster (one member unlabelled) with an invite URL and a
    coded hashtag, three bridges (mention, bio link, hashtag), a benign commenter, a hub, an isolated
    false-positive label, a groomer of unconnected minors and a teacher of a connected class."""
    g = ToyGraph()
    for a in ("kid1", "kid2"):
        g.account(a, "minor")
    members = ["m1", "m2", "m3", "m4", "m5"]
    for a in [*members, "b_mention", "b_bio", "b_tag", "benign", "hub", "fp", "fp_friend", "groomer", "teacher"]:
        g.account(a)
    # an ordinary background: 30 adults following each other in a ring, and the hub
    for i in range(30):
        g.account(f"bg{i:02d}")
    for i in range(30):
        g.follow(f"bg{i:02d}", f"bg{(i + 1) % 30:02d}")
        g.follow(f"bg{i:02d}", "hub")
    g.post("cp1", "kid1", kind="video", label="child_oriented")
    g.post("cp2", "kid2", kind="video", label="child_oriented")
    # the cluster: dense follows, abusive posts (m5 unlabelled), the invite URL and coded hashtag
    for a in members:
        for b in members:
            if a != b:
                g.follow(a, b)
        g.follow(a, "hub")
        g.link("account", a, "BIO_LINK", "url", "https://invite.example/join/x1")
    for i, a in enumerate(members[:4]):
        g.post(f"ab{i}", a, label="abusive", conf=0.9)
        g.link("content", f"ab{i}", "TAGGED", "hashtag", "qzcode")
    g.post("m5post", "m5")
    g.link("content", "m5post", "TAGGED", "hashtag", "qzcode")
    # bridge 1: comment under cp1 mentioning a member
    g.post("cm1", "b_mention", kind="comment", parent="cp1")
    g.link("content", "cm1", "MENTIONS", "account", "m1")
    # bridge 2: comment under cp2 mentioning itself; its bio links the invite URL
    g.post("cm2", "b_bio", kind="comment", parent="cp2")
    g.link("content", "cm2", "MENTIONS", "account", "b_bio")
    g.link("account", "b_bio", "BIO_LINK", "url", "https://invite.example/join/x1")
    # bridge 3: comment under cp1 carrying the coded hashtag
    g.post("cm3", "b_tag", kind="comment", parent="cp1")
    g.link("content", "cm3", "TAGGED", "hashtag", "qzcode")
    # benign commenter under both posts, follows the hub and a background account
    g.post("cn1", "benign", kind="comment", parent="cp1")
    g.post("cn2", "benign", kind="comment", parent="cp2")
    g.follow("benign", "hub")
    g.follow("benign", "bg00")
    # an isolated false-positive label: one abusive item, one friend
    g.post("fp1", "fp", label="abusive", conf=0.6)
    g.follow("fp", "fp_friend")
    g.follow("fp_friend", "fp")
    # a second false positive that follows three members, followed back by one: attached to the
    # cluster (Leiden puts it there) but not vouched for by it
    g.account("fp2")
    g.post("fp2post", "fp2", label="abusive", conf=0.7)
    for m in ("m2", "m3", "m4"):
        g.follow("fp2", m)
    g.follow("m4", "fp2")
    # groomer: follows and mentions 12 minors who do not know each other; teacher: the same with a
    # class of 12 minors who all follow each other; a fan follows 12 unconnected minors but never
    # addresses them
    g.post("gpost", "groomer")
    g.post("tpost", "teacher")
    g.account("fan")
    for i in range(12):
        g.account(f"y{i}", "minor")
        g.account(f"s{i}", "minor")
        g.account(f"z{i}", "minor")
        g.follow("groomer", f"y{i}")
        g.link("content", "gpost", "MENTIONS", "account", f"y{i}")
        g.follow("teacher", f"s{i}")
        g.link("content", "tpost", "MENTIONS", "account", f"s{i}")
        g.follow("fan", f"z{i}")
        for j in range(12):
            if i != j:
                g.follow(f"s{i}", f"s{j}")
    g.follow("groomer", "m1")
    return g


def run_all(g: ToyGraph, params: dict[str, Any] | None = None) -> dict[str, Any]:
    sections, _ = run_projection(g.projection(), resolve_params(params))
    return sections.model_dump(mode="json")


def test_cluster_found_with_unlabelled_member_and_no_cluster_of_one() -> None:
    res = run_all(toy_graph())
    assert len(res["clusters"]) == 1
    c = res["clusters"][0]
    assert set(c["accounts"]) == {"m1", "m2", "m3", "m4", "m5"}
    assert {"ab0", "ab1", "ab2", "ab3", "m5post"} <= set(c["content"])
    assert c["urls"] == ["https://invite.example/join/x1"]
    assert c["hashtags"] == ["qzcode"]
    assert c["score"] == pytest.approx(4 * 0.9)


def test_pathways_reach_cluster_through_each_bridge() -> None:
    res = run_all(toy_graph())
    by_bridge = {}
    for pw in res["pathways"]:
        for b in pw["bridges"]:
            by_bridge.setdefault(b, []).append(pw)
    assert {"b_mention", "b_bio", "b_tag"} <= set(by_bridge)
    mention = [pw for pw in by_bridge["b_mention"] if [n["id"] for n in pw["nodes"]] == ["cp1", "cm1", "m1"]]
    assert mention and mention[0]["edges"] == ["REPLY_TO", "MENTIONS"]
    assert mention[0]["directions"] == ["backward", "forward"]
    bio = by_bridge["b_bio"][0]
    assert bio["source"] == {"kind": "content", "id": "cp2"}
    assert bio["nodes"][0] == {"kind": "content", "id": "cp2", "content_kind": "video"}
    assert bio["nodes"][-1] == {"kind": "url", "id": "https://invite.example/join/x1"}
    assert bio["edges"][-1] == "BIO_LINK"


def test_flagged_roles_and_decoys() -> None:
    res = run_all(toy_graph())
    roles = {(r["account_id"], r["role"]) for r in res["flagged_accounts"]}
    bridges = {a for a, r in roles if r == "bridge"}
    assert bridges == {"b_mention", "b_bio", "b_tag"}
    assert {a for a, r in roles if r == "cluster_member"} == {"m1", "m2", "m3", "m4", "m5"}
    assert {a for a, r in roles if r == "suspicious_contact"} == {"groomer"}
    flagged = {a for a, _ in roles}
    assert not flagged & {"benign", "hub", "teacher", "fan", "fp", "fp2", "kid1", "kid2"}
    scores = [r["score"] for r in res["flagged_accounts"]]
    assert scores == sorted(scores, reverse=True)


def test_pathways_are_real_walks() -> None:
    g = toy_graph()
    _, edges = g.tables()
    stored = {(r["src_kind"], r["src_id"], r["type"], r["dst_kind"], r["dst_id"]) for r in edges.to_pylist()}
    res = run_all(g)
    assert res["pathways"]
    for pw in res["pathways"]:
        assert len(pw["edges"]) == len(pw["nodes"]) - 1 <= 6
        for a, b, rel, d in zip(pw["nodes"], pw["nodes"][1:], pw["edges"], pw["directions"]):
            s, t = (a, b) if d == "forward" else (b, a)
            assert (s["kind"], s["id"], rel, t["kind"], t["id"]) in stored


def test_exposure_orders_sources() -> None:
    res = run_all(toy_graph())
    exp = {r["content_id"]: r["probability"] for r in res["exposure"]}
    assert set(exp) == {"cp1", "cp2"}
    assert 0 < exp["cp2"] < exp["cp1"] <= 1  # cp1 has two bridges, cp2 one with a longer trail


def test_hop_limit_cuts_longer_trails() -> None:
    res = run_all(toy_graph(), {"pathways": {"max_hops": 2}})
    assert all(len(pw["edges"]) <= 2 for pw in res["pathways"])
    assert not any("b_bio" in pw["bridges"] for pw in res["pathways"])  # the bio trail needs 3 hops


def test_hub_step_is_improbable() -> None:
    g = toy_graph()
    proj = g.projection()
    nav = build_navigation(proj, NavigationParams())
    hub = proj.vid("account", "hub")
    out = nav.prob[nav.indptr[hub] : nav.indptr[hub + 1]]
    assert out.size == 36 and np.allclose(out, 1 / 36)
    assert np.allclose(np.bincount(nav.src, weights=nav.prob, minlength=proj.n_nodes)[np.diff(nav.indptr) > 0], 1)


def test_deterministic_sections() -> None:
    a = json.dumps(run_all(toy_graph()), sort_keys=True)
    b = json.dumps(run_all(toy_graph()), sort_keys=True)
    assert a == b


def test_bad_params_raise() -> None:
    with pytest.raises(DetectorError):
        resolve_params({"pathways": {"max_hops": 0}})
    with pytest.raises(DetectorError):
        resolve_params({"nonsense": {}})


def test_registry_names_unique_and_stable() -> None:
    assert [d.name for d in DETECTORS] == ["clusters", "pathways", "bridges", "grooming"]
    assert all(d.Params.model_config.get("frozen") for d in DETECTORS)


def test_detector_without_abusive_labels_returns_nothing() -> None:
    g = ToyGraph()
    g.account("a")
    g.post("p", "a", label="child_oriented")
    proj = g.projection()
    nav = build_navigation(proj, NavigationParams())
    outputs: dict = {}
    for det in DETECTORS:
        outputs[det.name] = det.run(proj, det.Params(), DetectorContext(navigation=nav, outputs=outputs))
    assert outputs["clusters"].sections.clusters == []
    assert outputs["pathways"].sections.pathways == []
