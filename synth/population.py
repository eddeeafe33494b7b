"""The accounts: communities, age bands, statuses, creation times, and each account's activity
(how much it posts, comments, follows) and popularity (how much it is followed and answered)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from synth.codes import ACCOUNTS_FROM, ACTIVE, ADULT, MINOR, STATUS_BY_DRAW, UNKNOWN, YEAR_START
from synth.params import SynthParams

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Population:
    """Every account by index 0..n-1 (codes of graph.model for age band and status)."""

    n_communities: int
    community: np.ndarray
    age: np.ndarray
    status: np.ndarray
    created: np.ndarray  # unix seconds, before the year of activity
    activity: np.ndarray  # log-normal, before planted roles are taken out of the background
    popularity: np.ndarray  # Pareto(1.3) + 1, likewise

    @property
    def n(self) -> int:
        return len(self.community)

    @property
    def adult(self) -> np.ndarray:
        return np.asarray(self.age == ADULT)

    @property
    def minor(self) -> np.ndarray:
        return np.asarray(self.age == MINOR)

    @property
    def active(self) -> np.ndarray:
        return np.asarray(self.status == ACTIVE)


def make_population(params: SynthParams, rng: np.random.Generator) -> Population:
    """Communities of log-normal size, a fifth of them youth communities where about half the
    accounts are minors (fewer elsewhere, `minor_share` overall)."""
    n = params.accounts
    n_comm = max(4, round(n / params.community_size))
    comm_w = rng.lognormal(0.0, 1.0, n_comm)
    community = np.searchsorted(np.cumsum(comm_w) / comm_w.sum(), rng.random(n), side="right")
    community = np.minimum(community, n_comm - 1)
    youth = rng.random(n_comm) < params.youth_community_share
    f_youth = comm_w[youth].sum() / comm_w.sum()
    p_youth = 0.45 if f_youth * 0.45 < 0.8 * params.minor_share else 0.8 * params.minor_share / f_youth
    p_other = (params.minor_share - f_youth * p_youth) / max(1e-9, 1 - f_youth)
    p_minor = np.where(youth, p_youth, p_other)[community]
    u = rng.random(n)
    age = np.where(u < p_minor, MINOR, np.where(u < p_minor + params.unknown_share, UNKNOWN, ADULT)).astype(np.int8)
    status = STATUS_BY_DRAW[np.searchsorted([0.96, 0.99], rng.random(n), side="right")].astype(np.int8)
    created = rng.integers(ACCOUNTS_FROM, YEAR_START, n, dtype=np.int64)
    activity = rng.lognormal(0.0, 0.9, n)
    popularity = rng.pareto(1.3, n) + 1.0
    logger.debug("population: %d accounts in %d communities", n, n_comm)
    return Population(n_comm, community, age, status, created, activity, popularity)
