"""Label noise (adversarial world): more false-positive `abusive` labels on isolated benign items
of ordinary adults, and cluster members whose labels are stripped (labelled by nobody), so
neither "labelled = member" nor "member = labelled" holds."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from synth.clusters import PlantedCluster
from synth.codes import ABUSIVE, CLASSIFIER, GROUP, NO_LABEL
from synth.decoys import FalsePositives
from synth.world import World

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Noise:
    false_positives: FalsePositives  # in addition to the classic world's
    stripped: list[np.ndarray]  # per cluster: members whose abusive labels were removed


def plant_label_noise(world: World, clusters: list[PlantedCluster]) -> Noise:
    """max(2, N // 25,000) more ordinary adults get one low-confidence `abusive` label on an
    unlabelled post; in each cluster 10% of the still-labelled members (at least one, never the
    last labelled one) lose every abusive label."""
    rng, people, cast, posts, rows = world.rng.adversary, world.people, world.cast, world.posts, world.rows
    pool = np.flatnonzero(people.adult & people.active & ~cast.taken & ~cast.family & posts.has_post)
    accounts = np.sort(rng.choice(pool, max(2, world.n // 25_000), replace=False))
    cast.claim(accounts)
    content = []
    for a in accounts.tolist():
        own = posts.author == a
        cands = posts.item[np.flatnonzero(own & (posts.label == NO_LABEL) & (posts.kind != GROUP))]
        item = int(rng.choice(cands if len(cands) else posts.item[np.flatnonzero(own)]))
        rows.relabel(item, ABUSIVE, CLASSIFIER, float(np.round(rng.uniform(0.55, 0.75), 3)))
        content.append(item)
    label, author = rows.column("label"), rows.column("author")
    stripped = []
    for cl in clusters:
        abusive_items = cl.posts[label[cl.posts] == ABUSIVE]
        labelled = np.unique(author[abusive_items])
        k = max(1, len(labelled) // 10) if len(labelled) > 1 else 0
        strip = np.sort(rng.choice(labelled, k, replace=False)) if k else np.zeros(0, np.int64)
        for item in abusive_items[np.isin(author[abusive_items], strip)].tolist():
            rows.relabel(item, NO_LABEL, -1, float("nan"))
        stripped.append(strip)
    return Noise(FalsePositives(accounts, content), stripped)
