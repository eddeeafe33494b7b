"""Grooming-like contact: adults who follow and address many minors that are not connected to each
other (a class or team is densely connected; a groomer's contacts are not), weighted up by the
probability of reaching an abusive cluster from the adult's account."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import Field
from scipy.sparse.csgraph import connected_components

from detectors.base import Detector, DetectorContext, DetectorOutput, DetectorParams, rnd
from detectors.clusters import account_owner, unique_pairs
from graph.model import AgeBand, RelType
from graph.projection import REL_CODE, Projection, in_codes, isin_sorted, unique_ints

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


class GroomingDetector(Detector):
    """Suspicious contact; see docs/detectors.md#grooming-like-contact."""

    name = "grooming"
    version = "1.0.0"
    Params = GroomingParams
    requires = ("pathways",)

    def run(self, projection: Projection, params: GroomingParams, context: DetectorContext) -> DetectorOutput:
        proj, p = projection, params
        n_acc = proj.offsets[1]
        reach = context.outputs["pathways"].state.get("reach")
        out = DetectorOutput()
        rels = in_codes(proj.etype, [REL_CODE[RelType(r).value] for r in p.contact_rels])
        a = account_owner(proj, proj.src[rels])
        b = proj.dst[rels].astype(np.int64)
        is_acc_b = b < n_acc
        a, b = a[is_acc_b], b[is_acc_b]
        adult_bands = (ADULT, UNKNOWN) if p.include_unknown_age else (ADULT,)
        ok = (a >= 0) & in_codes(proj.age_band[np.maximum(a, 0)], adult_bands) & (proj.age_band[b] == MINOR)
        pa_, pb_ = unique_pairs(a[ok], b[ok], n_acc)
        rows: list[dict[str, Any]] = []
        if pa_.size:
            counts = np.bincount(pa_, minlength=n_acc)
            # which contacted minors the account also addresses directly (vectorised, by pair key)
            er = in_codes(proj.etype, [REL_CODE[RelType(r).value] for r in p.engage_rels])
            ea, eb = account_owner(proj, proj.src[er]), proj.dst[er].astype(np.int64)
            eok = (ea >= 0) & (eb < n_acc)
            ekeys = unique_ints(ea[eok] * n_acc + eb[eok])
            engaged_pair = isin_sorted(pa_ * n_acc + pb_, ekeys)
            n_engaged = np.bincount(pa_[engaged_pair], minlength=n_acc)
            share = np.divide(n_engaged, counts, out=np.zeros(n_acc), where=counts > 0)
            cands = np.flatnonzero((counts >= p.min_minors) & (share >= p.min_engaged_share))
            # undirected follow graph among minors
            fol = proj.etype == REL_CODE[RelType.FOLLOWS.value]
            ms, md = proj.src[fol].astype(np.int64), proj.dst[fol].astype(np.int64)
            mm = (proj.age_band[ms] == MINOR) & (proj.age_band[md] == MINOR) & (md < n_acc) & (ms < n_acc)
            g = sp.coo_matrix(
                (np.ones(int(mm.sum()) * 2), (np.r_[ms[mm], md[mm]], np.r_[md[mm], ms[mm]])), shape=(n_acc, n_acc)
            ).tocsr()
            starts = np.searchsorted(pa_, cands)
            for c, st in zip(cands.tolist(), starts.tolist()):
                minors = pb_[st : st + counts[c]]
                sub = g[minors][:, minors]
                pairs_linked = (sub + sub.T).count_nonzero() / 2
                density = pairs_linked / (minors.size * (minors.size - 1) / 2)
                if density > p.max_density:
                    continue
                _, labels = connected_components(sub, directed=False)
                lcc = np.bincount(labels).max() / minors.size
                eng = float(share[c])
                r = float(reach[c]) if reach is not None else 0.0
                base = minors.size * (1.0 - density) * eng
                rows.append(
                    {
                        "account_id": proj.node_id(c),
                        "score": rnd(base * (1.0 + p.path_weight * r)),
                        "role": "suspicious_contact",
                        "pathways": [],
                        "minors": int(minors.size),
                        "largest_connected_share": rnd(float(lcc)),
                        "density": rnd(float(density)),
                        "engaged_share": rnd(eng),
                        "cluster_reach": rnd(r),
                    }
                )
        out.sections["flagged_accounts"] = rows
        out.counts.update(suspicious_contacts=len(rows))
        return out
