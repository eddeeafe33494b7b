"""Who laid the crumbs: the accounts that laid the crumbs of the queue's top-tier pathways
(`bridge`), the relay accounts those crumbs point at (`relay`), ranked by their trails' evidence,
and the cluster members (`cluster_member`) with the pathways that reach them."""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from typing import Any

import numpy as np
from pydantic import Field

from detectors.base import Detector, DetectorContext, DetectorOutput, DetectorParams, rnd
from detectors.clusters import FoundCluster, account_owner
from detectors.crumbs import relay_items
from detectors.queue import W_SOURCES
from detectors.results import TIER_LAID, CrumbShape, FlaggedAccount, Pathway, Role
from graph.projection import Projection

logger = logging.getLogger(__name__)


class BridgeParams(DetectorParams):
    min_evidence: float = Field(
        0.0, ge=0, description="least evidence (of its best laid-crumb trail) an account needs to be named"
    )
    min_tier: int = Field(
        TIER_LAID, ge=0, le=3, description="an account is named for the crumbs of pathways of at least this tier"
    )
    min_relay_shares: int = Field(
        2,
        ge=1,
        description="an account outside the clusters whose own posts share at least this many distinct "
        "cluster items is a relay even when no pathway's crumb points at it yet",
    )


class BridgeDetector(Detector[BridgeParams]):
    """Bridges, relays and cluster members; see docs/detectors.md#who-laid-the-crumb."""

    name = "bridges"
    version = "2.0.0"
    Params = BridgeParams
    requires = ("clusters", "pathways")

    def run(self, projection: Projection, params: BridgeParams, context: DetectorContext) -> DetectorOutput:
        pathways: list[Pathway] = context.outputs["pathways"].state["pathways"]
        walk_vids: dict[str, list[int]] = context.outputs["pathways"].state["walk_vids"]
        cstate = context.outputs["clusters"].state
        bridges = crumb_layer_rows(pathways, params, Role.BRIDGE)
        relays = crumb_layer_rows(pathways, params, Role.RELAY)
        relays += standing_relay_rows(projection, cstate, {r.account_id for r in relays}, params)
        members = member_rows(projection, cstate["clusters"], cstate["mass"], pathways, walk_vids)
        out = DetectorOutput()
        out.sections.flagged_accounts = bridges + relays + members
        out.counts.update(bridges=len(bridges), relays=len(relays), cluster_members=len(members))
        logger.info("bridges: %d bridges, %d relays, %d cluster members", len(bridges), len(relays), len(members))
        return out


def crumb_layer_rows(pathways: list[Pathway], params: BridgeParams, role: Role) -> list[FlaggedAccount]:
    """`bridge`: the accounts that laid the crumbs of pathways of at least `min_tier`; `relay`:
    the relays those crumbs point at. Each scored by the evidence of its best such pathway (which
    counts the distinct child items its crumbs start from, not click probability)."""
    best: dict[str, float] = defaultdict(float)
    paths: dict[str, set[str]] = defaultdict(set)
    sources: dict[str, set[str]] = defaultdict(set)
    shapes: dict[str, set[CrumbShape]] = defaultdict(set)
    tied: dict[str, bool] = defaultdict(bool)
    for pw in pathways:
        if (pw.tier or 0) < params.min_tier or pw.shape is None:
            continue
        for acc in (pw.laid_by if role == Role.BRIDGE else pw.relays) or []:
            best[acc] = max(best[acc], pw.evidence or 0.0)
            paths[acc].add(pw.pathway_id)
            sources[acc].add(pw.source.id)
            shapes[acc].add(pw.shape)
            tied[acc] |= bool((pw.evidence_terms or {}).get("tied"))
    return [
        FlaggedAccount(
            account_id=acc,
            score=rnd(e),
            role=role,
            pathways=sorted(paths[acc]),
            sources=len(sources[acc]),
            shapes=sorted(shapes[acc]),
            tied=tied[acc] if role == Role.BRIDGE else None,
        )
        for acc, e in best.items()
        if e >= params.min_evidence
    ]


def standing_relay_rows(
    proj: Projection, cstate: dict[str, Any], named: set[str], params: BridgeParams
) -> list[FlaggedAccount]:
    """Relays no crumb of the queue points at yet: accounts outside every cluster whose own posts
    share at least `min_relay_shares` distinct items a cluster owns. Scored 2·log2(1 + items), below
    any relay on a laid trail (whose evidence adds the trail's terms)."""
    owner, member = cstate.get("owner"), cstate.get("member_cluster")
    if owner is None or member is None:
        return []
    rows = []
    for r, pairs in relay_items(proj, owner, member).items():
        shared = {s for _, s in pairs}
        acc = proj.node_id(r)
        if acc in named or len(shared) < params.min_relay_shares:
            continue
        rows.append(
            FlaggedAccount(
                account_id=acc,
                score=rnd(W_SOURCES * math.log2(1 + len(shared))),
                role=Role.RELAY,
                pathways=[],
                sources=0,
                shapes=[CrumbShape.RELAY],
            )
        )
    return rows


def member_rows(
    proj: Projection,
    clusters: list[FoundCluster],
    mass: np.ndarray,
    pathways: list[Pathway],
    walk_vids: dict[str, list[int]],
) -> list[FlaggedAccount]:
    """Every cluster member, scored by its abusive mass, with the pathways ending at it or at
    its content."""
    reaching: dict[int, list[str]] = defaultdict(list)
    last_owner = account_owner(proj, np.array([walk_vids[pw.pathway_id][-1] for pw in pathways], np.int64))
    for pw, owner in zip(pathways, last_owner.tolist()):
        if owner >= 0:
            reaching[owner].append(pw.pathway_id)
    return [
        FlaggedAccount(
            account_id=acc,
            score=rnd(float(mass[v])),
            role=Role.CLUSTER_MEMBER,
            cluster_id=c.cluster_id,
            pathways=sorted(set(reaching.get(v, []))),
        )
        for c in clusters
        for v, acc in zip(c.members.tolist(), c.ids)
    ]
