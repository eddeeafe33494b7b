"""The world being generated: the parameters, the named random streams, the rows so far, and the
ordinary platform every planted structure is laid into."""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields

import numpy as np

from synth.background import Posts, Weights
from synth.params import SynthParams
from synth.population import Population
from synth.roles import Cast
from synth.rows import Rows
from synth.vocabulary import Domains, Hashtags

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Streams:
    """One random stream per step: field i is child i of `SeedSequence(seed)`, so a step's draws do
    not depend on how much any other step draws. A child's seed depends only on its position:
    add a stream for a new step at the END (never reorder), and the existing output stays
    byte-identical."""

    accounts: np.random.Generator
    roles: np.random.Generator
    follows: np.random.Generator
    posts: np.random.Generator
    comments: np.random.Generator
    hashtags: np.random.Generator  # background hashtags, then the mega hashtags
    urls: np.random.Generator
    shares: np.random.Generator
    recommendations: np.random.Generator
    clusters: np.random.Generator
    trails: np.random.Generator
    groomers: np.random.Generator
    decoys: np.random.Generator  # teachers, benign commenters, false-positive labels
    ids: np.random.Generator
    timestamps: np.random.Generator  # follows' created_at
    misc: np.random.Generator  # unused; keeps the position of the streams after it
    mix: np.random.Generator  # the background mix only
    adversary: np.random.Generator  # the adversarial world's additions only (synth/adversary.py)

    @classmethod
    def from_seed(cls, seed: int) -> Streams:
        names = [f.name for f in fields(cls)]
        children = np.random.SeedSequence(seed).spawn(len(names))
        return cls(**{name: np.random.default_rng(s) for name, s in zip(names, children, strict=True)})


@dataclass(frozen=True)
class World:
    """Everything the planted structures draw on. `rows` grows as they are laid and `cast.taken`
    as they claim accounts; the rest is fixed once the background is built."""

    params: SynthParams
    rng: Streams
    rows: Rows
    people: Population
    cast: Cast
    weights: Weights
    posts: Posts
    tags: Hashtags
    domains: Domains

    @property
    def n(self) -> int:
        return self.people.n
