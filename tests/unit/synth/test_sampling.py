"""Shared draws: weighted sampling within groups, times after others, distinct keys."""

from __future__ import annotations

import numpy as np

from synth.codes import YEAR_END, YEAR_START
from synth.sampling import Sampler, after, label_conf, unique, year_ts


def test_sampler_draws_by_weight_within_the_group_and_never_zero_weight():
    rng = np.random.default_rng(0)
    weights = np.array([0.0, 1.0, 3.0, 0.0, 5.0, 2.0])
    groups = np.array([0, 0, 0, 1, 2, 2])
    s = Sampler(weights, groups, 4)
    idx, ok = s.sample(rng, 8000, np.zeros(8000, np.int64))
    assert ok.all() and set(idx.tolist()) == {1, 2}
    assert 0.7 < (idx == 2).mean() < 0.8  # 3 / (1 + 3)
    _, ok = s.sample(rng, 10, np.full(10, 1))  # a group with weight 0
    assert not ok.any()
    _, ok = s.sample(rng, 10, np.full(10, 3))  # a group with no members
    assert not ok.any()
    idx, ok = Sampler(weights).sample(rng, 1000)
    assert ok.all() and not set(idx.tolist()) & {0, 3}
    idx, ok = Sampler(np.array([])).sample(rng, 3)
    assert not ok.any()


def test_unique_times_and_confidences():
    assert unique(np.array([3, 1, 3, 2, 1])).tolist() == [1, 2, 3] and len(unique(np.array([], np.int64))) == 0
    rng = np.random.default_rng(0)
    ts = year_ts(rng, 1000)
    assert ((ts >= YEAR_START) & (ts < YEAR_END)).all()
    later = after(rng, ts, 3.0)
    assert (later >= np.minimum(ts + 60, YEAR_END - 1)).all() and (later < YEAR_END).all()
    conf = label_conf(rng, 1000, 0.6, 0.75)
    assert ((conf >= 0.6) & (conf <= 0.75)).all() and (np.round(conf, 3) == conf).all()
