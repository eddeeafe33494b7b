"""The navigation model: which stored references a person can click, in which direction, and
with what probability (uniform among the steps in front of them, so hubs are near-zero steps)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from graph.model import RelType
from graph.projection import KIND_CODE, REL_CODE, Projection

Direction = Literal["forward", "backward"]


class StepRule(BaseModel):
    """One clickable step: walk a stored relationship `rel` forward (src -> dst) or backward
    (dst -> src). `weight` is its relative click preference (1 = uniform)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rel: RelType
    direction: Direction
    weight: float = Field(1.0, gt=0)
    lays_crumb: bool | None = Field(None, description="credit the reference's creator for this step (default: "
                                                      "forward steps except POSTED; see docs/detectors.md)")

    @property
    def credits_creator(self) -> bool:
        if self.lays_crumb is not None:
            return self.lays_crumb
        return self.direction == "forward" and self.rel != RelType.POSTED


#: The default model; see docs/detectors.md ("Navigation model").
DEFAULT_STEPS: tuple[StepRule, ...] = (
    StepRule(rel=RelType.POSTED, direction="forward"),       # account -> its posts and comments
    StepRule(rel=RelType.POSTED, direction="backward"),      # content -> its author
    StepRule(rel=RelType.REPLY_TO, direction="backward"),    # post -> comments / items under it
    StepRule(rel=RelType.REPLY_TO, direction="forward"),     # comment -> what it is under
    StepRule(rel=RelType.MENTIONS, direction="forward"),     # comment/bio -> mentioned account
    StepRule(rel=RelType.TAGGED, direction="forward"),       # content -> hashtag
    StepRule(rel=RelType.TAGGED, direction="backward"),      # hashtag -> content carrying it
    StepRule(rel=RelType.LINKS_TO, direction="forward"),     # content -> URL
    StepRule(rel=RelType.LINKS_TO, direction="backward"),    # URL -> content posting it
    StepRule(rel=RelType.BIO_LINK, direction="forward"),     # account -> URL in its bio
    StepRule(rel=RelType.BIO_LINK, direction="backward"),    # URL -> accounts with it in their bio
    StepRule(rel=RelType.FOLLOWS, direction="forward"),      # account -> whom it follows
    StepRule(rel=RelType.FOLLOWS, direction="backward"),     # account -> its followers
    StepRule(rel=RelType.SHARES, direction="forward"),       # share -> what it shares
    StepRule(rel=RelType.SHARES, direction="backward"),      # content -> shares of it
    StepRule(rel=RelType.REPLIES, direction="forward"),
    StepRule(rel=RelType.RECOMMENDS, direction="forward"),   # platform recommendation
    StepRule(rel=RelType.REFERENCES, direction="forward"),
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
        from scipy.sparse import _sparsetools   # scipy's C coo->csr: a stable counting sort

        order = np.empty(m, np.int64)
        _sparsetools.coo_tocsr(n, 1, m, keys.astype(np.int64), np.zeros(m, np.int64), np.arange(m, dtype=np.int64),
                               np.zeros(n + 1, np.int64), np.empty(m, np.int64), order)
    except (ImportError, AttributeError):   # private helper gone: fall back to a comparison sort
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
    """Derive the clickable steps of `proj` (vectorised, one mask per rule)."""
    creators = edge_creators(proj)
    parts_s, parts_d, parts_e, parts_f, parts_w, parts_c = [], [], [], [], [], []
    for rule in params.steps:
        e = np.flatnonzero(proj.etype == REL_CODE[rule.rel.value])
        fwd = rule.direction == "forward"
        s, d = (proj.src[e], proj.dst[e]) if fwd else (proj.dst[e], proj.src[e])
        keep = s != d
        parts_s.append(s[keep])
        parts_d.append(d[keep])
        parts_e.append(e[keep])
        parts_f.append(np.full(int(keep.sum()), fwd))
        parts_w.append(np.full(int(keep.sum()), rule.weight))
        parts_c.append(np.full(int(keep.sum()), rule.credits_creator))
    src = np.concatenate(parts_s).astype(np.int32) if parts_s else np.zeros(0, np.int32)
    dst = np.concatenate(parts_d).astype(np.int32) if parts_d else np.zeros(0, np.int32)
    edge = np.concatenate(parts_e).astype(np.int64) if parts_e else np.zeros(0, np.int64)
    fwd = np.concatenate(parts_f).astype(bool) if parts_f else np.zeros(0, bool)
    w = np.concatenate(parts_w).astype(np.float64) if parts_w else np.zeros(0)
    credit = np.concatenate(parts_c).astype(bool) if parts_c else np.zeros(0, bool)
    # CSR by src; a stable sort keeps rule order, then the canonical edge order, within a src
    n = proj.n_nodes
    order, indptr = group_order(src, n)
    src, dst, edge, fwd, w, credit = src[order], dst[order], edge[order], fwd[order], w[order], credit[order]
    total = np.bincount(src, weights=w, minlength=n)
    prob = w / total[src] if src.size else w
    cost = -np.log(prob)
    cost[cost < 0] = 0.0   # -log(1.0) may be -0.0
    return Navigation(n=n, src=src, dst=dst, edge=edge, forward=fwd, prob=prob, cost=cost,
                      creator=creators[edge] if edge.size else np.zeros(0, np.int32), credit=credit, indptr=indptr)
