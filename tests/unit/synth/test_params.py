"""SynthParams refuses what cannot hold the planted structures."""

from __future__ import annotations

import pytest

from graph.errors import ConfigError
from synth import SynthParams


def test_params_refuse_too_few_accounts_a_negative_seed_and_a_mix_out_of_range():
    with pytest.raises(ConfigError, match="at least 1000"):
        SynthParams(accounts=999)
    with pytest.raises(ConfigError, match="--seed"):
        SynthParams(seed=-1)
    with pytest.raises(ConfigError, match="background-mix"):
        SynthParams(background_mix=10.5)
    assert SynthParams(accounts=1000, background_mix=10.0).background_mix == 10.0
