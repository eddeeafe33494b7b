"""The cast: which accounts play a planted part (cluster members, bridges, hubs, groomers,
teachers, benign commenters, family vloggers), chosen before the background so that the
background can leave the clusters out."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from graph.errors import ConfigError
from synth.params import SynthParams
from synth.population import Population

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cast:
    """Accounts by part. `taken` marks every account with a part so far; later parts (teachers'
    classes, groomers' minors, false-positive accounts) `claim` theirs as they are planted."""

    taken: np.ndarray
    clusters: list[np.ndarray]  # members of each cluster, sorted
    in_cluster: np.ndarray
    hubs: np.ndarray
    bridges: list[np.ndarray]  # bridges of each cluster
    groomers: np.ndarray
    teachers: np.ndarray
    benign: np.ndarray  # benign commenters
    family: np.ndarray  # family vloggers (a mask; not taken)

    def claim(self, accounts: np.ndarray) -> None:
        self.taken[accounts] = True


def _pick(rng: np.random.Generator, taken: np.ndarray, k: int, mask: np.ndarray) -> np.ndarray:
    """k accounts of `mask` without a part yet, sorted; marks them taken."""
    pool = np.flatnonzero(mask & ~taken)
    if len(pool) < k:
        raise ConfigError(f"synth: not enough accounts for the planted structures (need {k}, have {len(pool)})")
    chosen = np.sort(rng.choice(pool, k, replace=False))
    taken[chosen] = True
    return chosen


def cast_roles(params: SynthParams, people: Population, rng: np.random.Generator) -> Cast:
    """Every planted part is played by active adults, drawn at random (ids say nothing)."""
    n = people.n
    taken = np.zeros(n, bool)
    eligible = people.adult & people.active
    n_clusters = max(2, n // params.accounts_per_cluster)
    cluster_sizes = rng.integers(10, 41, n_clusters)
    members_all = rng.permutation(_pick(rng, taken, int(cluster_sizes.sum()), eligible))
    clusters = [np.sort(c) for c in np.split(members_all, np.cumsum(cluster_sizes)[:-1])]
    in_cluster = np.zeros(n, bool)
    in_cluster[members_all] = True
    hubs = _pick(rng, taken, 3 + n // params.accounts_per_hub, eligible)
    bridges_per_cluster = rng.integers(1, 4, n_clusters)
    bridges_all = rng.permutation(_pick(rng, taken, int(bridges_per_cluster.sum()), eligible))
    bridges = np.split(bridges_all, np.cumsum(bridges_per_cluster)[:-1])
    groomers = _pick(rng, taken, max(2, n // params.accounts_per_groomer), eligible)
    teachers = _pick(rng, taken, max(1, n // params.accounts_per_teacher), eligible)
    benign = _pick(rng, taken, max(3, n // params.accounts_per_benign_commenter), eligible)
    family = (rng.random(n) < params.family_vlogger_share) & people.adult & ~taken
    logger.debug("cast: %d clusters (%d members), %d bridges", n_clusters, len(members_all), len(bridges_all))
    return Cast(taken, clusters, in_cluster, hubs, bridges, groomers, teachers, benign, family)
