"""Grooming-like contact: adults who both follow and address many minors that do not know each
other (a class, a team or a family is one connected group; a groomer's contacts are not), with or
without a tie to a cluster, weighted up by the probability of reaching a cluster from the adult."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from pydantic import Field
from scipy.sparse.csgraph import connected_components

from detectors.base import Detector, DetectorContext, DetectorOutput, DetectorParams, rnd
from detectors.clusters import account_owner, interaction_matrix
from detectors.results import FlaggedAccount, Role
from graph.model import AgeBand, RelType
from graph.projection import REL_CODE, Projection, in_codes, isin_sorted, unique_ints

logger = logging.getLogger(__name__)

MINOR, ADULT, UNKNOWN = AgeBand.MINOR.code, AgeBand.ADULT.code, AgeBand.UNKNOWN.code


class GroomingParams(DetectorParams):
    contact_rels: tuple[RelType, ...] = Field(
        (RelType.FOLLOWS,),
        description="relationships by which an account seeks ongoing contact with a minor (its follows)",
    )
    engage_rels: tuple[RelType, ...] = Field(
        (RelType.MENTIONS, RelType.REPLY_TO),
        description="relationships by which an account addresses a minor directly: mentioning it, "
        "commenting under its content",
    )
    min_minors: int = Field(10, ge=2, description="least distinct minors an account follows or addresses")
    min_engaged_minors: int = Field(
        8,
        ge=1,
        description="flag only when at least this many of those minors are both followed and addressed "
        "(a fan follows without addressing; a commenter on child-oriented posts addresses without following)",
    )
    max_connected_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="flag only when the largest connected group those minors form among themselves "
        "(follows, mentions, comments between them) holds at most this share of them (a class is one group)",
    )
    include_unknown_age: bool = Field(False, description="treat accounts of unknown age as adults")
    path_weight: float = Field(10.0, ge=0, description="score multiplier (1 + path_weight * reach)")


@dataclass(frozen=True)
class Contacts:
    """Distinct (adult, minor) pairs sorted by adult then minor, with which way each was made."""

    adults: np.ndarray
    minors: np.ndarray
    followed: np.ndarray  # bool per pair: a contact_rels relationship (a follow)
    addressed: np.ndarray  # bool per pair: an engage_rels relationship (a mention, a comment)


class GroomingDetector(Detector[GroomingParams]):
    """Suspicious contact; see docs/detectors.md#grooming-like-contact."""

    name = "grooming"
    version = "2.0.0"
    Params = GroomingParams
    requires = ("pathways",)

    def run(self, projection: Projection, params: GroomingParams, context: DetectorContext) -> DetectorOutput:
        """Flag the adults whose contacts with minors fit the pattern; the graph of who knows whom
        is the clusters detector's interaction graph when it built one (its `interaction` state)."""
        proj, p = projection, params
        reach = context.outputs["pathways"].state.get("reach")
        clusters = context.outputs.get("clusters")
        c = contact_pairs(proj, p)
        rows: list[FlaggedAccount] = []
        if c.adults.size:
            cands, starts, counts = candidate_adults(proj, p, c)
            known = clusters.state.get("interaction") if clusters is not None else None
            g = known if known is not None else undirected(interaction_matrix(proj, 2, co_use=False))
            for a, st, k in zip(cands.tolist(), starts.tolist(), counts.tolist()):
                row = _contact_row(proj, p, a, c, slice(st, st + k), g, reach)
                if row is not None:
                    rows.append(row)
        out = DetectorOutput()
        out.sections.flagged_accounts = rows
        out.counts.update(suspicious_contacts=len(rows))
        logger.info("grooming: %d adults contact minors, %d suspicious contacts", unique_ints(c.adults).size, len(rows))
        return out


def _rel_pairs(proj: Projection, rels: tuple[RelType, ...], adult_ok: np.ndarray) -> np.ndarray:
    """Sorted distinct adult * n_acc + minor keys of `rels` from an account (or its content) to a
    minor (or a minor's content). Minors first: they are the few ends."""
    n_acc = proj.offsets[1]
    sel = np.flatnonzero(in_codes(proj.etype, [REL_CODE[RelType(r).value] for r in rels]))
    b = account_owner(proj, proj.dst[sel])
    minor = b >= 0
    minor[minor] = proj.age_band[b[minor]] == MINOR
    sel, b = sel[minor], b[minor]
    a = account_owner(proj, proj.src[sel])
    ok = a >= 0
    ok[ok] = adult_ok[a[ok]]
    return unique_ints(a[ok] * n_acc + b[ok])


def contact_pairs(proj: Projection, p: GroomingParams) -> Contacts:
    """Every (adult, minor) pair joined by a follow or by direct address, and how."""
    n_acc = proj.offsets[1]
    adult_bands = (ADULT, UNKNOWN) if p.include_unknown_age else (ADULT,)
    adult_ok = in_codes(proj.age_band[:n_acc], adult_bands)
    fol = _rel_pairs(proj, p.contact_rels, adult_ok)
    eng = _rel_pairs(proj, p.engage_rels, adult_ok)
    keys = unique_ints(np.concatenate([fol, eng]))
    return Contacts(keys // n_acc, keys % n_acc, isin_sorted(keys, fol), isin_sorted(keys, eng))


def candidate_adults(proj: Projection, p: GroomingParams, c: Contacts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(adults with enough minors, enough of them both followed and addressed; the start of each
    one's pairs in `c`; how many pairs), vectorised."""
    n_acc = proj.offsets[1]
    counts = np.bincount(c.adults, minlength=n_acc)
    both = np.bincount(c.adults[c.followed & c.addressed], minlength=n_acc)
    cands = np.flatnonzero((counts >= p.min_minors) & (both >= p.min_engaged_minors))
    return cands, np.searchsorted(c.adults, cands), counts[cands]


def undirected(directed: sp.csr_matrix) -> sp.csr_matrix:
    return (directed + directed.T).tocsr()


def _contact_row(
    proj: Projection,
    p: GroomingParams,
    account: int,
    c: Contacts,
    pairs: slice,
    g: sp.csr_matrix,
    reach: np.ndarray | None,
) -> FlaggedAccount | None:
    """The suspicious_contact entry of an account, or None when the minors it contacts form one
    connected group (a class, a team, a family): minors who follow, mention, reply to or share
    one another in `g`, the undirected account interaction graph."""
    minors = c.minors[pairs]
    sub = g[minors][:, minors]
    n_groups, labels = connected_components(sub, directed=False)
    lcc = np.bincount(labels).max() / minors.size
    if lcc > p.max_connected_share:
        return None
    density = (sub > 0).sum() / 2 / (minors.size * (minors.size - 1) / 2)
    followed, addressed = c.followed[pairs], c.addressed[pairs]
    engaged = float(np.count_nonzero(followed & addressed)) / minors.size
    r = float(reach[account]) if reach is not None else 0.0
    return FlaggedAccount(
        account_id=proj.node_id(account),
        score=rnd(n_groups * engaged * (1.0 + p.path_weight * r)),
        role=Role.SUSPICIOUS_CONTACT,
        pathways=[],
        minors=int(minors.size),
        largest_connected_share=rnd(float(lcc)),
        density=rnd(float(density)),
        engaged_share=rnd(engaged),
        cluster_reach=rnd(r),
        followed_minors=int(np.count_nonzero(followed)),
        addressed_minors=int(np.count_nonzero(addressed)),
        minor_groups=int(n_groups),
    )
