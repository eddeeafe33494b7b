"""Who laid the crumbs: rank the accounts that created the references on pathways (`bridge`),
and list cluster members (`cluster_member`) with the pathways that reach them."""

from __future__ import annotations

import logging
from collections import defaultdict

import numpy as np
from pydantic import Field

from detectors.base import Detector, DetectorContext, DetectorOutput, DetectorParams, rnd
from detectors.clusters import FoundCluster, account_owner
from detectors.results import FlaggedAccount, Pathway, Role
from graph.projection import Projection

logger = logging.getLogger(__name__)


class BridgeParams(DetectorParams):
    min_score: float = Field(
        0.05,
        ge=0,
        description="least pathway probability mass (summed over the pathways "
        "it lays crumbs on) an account must create to be a bridge",
    )
    min_pathways: int = Field(1, ge=1, description="least number of pathways an account must lay crumbs on")


class BridgeDetector(Detector[BridgeParams]):
    """Bridges and cluster members; see docs/detectors.md#who-laid-the-crumb."""

    name = "bridges"
    version = "1.0.0"
    Params = BridgeParams
    requires = ("clusters", "pathways")

    def run(self, projection: Projection, params: BridgeParams, context: DetectorContext) -> DetectorOutput:
        pathways: list[Pathway] = context.outputs["pathways"].state["pathways"]
        walk_vids: dict[str, list[int]] = context.outputs["pathways"].state["walk_vids"]
        cstate = context.outputs["clusters"].state
        bridges = bridge_rows(pathways, params)
        members = member_rows(projection, cstate["clusters"], cstate["mass"], pathways, walk_vids)
        out = DetectorOutput()
        out.sections.flagged_accounts = bridges + members
        out.counts.update(bridges=len(bridges), cluster_members=len(members))
        logger.info("bridges: %d bridges, %d cluster members", len(bridges), len(members))
        return out


def bridge_rows(pathways: list[Pathway], params: BridgeParams) -> list[FlaggedAccount]:
    """Accounts laying crumbs on enough pathways, scored by the probability mass they create."""
    score: dict[str, float] = defaultdict(float)
    paths: dict[str, list[str]] = defaultdict(list)
    for pw in pathways:
        for acc in pw.bridges or []:
            score[acc] += pw.score
            paths[acc].append(pw.pathway_id)
    return [
        FlaggedAccount(account_id=acc, score=rnd(s), role=Role.BRIDGE, pathways=sorted(set(paths[acc])))
        for acc, s in score.items()
        if s >= params.min_score and len(paths[acc]) >= params.min_pathways
    ]


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
