"""The generator's orchestration: build the ordinary platform, plant each structure into it,
assemble the tables and the truth (`generate_snapshot`), and write them (`synth`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from graph.progress import Progress, no_progress
from synth import adversary, background, clusters, contacts, decoys, mix, tables, trails, vocabulary
from synth.params import DEFAULT_WORLD, SynthParams
from synth.population import make_population
from synth.roles import cast_roles
from synth.rows import Rows
from synth.truth import Planted, build_truth
from synth.world import Streams, World
from synth.writer import Snapshot, check_format, check_out_dir, write_snapshot

logger = logging.getLogger(__name__)

STEPS = (
    *("accounts", "roles", "follows", "content", "comments", "hashtags", "urls", "shares", "recommendations"),
    *("clusters", "trails", "teachers", "groomers", "decoys", "adversary", "background mix"),
    *("mega hashtags", "content table", "follows table", "links table", "truth"),
)


@dataclass
class SynthSummary:
    out_dir: Path
    format: str
    rows: dict[str, int]
    files: list[str]
    seconds: float
    truth_counts: dict[str, int] = field(default_factory=dict)


def _quiet(step: str) -> None:
    """A step reporter that reports nothing (building a world alone, in tests)."""


class _Steps:
    """Reports progress(step, steps done, steps in all) as each step starts."""

    def __init__(self, progress: Progress | None, params: SynthParams) -> None:
        self.progress = progress or no_progress
        skip = {"background mix"} if params.background_mix <= 0 else set()
        skip |= set() if params.adversarial else {"adversary"}
        self.names = [s for s in STEPS if s not in skip]
        self.t0 = time.perf_counter()

    def __call__(self, name: str) -> None:
        done = self.names.index(name)
        logger.debug("synth: %s (%d/%d) at %.2f s", name, done, len(self.names), time.perf_counter() - self.t0)
        self.progress(name, done, len(self.names))


def generate_snapshot(params: SynthParams, progress: Progress | None = None) -> Snapshot:
    """Generate the snapshot for `params` in memory. Same params -> identical tables and truth.
    Calls `progress(step, steps done, steps in all)` as each of STEPS starts."""
    step = _Steps(progress, params)
    world = build_world(params, step)
    planted = plant(world, step)
    return assemble(world, planted, step)


def build_world(params: SynthParams, step: Callable[[str], None] = _quiet) -> World:
    """The accounts, who plays which part, and the ordinary platform around them."""
    rng, rows = Streams.from_seed(params.seed), Rows()
    step("accounts")
    people = make_population(params, rng.accounts)
    step("roles")
    cast = cast_roles(params, people, rng.roles)
    step("follows")
    weights = background.weigh_accounts(people, cast)
    background.follow_background(params, people, weights, rng.follows, rows)
    decoys.follow_hubs(rows, rng.follows, people.n, cast.hubs)
    step("content")
    groups = background.make_groups(people, weights, rng.posts, rows)
    posts = background.post_background(params, people, cast, weights, groups, rng.posts, rows)
    step("comments")
    comments = background.comment_background(params, people, weights, posts, rng.comments, rows)
    step("hashtags")
    tags = vocabulary.tag_background(params, cast, posts, comments, rng.hashtags, rows)
    step("urls")
    domains = vocabulary.link_background(people, cast, posts, rng.urls, rows)
    step("shares")
    background.share_background(params, people, weights, posts, groups, rng.shares, rows)
    step("recommendations")
    background.recommend_background(params, people, posts, rng.recommendations, rows)
    return World(params, rng, rows, people, cast, weights, posts, tags, domains)


def plant(world: World, step: Callable[[str], None] = _quiet) -> Planted:
    """Lay every planted structure into `world` (order matters: each claims accounts the next cannot use)."""
    step("clusters")
    planted_clusters = clusters.plant_clusters(world)
    step("trails")
    laid, bridges = trails.lay_trails(world, planted_clusters)
    step("teachers")
    classes = decoys.plant_teachers(world)
    step("groomers")
    groomed = contacts.plant_groomers(world)
    step("decoys")
    decoys.plant_benign_commenters(world)
    false_positives = decoys.plant_false_positive_labels(world)
    adv = None
    if world.params.adversarial:
        step("adversary")
        adv = adversary.plant_adversary(world, planted_clusters, laid)
    mixed = None
    if world.params.background_mix > 0:
        step("background mix")
        mixed = mix.mix_members(world, planted_clusters)
    unlabelled = clusters.unlabelled_members(world, planted_clusters)
    return Planted(planted_clusters, laid, bridges, groomed, classes, false_positives, mixed, adv, unlabelled)


def assemble(world: World, planted: Planted, step: Callable[[str], None] = _quiet) -> Snapshot:
    """The four tables and the truth (after the mega hashtags, which land on everything posted)."""
    step("mega hashtags")
    decoys.tag_mega_hashtags(world)
    step("content table")
    ids = tables.number_content(world)
    accounts = tables.accounts_table(world, ids)
    content = tables.content_table(world, ids)
    step("follows table")
    follows = tables.follows_table(world, ids)
    step("links table")
    links = tables.links_table(world, ids)
    step("truth")
    truth = build_truth(world, planted, ids)
    return Snapshot({"accounts": accounts, "content": content, "follows": follows, "links": links}, truth)


def synth(
    out_dir: Path,
    accounts: int = 20_000,
    seed: int = 0,
    fmt: str = "parquet",
    split: int = 0,
    force: bool = False,
    progress: Progress | None = None,
    background_mix: float = 0.0,
    world: str = DEFAULT_WORLD,
) -> SynthSummary:
    """Generate and write a synthetic snapshot (the library call behind `crumbgraph synth`)."""
    t0 = time.perf_counter()
    check_format(fmt)
    check_out_dir(Path(out_dir), force)  # fail before minutes of generating, not after
    params = SynthParams(accounts=accounts, seed=seed, background_mix=background_mix, world=world)
    snap = generate_snapshot(params, progress)
    files = write_snapshot(snap, out_dir, fmt, split, force, progress)
    t = snap.truth
    summary = SynthSummary(
        out_dir=Path(out_dir),
        format=fmt,
        rows={name: snap.tables[name].num_rows for name in tables.TABLES},
        files=files,
        seconds=time.perf_counter() - t0,
        truth_counts={key: len(t[key]) for key in ("clusters", "bridges", "relays", "trails", "contacts", "decoys")},
    )
    logger.info("synth: %s rows into %s in %.1f s", sum(summary.rows.values()), out_dir, summary.seconds)
    return summary
