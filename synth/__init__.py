"""The synthetic data generator: a seeded social graph with planted structures, and the truth of what was planted."""

from synth.decoys import DECOY_KINDS
from synth.generate import SynthSummary, generate_snapshot, synth
from synth.params import SynthParams
from synth.tables import TABLES
from synth.trails import SHAPES
from synth.truth import GENERATOR, TRUTH_VERSION
from synth.vocabulary import MEGA_HASHTAGS
from synth.writer import FORMATS, SIDE_FILES, Snapshot, check_out_dir, write_snapshot

__all__ = [
    "DECOY_KINDS",
    "FORMATS",
    "GENERATOR",
    "MEGA_HASHTAGS",
    "SHAPES",
    "SIDE_FILES",
    "TABLES",
    "TRUTH_VERSION",
    "Snapshot",
    "SynthParams",
    "SynthSummary",
    "check_out_dir",
    "generate_snapshot",
    "synth",
    "write_snapshot",
]
