"""Grooming-like contact: adults who follow and address many minors that are not connected to each
other (a class or team is densely connected; a groomer's contacts are not), weighted up by the
probability of reaching an abusive cluster from the adult's account."""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
from pydantic import Field
from scipy.sparse.csgraph import connected_components

from detectors.base import Detector, DetectorContext, DetectorOutput, DetectorParams, rnd
from detectors.clusters import account_owner, unique_pairs
from detectors.results import FlaggedAccount, Role
from graph.model import AgeBand, RelType
from graph.projection import REL_CODE, Projection, in_codes, isin_sorted, unique_ints

logger = logging.getLogger(__name__)

MINOR, ADULT, UNKNOWN = AgeBand.MINOR.code, AgeBand.ADULT.code, AgeBand.UNKNOWN.code


class GroomingParams(DetectorParams):
    contact_rels: tuple[RelType, ...] = Field(
        (RelType.FOLLOWS,),
        description="relationships that count as seeking contact with a minor (mentions while commenting are ordinary)",
    )
    min_minors: int = Field(10, ge=2, description="least distinct minors an account contacts")
    max_density: float = Field(
        0.1,
        ge=0,
        le=1,
        description="flag only when at most this share of the pairs of "
        "those minors follow each other (a class is dense)",
    )
    engage_rels: tuple[RelType, ...] = Field(
        (RelType.MENTIONS,), description="relationships that count as addressing a contacted minor directly"
    )
    min_engaged_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="flag only when at least this share of the contacted minors are also addressed directly",
    )
    include_unknown_age: bool = Field(False, description="treat accounts of unknown age as adults")
    path_weight: float = Field(10.0, ge=0, description="score multiplier (1 + path_weight * reach)")


class GroomingDetector(Detector[GroomingParams]):
    """Suspicious contact; see docs/detectors.md#grooming-like-contact."""

    name = "grooming"
    version = "1.0.0"
    Params = GroomingParams
    requires = ("pathways",)

    def run(self, projection: Projection, params: GroomingParams, context: DetectorContext) -> DetectorOutput:
        proj, p = projection, params
        reach = context.outputs["pathways"].state.get("reach")
        adults, minors = contact_pairs(proj, p)
        rows: list[FlaggedAccount] = []
        if adults.size:
            counts, share, cands = engaged_adults(proj, p, adults, minors)
            g = minor_follow_graph(proj)
            starts = np.searchsorted(adults, cands)
            for c, st in zip(cands.tolist(), starts.tolist()):
                row = _contact_row(proj, p, c, minors[st : st + counts[c]], g, float(share[c]), reach)
                if row is not None:
                    rows.append(row)
        out = DetectorOutput()
        out.sections.flagged_accounts = rows
        out.counts.update(suspicious_contacts=len(rows))
        logger.info("grooming: %d adults contact minors, %d suspicious contacts", unique_ints(adults).size, len(rows))
        return out


def contact_pairs(proj: Projection, p: GroomingParams) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (adult, minor) account pairs joined by a contact relationship, sorted by adult."""
    n_acc = proj.offsets[1]
    rels = in_codes(proj.etype, [REL_CODE[RelType(r).value] for r in p.contact_rels])
    a = account_owner(proj, proj.src[rels])
    b = proj.dst[rels].astype(np.int64)
    is_acc_b = b < n_acc
    a, b = a[is_acc_b], b[is_acc_b]
    adult_bands = (ADULT, UNKNOWN) if p.include_unknown_age else (ADULT,)
    ok = (a >= 0) & in_codes(proj.age_band[np.maximum(a, 0)], adult_bands) & (proj.age_band[b] == MINOR)
    return unique_pairs(a[ok], b[ok], n_acc)


def engaged_adults(
    proj: Projection, p: GroomingParams, adults: np.ndarray, minors: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(minors contacted per account, share of them also addressed directly, the candidate
    accounts: enough minors, enough of them addressed), matched by pair key, vectorised."""
    n_acc = proj.offsets[1]
    counts = np.bincount(adults, minlength=n_acc)
    er = in_codes(proj.etype, [REL_CODE[RelType(r).value] for r in p.engage_rels])
    ea, eb = account_owner(proj, proj.src[er]), proj.dst[er].astype(np.int64)
    eok = (ea >= 0) & (eb < n_acc)
    ekeys = unique_ints(ea[eok] * n_acc + eb[eok])
    engaged_pair = isin_sorted(adults * n_acc + minors, ekeys)
    n_engaged = np.bincount(adults[engaged_pair], minlength=n_acc)
    share = np.divide(n_engaged, counts, out=np.zeros(n_acc), where=counts > 0)
    cands = np.flatnonzero((counts >= p.min_minors) & (share >= p.min_engaged_share))
    return counts, share, cands


def minor_follow_graph(proj: Projection) -> sp.csr_matrix:
    """The undirected follow graph among minors (account x account)."""
    n_acc = proj.offsets[1]
    fol = proj.etype == REL_CODE[RelType.FOLLOWS.value]
    ms, md = proj.src[fol].astype(np.int64), proj.dst[fol].astype(np.int64)
    mm = (proj.age_band[ms] == MINOR) & (proj.age_band[md] == MINOR) & (md < n_acc) & (ms < n_acc)
    return sp.coo_matrix(
        (np.ones(int(mm.sum()) * 2), (np.r_[ms[mm], md[mm]], np.r_[md[mm], ms[mm]])), shape=(n_acc, n_acc)
    ).tocsr()


def _contact_row(
    proj: Projection,
    p: GroomingParams,
    account: int,
    minors: np.ndarray,
    g: sp.csr_matrix,
    engaged: float,
    reach: np.ndarray | None,
) -> FlaggedAccount | None:
    """The suspicious_contact entry of an account contacting `minors`, or None when those
    minors are densely connected (a class, a team)."""
    sub = g[minors][:, minors]
    pairs_linked = (sub + sub.T).count_nonzero() / 2
    density = pairs_linked / (minors.size * (minors.size - 1) / 2)
    if density > p.max_density:
        return None
    _, labels = connected_components(sub, directed=False)
    lcc = np.bincount(labels).max() / minors.size
    r = float(reach[account]) if reach is not None else 0.0
    base = minors.size * (1.0 - density) * engaged
    return FlaggedAccount(
        account_id=proj.node_id(account),
        score=rnd(base * (1.0 + p.path_weight * r)),
        role=Role.SUSPICIOUS_CONTACT,
        pathways=[],
        minors=int(minors.size),
        largest_connected_share=rnd(float(lcc)),
        density=rnd(float(density)),
        engaged_share=rnd(engaged),
        cluster_reach=rnd(r),
    )
