"""The hop-limited search, walk rebuilding and exposure against brute force on small random graphs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detectors.navigation import Navigation, group_order
from detectors.pathways import exposure, hop_limited_costs, rebuild_walk, rebuild_walks


def random_nav(n: int, m: int, seed: int) -> Navigation:
    rng = np.random.default_rng(seed)
    src = rng.integers(0, n, m).astype(np.int32)
    dst = rng.integers(0, n, m).astype(np.int32)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    order, indptr = group_order(src, n)
    src, dst = src[order], dst[order]
    outdeg = np.bincount(src, minlength=n)
    prob = 1.0 / outdeg[src]
    return Navigation(
        n=n,
        src=src,
        dst=dst,
        edge=np.arange(src.size),
        forward=np.ones(src.size, bool),
        prob=prob,
        cost=-np.log(prob),
        creator=np.full(src.size, -1, np.int32),
        credit=np.zeros(src.size, bool),
        indptr=indptr,
    )


def brute_costs(nav: Navigation, targets: set[int], hops: int) -> np.ndarray:
    """Least cost of any walk of <= hops steps into targets, by dynamic programming over all steps."""
    d = np.array([0.0 if v in targets else math.inf for v in range(nav.n)])
    for _ in range(hops):
        new = d.copy()
        for s, t, c in zip(nav.src.tolist(), nav.dst.tolist(), nav.cost.tolist()):
            if s not in targets:
                new[s] = min(new[s], c + d[t])
        d = new
    return d


@pytest.mark.parametrize("seed", range(6))
def test_hop_limited_costs_match_brute_force(seed: int) -> None:
    nav = random_nav(40, 120, seed)
    targets = np.array([0, 1, 2])
    for hops in (1, 2, 4):
        search = hop_limited_costs(nav, nav.reverse_index(), targets, hops, max_cost=math.inf)
        assert np.allclose(search.d, brute_costs(nav, {0, 1, 2}, hops))
        every = np.arange(nav.n)
        assert np.allclose(search.d_before_last(every), brute_costs(nav, {0, 1, 2}, hops - 1))
        search.release()
        assert np.all(np.isinf(search.d))


@pytest.mark.parametrize("seed", range(4))
def test_rebuilt_walks_are_optimal_and_hop_limited(seed: int) -> None:
    nav = random_nav(50, 150, seed)
    targets = np.array([3, 7])
    is_t = np.zeros(nav.n, bool)
    is_t[targets] = True
    hops = 4
    search = hop_limited_costs(nav, nav.reverse_index(), targets, hops, max_cost=math.inf)
    d, log = search.d, search.log
    starts = np.flatnonzero(np.isfinite(d) & ~is_t)
    batch = rebuild_walks(nav, log, starts, hops, is_t)
    for row, s in enumerate(starts.tolist()):
        steps = rebuild_walk(nav, log, s, hops, is_t)
        assert steps is not None and 1 <= len(steps) <= hops
        assert [int(e) for e in batch[row] if e >= 0] == steps
        v = s
        for e in steps:
            assert nav.src[e] == v
            v = int(nav.dst[e])
        assert is_t[v]
        assert math.isclose(float(nav.cost[steps].sum()), float(d[s]), abs_tol=1e-9)


def test_pruning_drops_improbable_walks() -> None:
    nav = random_nav(60, 240, 11)
    targets = np.array([0])
    full = hop_limited_costs(nav, nav.reverse_index(), targets, 6, max_cost=math.inf).d
    cut = 2.5
    pruned = hop_limited_costs(nav, nav.reverse_index(), targets, 6, max_cost=cut).d
    assert np.all(np.isinf(pruned[full > cut]))
    assert np.allclose(pruned[full <= cut], full[full <= cut])


def test_exposure_matches_brute_force() -> None:
    nav = random_nav(12, 40, 5)
    targets = np.array([0, 1])
    x = exposure(nav, targets, 3)

    # brute force: sum over all walks of <= 3 steps that first hit a target
    def reach(v: int, k: int) -> float:
        if v in (0, 1):
            return 1.0
        if k == 0:
            return 0.0
        lo, hi = nav.indptr[v], nav.indptr[v + 1]
        return sum(nav.prob[e] * reach(int(nav.dst[e]), k - 1) for e in range(lo, hi))

    assert np.allclose(x, [reach(v, 3) for v in range(nav.n)])


def test_group_order_is_a_stable_sort() -> None:
    keys = np.random.default_rng(2).integers(0, 50, 1000)
    order, indptr = group_order(keys, 50)
    assert np.array_equal(order, np.argsort(keys, kind="stable"))
    assert np.array_equal(np.diff(indptr), np.bincount(keys, minlength=50))
