"""The adversarial world (`--world adversarial`, the default): on top of the classic world, every
situation that punishes a detection shortcut, each planted by its own module from the
`adversary` random stream, so the classic part of the world is drawn exactly as before."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from synth import contacts, decoys, incidental, noise, relays, trails
from synth.clusters import PlantedCluster
from synth.contacts import Contacts
from synth.decoys import Households
from synth.incidental import Incidental
from synth.noise import Noise
from synth.trails import Bridge, Relays, Trail
from synth.world import World

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Adversary:
    relays: Relays
    trails: list[Trail]  # more bridged trails, then the recommendation trails
    bridges: list[Bridge]
    incidental: Incidental
    contacts: Contacts
    households: Households
    noise: Noise


def plant_adversary(world: World, clusters: list[PlantedCluster], laid: list[Trail]) -> Adversary:
    """Relays, more bridges of every shape, platform recommendation trails, hardened crumbs
    (bridges follow the child's owner; mega hashtags on crumbs), news accounts and incidental
    walks, contacts with and without a cluster tie, coaches and relatives, label noise."""
    rel = relays.plant_relays(world, clusters)
    more, bridges = trails.lay_adversarial_trails(world, clusters, rel, laid)
    recommended = trails.lay_recommendation_trails(world, clusters, laid + more)
    trails.harden_trails(world, laid + more)
    walks = incidental.plant_incidental(world, clusters)
    contacted = contacts.plant_contacts(world, [c.members for c in clusters])
    households = decoys.plant_households(world)
    labels = noise.plant_label_noise(world, clusters)
    logger.debug("adversary: %d more trails, %d more bridges", len(more) + len(recommended), len(bridges))
    return Adversary(rel, more + recommended, bridges, walks, contacted, households, labels)
