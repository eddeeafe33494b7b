"""Random draws the generator's steps share: weighted sampling within groups, times in the year of
activity, label confidences, and sorted-distinct keys."""

from __future__ import annotations

import logging

import numpy as np

from synth.codes import DAY, YEAR_END, YEAR_START

logger = logging.getLogger(__name__)


class Sampler:
    """Draws indices with probability proportional to a weight, optionally within a group, by
    inverse-CDF search over one cumulative sum (vectorised; zero-weight items are never drawn)."""

    def __init__(self, weights: np.ndarray, groups: np.ndarray | None = None, n_groups: int = 0) -> None:
        w = np.asarray(weights, dtype=np.float64)
        if groups is None:
            self.order = np.arange(len(w))
        else:
            self.order = np.argsort(groups, kind="stable")
        self.w = w[self.order]
        self.cw = np.cumsum(self.w)
        if groups is not None:
            g = np.asarray(groups)[self.order]
            starts = np.searchsorted(g, np.arange(n_groups), side="left")
            ends = np.searchsorted(g, np.arange(n_groups), side="right")
            self.lo = np.where(starts > 0, self.cw[np.maximum(starts - 1, 0)], 0.0)
            self.hi = np.where(ends > 0, self.cw[np.maximum(ends - 1, 0)], 0.0)

    def sample(
        self, rng: np.random.Generator, n: int, group: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (indices, ok); `ok` is False where the group had no weight (drop those)."""
        if len(self.cw) == 0:
            return np.zeros(n, np.int64), np.zeros(n, bool)
        if group is None:
            lo, hi = 0.0, self.cw[-1]
        else:
            lo, hi = self.lo[group], self.hi[group]
        t = lo + rng.random(n) * (hi - lo)
        pos = np.minimum(np.searchsorted(self.cw, t, side="right"), len(self.cw) - 1)
        ok = (np.asarray(hi) > np.asarray(lo)) & (self.w[pos] > 0)
        return self.order[pos], np.broadcast_to(ok, (n,)).copy()


def zipf_weights(n: int, s: float = 1.05) -> np.ndarray:
    return 1.0 / np.arange(1, n + 1, dtype=np.float64) ** s


def unique(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort + mask: faster than np.unique's hashing on large int arrays)."""
    k = np.sort(keys)
    if len(k) == 0:
        return k
    return k[np.concatenate(([True], k[1:] != k[:-1]))]


def after(rng: np.random.Generator, ts: np.ndarray, mean_days: float) -> np.ndarray:
    """A time after `ts` (exponential delay), kept inside the year."""
    delay = (rng.exponential(mean_days * DAY, len(ts)) + 60).astype(np.int64)
    out: np.ndarray = np.minimum(np.asarray(ts, dtype=np.int64) + delay, YEAR_END - 1)
    return out


def year_ts(rng: np.random.Generator, n: int) -> np.ndarray:
    """n times uniformly in the year of activity."""
    return rng.integers(YEAR_START, YEAR_END, n, dtype=np.int64)


def label_conf(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    """n label confidences uniform in [lo, hi), rounded to 3 decimals."""
    return np.round(rng.uniform(lo, hi, n), 3)
