"""The named random streams: each step's stream is a fixed child of the seed."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from synth.world import Streams

#: the position of each stream is part of the output: these must never move
FIRST_STREAMS = (
    "accounts",
    "roles",
    "follows",
    "posts",
    "comments",
    "hashtags",
    "urls",
    "shares",
    "recommendations",
    "clusters",
    "trails",
    "groomers",
    "decoys",
    "ids",
    "timestamps",
    "misc",
    "mix",
)


def test_each_stream_is_the_seed_child_at_its_position_and_positions_never_move():
    names = [f.name for f in fields(Streams)]
    assert tuple(names[: len(FIRST_STREAMS)]) == FIRST_STREAMS  # new streams go at the end
    streams = Streams.from_seed(42)
    children = np.random.SeedSequence(42).spawn(len(names) + 5)  # spawning more changes none of them
    for name, child in zip(names, children):
        assert getattr(streams, name).random(4).tolist() == np.random.default_rng(child).random(4).tolist(), name
    other = Streams.from_seed(43)
    assert streams.accounts.random() != other.accounts.random()
