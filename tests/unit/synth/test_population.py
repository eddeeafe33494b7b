"""The accounts alone: age bands (graph.model codes), statuses, creation times, youth communities."""

from __future__ import annotations

import numpy as np

from graph.model import AgeBand
from synth import SynthParams
from synth.codes import ACCOUNTS_FROM, UNKNOWN, YEAR_START
from synth.population import make_population


def test_population_has_its_shares_of_minors_unknowns_and_active_accounts():
    p = make_population(SynthParams(accounts=20_000), np.random.default_rng(1))
    assert p.n == 20_000
    assert set(np.unique(p.age).tolist()) == {band.code for band in AgeBand}
    assert 0.13 <= p.minor.mean() <= 0.17
    assert 0.08 <= (p.age == UNKNOWN).mean() <= 0.12
    assert 0.95 <= p.active.mean() <= 0.97
    assert (p.created >= ACCOUNTS_FROM).all() and (p.created < YEAR_START).all()
    assert (p.activity > 0).all() and (p.popularity >= 1).all()


def test_youth_communities_hold_about_half_minors():
    p = make_population(SynthParams(accounts=20_000), np.random.default_rng(2))
    size = np.bincount(p.community, minlength=p.n_communities)
    minors = np.bincount(p.community, weights=p.minor, minlength=p.n_communities)
    share = (minors / np.maximum(size, 1))[size >= 30]
    assert share.max() > 0.35  # a youth community
    assert np.median(share) < 0.15  # most are not
