"""The navigation model: which stored references a person can click, in which direction, and
with what probability (uniform among the steps in front of them, so hubs are near-zero steps)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from graph.model import Direction, RelType
from graph.projection import KIND_CODE, REL_CODE, Projection

logger = logging.getLogger(__name__)


class StepRule(BaseModel):
    """One clickable step: walk a stored relationship `rel` forward (src -> dst) or backward
    (dst -> src). `weight` is its relative click preference (1 = uniform)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rel: RelType
    direction: Direction
    weight: float = Field(default=1.0, gt=0)
    lays_crumb: bool | None = Field(
        default=None,
        description="credit the reference's creator for this step (default: "
        "forward steps except POSTED; see docs/detectors.md)",
    )

    @property
    def credits_creator(self) -> bool:
        if self.lays_crumb is not None:
            return self.lays_crumb
        return self.direction == Direction.FORWARD and self.rel != RelType.POSTED


#: The default model; see docs/detectors.md ("Navigation model").
DEFAULT_STEPS: tuple[StepRule, ...] = (
    StepRule(rel=RelType.POSTED, direction=Direction.FORWARD),  # account -> its posts and comments
    StepRule(rel=RelType.POSTED, direction=Direction.BACKWARD),  # content -> its author
    StepRule(rel=RelType.REPLY_TO, direction=Direction.BACKWARD),  # post -> comments / items under it
    StepRule(rel=RelType.REPLY_TO, direction=Direction.FORWARD),  # comment -> what it is under
    StepRule(rel=RelType.MENTIONS, direction=Direction.FORWARD),  # comment/bio -> mentioned account
    StepRule(rel=RelType.TAGGED, direction=Direction.FORWARD),  # content -> hashtag
    StepRule(rel=RelType.TAGGED, direction=Direction.BACKWARD),  # hashtag -> content carrying it
    StepRule(rel=RelType.LINKS_TO, direction=Direction.FORWARD),  # content -> URL
    StepRule(rel=RelType.LINKS_TO, direction=Direction.BACKWARD),  # URL -> content posting it
    StepRule(rel=RelType.BIO_LINK, direction=Direction.FORWARD),  # account -> URL in its bio
    StepRule(rel=RelType.BIO_LINK, direction=Direction.BACKWARD),  # URL -> accounts with it in their bio
    StepRule(rel=RelType.FOLLOWS, direction=Direction.FORWARD),  # account -> whom it follows
    StepRule(rel=RelType.FOLLOWS, direction=Direction.BACKWARD),  # account -> its followers
    StepRule(rel=RelType.SHARES, direction=Direction.FORWARD),  # share -> what it shares
    StepRule(rel=RelType.SHARES, direction=Direction.BACKWARD),  # content -> shares of it
    StepRule(rel=RelType.REPLIES, direction=Direction.FORWARD),
    StepRule(rel=RelType.RECOMMENDS, direction=Direction.FORWARD),  # platform recommendation
    StepRule(rel=RelType.REFERENCES, direction=Direction.FORWARD),
)

#: Relationship types laid by the platform, not by an account (no creator to blame).
PLATFORM_RELS: frozenset[RelType] = frozenset({RelType.RECOMMENDS})


class NavigationParams(BaseModel):
    """Parameters of the navigation model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    steps: tuple[StepRule, ...] = DEFAULT_STEPS


@dataclass(frozen=True, eq=False)
class Navigation:
    """Directed clickable steps grouped by src (CSR `indptr`), in rule order then edge order.

    `edge` is the index of the stored relationship in the projection, `forward` its direction,
    `cost` = -log(probability of taking this step from src), `creator` the account vid that
    created the reference (-1 for platform-made ones), `credit` whether taking the step
    credits that creator with laying a crumb."""

    n: int
    src: np.ndarray
    dst: np.ndarray
    edge: np.ndarray
    forward: np.ndarray
    prob: np.ndarray
    cost: np.ndarray
    creator: np.ndarray
    credit: np.ndarray
    indptr: np.ndarray

    def matrix(self) -> sp.csr_matrix:
        """Row-stochastic transition matrix (duplicate steps summed)."""
        return sp.csr_matrix((self.prob, self.dst, self.indptr), shape=(self.n, self.n))

    def reverse_index(self) -> tuple[np.ndarray, np.ndarray]:
        """(order, indptr) grouping step indices by dst: steps into v are order[indptr[v]:indptr[v+1]]."""
        return group_order(self.dst, self.n)


def group_order(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A stable counting sort of `keys` in [0, n): (order, indptr) with keys[order] ascending and
    the positions of key k at order[indptr[k]:indptr[k+1]], in their original order. O(len + n),
    several times faster than a comparison sort at 10M+ keys."""
    m = int(keys.size)
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=indptr[1:])
    try:
        from scipy.sparse import _sparsetools  # scipy's C coo->csr: a stable counting sort

        order = np.empty(m, np.int64)
        _sparsetools.coo_tocsr(
            n,
            1,
            m,
            keys.astype(np.int64),
            np.zeros(m, np.int64),
            np.arange(m, dtype=np.int64),
            np.zeros(n + 1, np.int64),
            np.empty(m, np.int64),
            order,
        )
    except (ImportError, AttributeError):  # private helper gone: fall back to a comparison sort
        order = np.argsort(keys, kind="stable").astype(np.int64)
    return order, indptr


def edge_creators(proj: Projection) -> np.ndarray:
    """Account vid that created each stored edge: the src account, or the author of the src content."""
    src = proj.src.astype(np.int64)
    creator = np.where(proj.kind[src] == KIND_CODE["account"], src, proj.author[src].astype(np.int64))
    for rel in PLATFORM_RELS:
        creator[proj.etype == REL_CODE[rel.value]] = -1
    return creator.astype(np.int32)


def build_navigation(proj: Projection, params: NavigationParams) -> Navigation:
    """Derive the clickable steps of `proj` (vectorised: edges grouped by type once, one slice per rule)."""
    n = proj.n_nodes
    by_type, type_ptr = group_order(proj.etype.astype(np.int64), len(REL_CODE))
    rules = params.steps
    parts_e, parts_r = [], []
    for i, step in enumerate(rules):
        code = REL_CODE[step.rel.value]
        e = by_type[type_ptr[code] : type_ptr[code + 1]]
        e = e[proj.src[e] != proj.dst[e]]
        parts_e.append(e)
        parts_r.append(np.full(e.size, i, np.int16))
    edge = np.concatenate(parts_e) if parts_e else np.zeros(0, np.int64)
    rule = np.concatenate(parts_r) if parts_r else np.zeros(0, np.int16)
    fwd_of = np.array([r.direction == Direction.FORWARD for r in rules] or [True], bool)
    fwd = fwd_of[rule]
    src = np.where(fwd, proj.src[edge], proj.dst[edge]).astype(np.int32)
    # CSR by src; a stable sort keeps rule order, then the canonical edge order, within a src
    order, indptr = group_order(src, n)
    edge, rule, src = edge[order], rule[order], src[order]
    fwd = fwd_of[rule]
    dst = np.where(fwd, proj.dst[edge], proj.src[edge]).astype(np.int32)
    w = np.array([r.weight for r in rules] or [1.0], np.float64)[rule]
    credit = np.array([r.credits_creator for r in rules] or [False], bool)[rule]
    total = np.bincount(src, weights=w, minlength=n)
    prob = w / total[src] if src.size else w
    cost = -np.log(prob)
    cost[cost < 0] = 0.0  # -log(1.0) may be -0.0
    logger.info("navigation: %d clickable steps over %d edges (%d step rules)", src.size, proj.n_edges, len(rules))
    return Navigation(
        n=n,
        src=src,
        dst=dst,
        edge=edge,
        forward=fwd,
        prob=prob,
        cost=cost,
        creator=edge_creators(proj)[edge] if edge.size else np.zeros(0, np.int32),
        credit=credit,
        indptr=indptr,
    )
