"""truth.json: what was planted, by the ids written in the tables (for tests and quality scoring
only; detectors must never read it). Each planted structure's module writes its own entries."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from synth import clusters, contacts, decoys, incidental, mix, relays, trails
from synth.adversary import Adversary
from synth.clusters import PlantedCluster
from synth.decoys import FalsePositives
from synth.mix import Mix
from synth.tables import Ids
from synth.trails import Bridge, Trail
from synth.world import World

logger = logging.getLogger(__name__)

GENERATOR = "crumbgraph-synth"
TRUTH_VERSION = 2


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
    adversary: Adversary | None = None  # None in the classic world
    unlabelled: list[np.ndarray] | None = None  # per cluster: members with no abusive label


def build_truth(world: World, planted: Planted, ids: Ids) -> dict[str, Any]:
    """The truth document (version 2, docs/synthetic-data.md); keys in their documented order."""
    adv = planted.adversary
    laid = planted.trails + (adv.trails if adv else [])
    fps = _false_positives(planted)
    n_cl = len(planted.clusters)
    more = [np.zeros(0, np.int64)] * n_cl
    if planted.mix:
        more = [np.concatenate([a, b]) for a, b in zip(more, planted.mix.content)]
    if adv:
        more = [np.concatenate([a, b]) for a, b in zip(more, adv.incidental.member_comments)]
    unlabelled = planted.unlabelled or [np.zeros(0, np.int64)] * n_cl
    households = adv.households if adv else None
    news = adv.incidental.news if adv else None
    contact_list = contacts.contact_entries(world.cast.groomers, planted.groomed, adv.contacts if adv else None, ids)
    decoy_list = decoys.truth_entries(world, planted.classes, fps, ids, households, news)
    truth: dict[str, Any] = {
        "synthetic": True,
        "generator": GENERATOR,
        "version": TRUTH_VERSION,
        "world": world.params.world,
        "seed": world.params.seed,
        "accounts": world.params.accounts,
        "clusters": clusters.truth_entries(planted.clusters, ids, more, unlabelled),
        "bridges": trails.bridge_entries(planted.bridges + (adv.bridges if adv else []), ids),
        "relays": relays.truth_entries(adv.relays, laid, ids) if adv else [],
        "trails": trails.trail_entries(laid, ids),
        "contacts": contact_list,
        "groomers": [{"account_id": c["account_id"], "minors": c["minors"]} for c in contact_list],
        "decoys": decoy_list,
        "decoys_by_kind": _by_kind(decoy_list),
        "incidental_walks": incidental.truth_entries(adv.incidental, ids) if adv else [],
    }
    if planted.mix is not None:
        truth["background_mix"] = world.params.background_mix
        truth["incidental"] = mix.truth_entries(planted.mix, ids)
    return truth


def _false_positives(planted: Planted) -> FalsePositives:
    fp = planted.false_positives
    if planted.adversary is None:
        return fp
    more = planted.adversary.noise.false_positives
    return FalsePositives(np.concatenate([fp.accounts, more.accounts]), fp.content + more.content)


def _by_kind(decoy_list: list[dict[str, Any]]) -> dict[str, list[str]]:
    """decoys by kind: each kind's account ids (mega hashtags: the tags), in truth order."""
    out: dict[str, list[str]] = {}
    for d in decoy_list:
        out.setdefault(d["decoy"], []).append(d["account_id"] or d["hashtag"])
    return out
