"""Breadcrumb trails: each shape laid alone is a real walk from a child-oriented item into the cluster;
bridges rotate shapes; in a snapshot (classic and adversarial), each trail is a real walk laid by
its bridge (or, for recommendation trails, by the platform) into its cluster."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from synth import SHAPES
from synth.clusters import plant_clusters
from synth.codes import ACC, CON, TAG, URL, YEAR_START
from synth.relays import plant_relays
from synth.trails import BRIDGED_SHAPES, CLASSIC_SHAPES, SHAPE_LAYERS, Crumb, lay_trails
from tests.unit.synth.support import row_edges


def test_each_trail_is_a_real_walk_laid_by_its_bridge_into_its_cluster(rows, truth, edges, author):
    assert {t["shape"] for t in truth["trails"]} == set(CLASSIC_SHAPES)
    _check_trails(rows, truth, edges, author)


def test_adversarial_trails_are_real_walks_of_every_shape(adv):
    truth = adv["truth"]
    assert {t["shape"] for t in truth["trails"]} == set(SHAPES)
    _check_trails(adv["rows"], truth, adv["edges"], adv["author"])
    relays = {r["account_id"]: r for r in truth["relays"]}
    for tr in truth["trails"]:
        assert (tr["source"], tr["bridge"], tr["cluster"], tr["hops"]) == (
            tr["source_content_id"], tr["bridge_account_id"], tr["cluster_id"], len(tr["edges"])
        )  # fmt: skip
        if tr["shape"] == "recommendation":
            assert tr["bridge"] is None and tr["edges"] == ["RECOMMENDS"]
        if tr["shape"] == "relay":
            assert tr["nodes"][2] == {"kind": "account", "id": tr["relay"]}
            assert tr["trail_id"] in relays[tr["relay"]]["trails"]
            assert relays[tr["relay"]]["cluster_id"] == tr["cluster"]
        else:
            assert tr["relay"] is None


def _check_trails(rows: dict[str, Any], truth: dict[str, Any], edges: set[Any], author: dict[str, str]) -> None:
    clusters = {cl["cluster_id"]: cl for cl in truth["clusters"]}
    labels = dict(zip(rows["content"]["content_id"], rows["content"]["label"]))
    bridge_trails = {t for br in truth["bridges"] for t in br["trails"]}
    assert {t["trail_id"] for t in truth["trails"] if t["bridge_account_id"]} == bridge_trails
    for tr in truth["trails"]:
        nodes, cl = tr["nodes"], clusters[tr["cluster_id"]]
        assert nodes[0] == {"kind": "content", "id": tr["source_content_id"]}
        assert labels[tr["source_content_id"]] == "child_oriented"
        assert len(tr["edges"]) == len(tr["directions"]) == len(nodes) - 1
        for a, b, rel, direction in zip(nodes, nodes[1:], tr["edges"], tr["directions"]):
            src, dst = (a, b) if direction == "forward" else (b, a)
            assert (src["kind"], src["id"], rel, dst["kind"], dst["id"]) in edges, (tr["trail_id"], a, b, rel)
        last = nodes[-1]
        owned = {"account": cl["accounts"], "content": cl["content"], "url": cl["urls"], "hashtag": cl["hashtags"]}
        assert last["id"] in owned[last["kind"]]
        assert all(n["id"] not in owned[n["kind"]] for n in nodes[:-1])
        # the reference leaving the child's post was made by the bridge (or by nobody: the platform)
        if tr["bridge_account_id"] is not None:
            assert author[nodes[1]["id"]] == tr["bridge_account_id"]


@pytest.mark.parametrize("shape", BRIDGED_SHAPES)
def test_each_shape_alone_lays_a_walk_from_a_child_item_into_the_cluster(world, shape):
    cluster = plant_clusters(world)[0]
    relays = plant_relays(world, [cluster])
    bridge, post = int(world.cast.bridges[0][0]), int(world.posts.child[0])
    at = np.array([YEAR_START + 100])
    crumb = Crumb(world, cluster, bridge, post, at, set(), relays.accounts[0], relays.shares[0])
    nodes, hops = SHAPE_LAYERS[shape](crumb)
    edges = row_edges(world.rows)
    assert nodes[0] == (CON, crumb.source) and len(hops) == len(nodes) - 1
    assert world.rows.column("author")[nodes[1][1]] == bridge  # the bridge's item leaves the child's
    for (ka, a), (kb, b), (rel, direction) in zip(nodes, nodes[1:], hops):
        src, dst = ((ka, a), (kb, b)) if direction == "forward" else ((kb, b), (ka, a))
        assert (src[0], src[1], rel.value, dst[0], dst[1]) in edges, (shape, rel, direction)
    kind, last = nodes[-1]
    owned = {
        ACC: set(cluster.members.tolist()),
        TAG: set(cluster.tags.tolist()),
        URL: {cluster.invite},
        CON: set(cluster.content.tolist()),
    }
    assert last in owned[kind]
    assert not any(ref in owned[k] for k, ref in nodes[:-1])


def test_bridges_alone_lay_rotating_shapes_and_link_their_bio_once(world):
    clusters = plant_clusters(world)
    trails, bridges = lay_trails(world, clusters)
    assert [b.account for b in bridges] == [int(a) for accts in world.cast.bridges for a in accts]
    assert sorted(t for b in bridges for t in b.trails) == list(range(len(trails)))
    for b in bridges:
        laid = [trails[t] for t in b.trails]
        assert 3 <= len(laid) <= 6 and all(t.bridge == b.account and t.cluster == b.cluster for t in laid)
        shapes = [t.shape for t in laid]
        assert all(CLASSIC_SHAPES[(CLASSIC_SHAPES.index(shapes[0]) + i) % 4] == s for i, s in enumerate(shapes))
        bios = [u for u in world.rows.url_links if u.src_kind == ACC and u.src == b.account]
        assert len(bios) == ("bio_link" in shapes)
        assert len({t.source for t in laid}) == len(laid)  # each from a different child-oriented item
