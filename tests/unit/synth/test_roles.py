"""The cast alone: every part is played by distinct active adults, in the documented numbers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from graph.errors import ConfigError
from synth import SynthParams
from synth.codes import MINOR
from synth.population import make_population
from synth.roles import cast_roles


def test_parts_are_distinct_active_adults():
    params = SynthParams(accounts=20_000)
    people = make_population(params, np.random.default_rng(1))
    cast = cast_roles(params, people, np.random.default_rng(2))
    parts = [*cast.clusters, cast.hubs, *cast.bridges, cast.groomers, cast.teachers, cast.benign]
    everyone = np.concatenate(parts)
    assert len(set(everyone.tolist())) == len(everyone)
    assert (people.adult & people.active)[everyone].all()
    assert cast.taken.sum() == len(everyone)
    assert cast.in_cluster.sum() == sum(len(c) for c in cast.clusters)
    assert len(cast.clusters) == 2 and all(10 <= len(c) <= 40 for c in cast.clusters)
    assert len(cast.bridges) == 2 and all(1 <= len(b) <= 3 for b in cast.bridges)
    assert (len(cast.hubs), len(cast.groomers), len(cast.teachers), len(cast.benign)) == (3, 2, 1, 3)
    assert people.adult[cast.family].all() and not (cast.family & cast.taken).any()
    cast.claim(np.array([0, 1]))
    assert cast.taken[[0, 1]].all()


def test_a_population_without_enough_adults_is_refused():
    params = SynthParams(accounts=1000)
    people = make_population(params, np.random.default_rng(1))
    minors_only = replace(people, age=np.full(people.n, MINOR, np.int8))
    with pytest.raises(ConfigError, match="not enough accounts"):
        cast_roles(params, minors_only, np.random.default_rng(2))
