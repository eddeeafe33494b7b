"""The knobs of the generation model (`SynthParams`), validated on construction."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from graph.errors import ConfigError

logger = logging.getLogger(__name__)

#: The worlds `crumbgraph synth` can build (docs/synthetic-data.md): `adversarial` (the default)
#: is `classic` plus every situation that punishes a detection shortcut (synth/adversary.py).
WORLDS = ("adversarial", "classic")
DEFAULT_WORLD = "adversarial"


@dataclass(frozen=True)
class SynthParams:
    """Knobs of the generation model. Defaults give the documented realism; tests may shrink them."""

    accounts: int = 20_000
    seed: int = 0
    community_size: int = 250  # mean accounts per community
    youth_community_share: float = 0.2  # communities where about half the accounts are minors
    minor_share: float = 0.15
    unknown_share: float = 0.10
    mean_follows: float = 9.0  # background out-degree (hubs come on top)
    local_follow_share: float = 0.8  # follows that stay inside the follower's community
    mean_posts: float = 1.5  # non-comment content per account
    mean_comments: float = 2.0  # comments per account
    mean_shares: float = 0.3
    mean_recommendations: float = 0.5
    family_vlogger_share: float = 0.04  # adults whose content is mostly child-oriented
    accounts_per_cluster: int = 10_000  # one abusive cluster per this many accounts (at least 2)
    accounts_per_groomer: int = 50_000  # at least 2
    accounts_per_hub: int = 500_000  # 3 hubs plus one per this many accounts
    accounts_per_benign_commenter: int = 10_000  # at least 3
    accounts_per_teacher: int = 200_000  # at least 1
    accounts_per_false_positive: int = 100_000  # at least 1
    #: 0 = cluster members take no part in the background (the default; output unchanged);
    #: > 0 gives them an ordinary platform life, this many times an ordinary account's
    #: (1.0 = as much): see "Background mix" in docs/synthetic-data.md.
    background_mix: float = 0.0
    #: "adversarial" (default) or "classic" (the world of truth version 1, byte-identical tables)
    world: str = DEFAULT_WORLD

    def __post_init__(self) -> None:
        if self.accounts < 1000:
            raise ConfigError(
                f"synth: --accounts must be at least 1000 (got {self.accounts}); "
                "smaller graphs cannot hold the planted structures"
            )
        if not 0 <= self.seed < 2**63:
            raise ConfigError(f"synth: --seed must be a non-negative integer (got {self.seed})")
        if not 0.0 <= self.background_mix <= 10.0:
            raise ConfigError(f"synth: --background-mix must be between 0 and 10 (got {self.background_mix})")
        if self.world not in WORLDS:
            raise ConfigError(f"synth: --world must be one of {', '.join(WORLDS)} (got {self.world!r})")

    @property
    def adversarial(self) -> bool:
        return self.world == "adversarial"
