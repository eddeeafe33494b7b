"""Who laid the crumbs: rank the accounts that created the references on pathways (`bridge`),
and list cluster members (`cluster_member`) with the pathways that reach them."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from pydantic import Field

from detectors.base import Detector, DetectorContext, DetectorOutput, DetectorParams, rnd
from detectors.clusters import account_owner
from graph.projection import Projection


class BridgeParams(DetectorParams):
    min_score: float = Field(
        0.05,
        ge=0,
        description="least pathway probability mass (summed over the pathways "
        "it lays crumbs on) an account must create to be a bridge",
    )
    min_pathways: int = Field(1, ge=1, description="least number of pathways an account must lay crumbs on")


class BridgeDetector(Detector):
    """Bridges and cluster members; see docs/detectors.md#who-laid-the-crumb."""

    name = "bridges"
    version = "1.0.0"
    Params = BridgeParams
    requires = ("clusters", "pathways")

    def run(self, projection: Projection, params: BridgeParams, context: DetectorContext) -> DetectorOutput:
        proj = projection
        pathways = context.outputs["pathways"].state["pathways"]
        walk_vids = context.outputs["pathways"].state["walk_vids"]
        cstate = context.outputs["clusters"].state
        clusters, mass = cstate["clusters"], cstate["mass"]
        score: dict[str, float] = defaultdict(float)
        paths: dict[str, list[str]] = defaultdict(list)
        reaching: dict[int, list[str]] = defaultdict(list)
        last_owner = account_owner(proj, np.array([walk_vids[pw["pathway_id"]][-1] for pw in pathways], np.int64))
        for pw, owner in zip(pathways, last_owner.tolist()):
            for acc in pw["bridges"]:
                score[acc] += pw["score"]
                paths[acc].append(pw["pathway_id"])
            if owner >= 0:
                reaching[owner].append(pw["pathway_id"])
        rows: list[dict[str, Any]] = []
        for acc, s in score.items():
            if s >= params.min_score and len(paths[acc]) >= params.min_pathways:
                rows.append({"account_id": acc, "score": rnd(s), "role": "bridge", "pathways": sorted(set(paths[acc]))})
        n_bridges = len(rows)
        for c in clusters:
            for v, acc in zip(c["members"].tolist(), c["ids"]):
                rows.append(
                    {
                        "account_id": acc,
                        "score": rnd(float(mass[v])),
                        "role": "cluster_member",
                        "cluster_id": c["cluster_id"],
                        "pathways": sorted(set(reaching.get(v, []))),
                    }
                )
        out = DetectorOutput()
        out.sections["flagged_accounts"] = rows
        out.counts.update(bridges=n_bridges, cluster_members=len(rows) - n_bridges)
        return out
