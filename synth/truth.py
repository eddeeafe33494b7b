"""truth.json: what was planted, by the ids written in the tables (for tests and quality scoring
only; detectors must never read it). Each planted structure's module writes its own entries."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from synth import clusters, contacts, decoys, mix, trails
from synth.clusters import PlantedCluster
from synth.decoys import FalsePositives
from synth.mix import Mix
from synth.tables import Ids
from synth.trails import Bridge, Trail
from synth.world import World

logger = logging.getLogger(__name__)

GENERATOR = "crumbgraph-synth"
TRUTH_VERSION = 1


@dataclass(frozen=True)
class Planted:
    """Everything planted into a world, as generator indices."""

    clusters: list[PlantedCluster]
    trails: list[Trail]
    bridges: list[Bridge]
    groomed: list[np.ndarray]  # each groomer's minors
    classes: list[np.ndarray]  # each teacher's pupils
    false_positives: FalsePositives
    mix: Mix | None  # None without background mix


def build_truth(world: World, planted: Planted, ids: Ids) -> dict[str, Any]:
    """The truth document (version 1, docs/synthetic-data.md); keys in their documented order."""
    more = planted.mix.content if planted.mix else None
    truth: dict[str, Any] = {
        "synthetic": True,
        "generator": GENERATOR,
        "version": TRUTH_VERSION,
        "seed": world.params.seed,
        "accounts": world.params.accounts,
        "clusters": clusters.truth_entries(planted.clusters, ids, more),
        "bridges": trails.bridge_entries(planted.bridges, ids),
        "trails": trails.trail_entries(planted.trails, ids),
        "groomers": contacts.truth_entries(world.cast.groomers, planted.groomed, ids),
        "decoys": decoys.truth_entries(world, planted.classes, planted.false_positives, ids),
    }
    if planted.mix is not None:
        truth["background_mix"] = world.params.background_mix
        truth["incidental"] = mix.truth_entries(planted.mix, ids)
    return truth
