"""Abusive clusters: deterministic Leiden over the account-interaction graph around accounts that
post abusive-labelled content, scored by confidence-weighted abusive-label mass."""

from __future__ import annotations

import random
from typing import Any

import igraph
import numpy as np
import scipy.sparse as sp
from pydantic import Field

from detectors.base import Detector, DetectorContext, DetectorOutput, DetectorParams, rnd, short_hash
from detectors.navigation import group_order
from graph.model import ContentLabel, RelType
from graph.projection import KIND_CODE, REL_CODE, Projection, in_codes, unique_ints

ABUSIVE = ContentLabel.ABUSIVE.code
#: stored relationships that count as an interaction between the accounts owning both ends
INTERACTION_RELS = (
    RelType.FOLLOWS,
    RelType.MENTIONS,
    RelType.REPLY_TO,
    RelType.SHARES,
    RelType.REPLIES,
    RelType.REFERENCES,
)
#: relationships whose (rare) url/hashtag target, used by several accounts, ties those accounts
CO_USE_RELS = (RelType.LINKS_TO, RelType.BIO_LINK, RelType.TAGGED)


class ClusterParams(DetectorParams):
    hops: int = Field(1, ge=0, le=3, description="interaction hops around labelled accounts to consider")
    max_degree: int = Field(
        200,
        ge=1,
        description="accounts with more distinct interaction partners are hubs: "
        "never expanded through nor clustered (unless labelled)",
    )
    max_co_use: int = Field(50, ge=2, description="a url/hashtag used by at most this many accounts ties them")
    resolution: float = Field(1.0, gt=0)
    beta: float = Field(0.01, gt=0)
    n_iterations: int = Field(-1, description="Leiden iterations; -1 = until stable")
    seed: int = 42
    min_members: int = Field(3, ge=1)
    min_labelled_members: int = Field(2, ge=1, description="accounts with abusive-label mass a cluster needs")
    co_use: bool = Field(
        False,
        description="tie accounts that use the same rare url/hashtag (off: a bridge "
        "using a cluster's invite URL would look like a member)",
    )
    min_member_in_links: int = Field(
        2, ge=0, description="an account joins only if at least this many other members follow/mention/reply to it"
    )
    min_member_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="an account joins only if this share of the interaction weight directed at it comes from members",
    )
    min_owned_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="a url/hashtag belongs to a cluster when this share of the accounts using it are members",
    )


def account_owner(proj: Projection, vids: np.ndarray) -> np.ndarray:
    """Account vid owning each node (itself, or the author of content; -1 for urls/hashtags)."""
    vids = vids.astype(np.int64)
    k = proj.kind[vids]
    return np.where(
        k == KIND_CODE["account"], vids, np.where(k == KIND_CODE["content"], proj.author[vids].astype(np.int64), -1)
    )


def unique_pairs(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (a, b) pairs of ints in [0, n), sorted by a then b (one int64 key, one sort)."""
    key = unique_ints(a.astype(np.int64) * n + b.astype(np.int64))
    return key // n, key % n


def interaction_matrix(proj: Projection, max_co_use: int, co_use: bool) -> sp.csr_matrix:
    """Directed weighted account x account interaction counts (account index = vid): row a,
    column b counts a's follows/mentions/replies/shares of b (and, with `co_use`, rare
    urls/hashtags both use, in both directions)."""
    n_acc = proj.offsets[1]
    rels = in_codes(proj.etype, [REL_CODE[r.value] for r in INTERACTION_RELS])
    a = account_owner(proj, proj.src[rels])
    b = account_owner(proj, proj.dst[rels])
    parts_a, parts_b = [a], [b]
    use = in_codes(proj.etype, [REL_CODE[r.value] for r in CO_USE_RELS])
    users = account_owner(proj, proj.src[use])
    token = proj.dst[use].astype(np.int64)
    ok = users >= 0
    if co_use and ok.any():
        tok, usr = unique_pairs(token[ok], users[ok], proj.n_nodes)
        starts = np.flatnonzero(np.r_[True, tok[1:] != tok[:-1]])
        sizes = np.diff(np.r_[starts, tok.size])
        for s, c in zip(
            starts[(sizes >= 2) & (sizes <= max_co_use)].tolist(), sizes[(sizes >= 2) & (sizes <= max_co_use)].tolist()
        ):
            u = usr[s : s + c]
            i, j = np.triu_indices(c, 1)
            parts_a += [u[i], u[j]]
            parts_b += [u[j], u[i]]
    a = np.concatenate(parts_a)
    b = np.concatenate(parts_b)
    ok = (a >= 0) & (b >= 0) & (a != b)
    a, b = a[ok], b[ok]
    m = sp.coo_matrix((np.ones(a.size), (a, b)), shape=(n_acc, n_acc)).tocsr()
    m.sum_duplicates()
    return m


def _leiden(n: int, rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, p: ClusterParams) -> np.ndarray:
    g = igraph.Graph(n=n, edges=np.column_stack([rows, cols]), directed=False)
    g.es["weight"] = weights
    rng = random.Random(p.seed)
    igraph.set_random_number_generator(rng)
    try:
        part = g.community_leiden(
            objective_function="modularity",
            weights="weight",
            resolution=p.resolution,
            beta=p.beta,
            n_iterations=p.n_iterations,
        )
    finally:
        igraph.set_random_number_generator(random)
    return np.asarray(part.membership, dtype=np.int64)


class ClusterDetector(Detector):
    """Finds abusive clusters; see docs/detectors.md#abusive-clusters."""

    name = "clusters"
    version = "1.1.0"
    Params = ClusterParams

    def run(self, projection: Projection, params: ClusterParams, context: DetectorContext) -> DetectorOutput:
        proj, p = projection, params
        n_acc = proj.offsets[1]
        # abusive-label mass per account
        cvids = np.arange(proj.offsets[1], proj.offsets[2])
        abusive = cvids[proj.label[cvids] == ABUSIVE]
        authors = proj.author[abusive]
        okc = authors >= 0
        mass = np.bincount(authors[okc], weights=proj.label_confidence[abusive][okc], minlength=n_acc)[:n_acc]
        seeds = np.flatnonzero(mass > 0)
        out = DetectorOutput()
        if seeds.size == 0 or n_acc == 0:
            out.state.update(clusters=[], member_cluster=np.full(proj.n_nodes, -1, np.int32), mass=mass)
            out.sections["clusters"] = []
            out.counts["clusters"] = 0
            return out
        directed = interaction_matrix(proj, p.max_co_use, p.co_use)
        m = (directed + directed.T).tocsr()
        degree = np.diff(m.indptr)
        region = np.zeros(n_acc, bool)
        region[seeds] = True
        frontier = seeds
        for _ in range(p.hops):
            expand = frontier[degree[frontier] <= p.max_degree] if frontier.size else frontier
            nbrs = unique_ints(m[expand].indices) if expand.size else np.zeros(0, np.int64)
            nbrs = nbrs[~region[nbrs] & (degree[nbrs] <= p.max_degree)]
            region[nbrs] = True
            frontier = nbrs
        rv = np.flatnonzero(region)
        sub = m[rv][:, rv].tocoo()
        upper = sub.row < sub.col
        membership = _leiden(rv.size, sub.row[upper], sub.col[upper], sub.data[upper], p)
        indeg = np.asarray(directed.sum(axis=0)).ravel()  # interaction weight directed at each account
        clusters: list[dict[str, Any]] = []
        assigned = np.zeros(n_acc, bool)
        for comm in unique_ints(membership).tolist():
            members = rv[membership == comm]
            if np.count_nonzero(mass[members] > 0) < p.min_labelled_members:
                continue
            # labelled or not, a member must be vouched for by the other members: at least
            # min_member_in_links of them follow/mention/reply to it, and at least min_member_share
            # of what all accounts direct at it comes from them (what it does itself, e.g. following
            # or commenting on ordinary accounts, does not count against it). Repeated against the
            # kept members until stable, so dropped accounts vouch for nobody. An isolated
            # (false-positive) label that Leiden attached to a cluster does not join.
            while members.size:
                inner = directed[members][:, members]
                w_in = np.asarray(inner.sum(axis=0)).ravel()
                share = np.divide(w_in, indeg[members], out=np.zeros(members.size), where=indeg[members] > 0)
                in_links = np.asarray((inner > 0).sum(axis=0)).ravel()
                keep = (share >= p.min_member_share) & (in_links >= p.min_member_in_links)
                if keep.all():
                    break
                members = members[keep]
            if members.size == 0:
                continue
            # one re-admission pass: region accounts Leiden put elsewhere (it can split a small
            # dense group) that meet the same test against the kept members join too
            w_all = np.asarray(directed[members].sum(axis=0)).ravel()
            in_all = np.asarray((directed[members] > 0).sum(axis=0)).ravel()
            share_all = np.divide(w_all, indeg, out=np.zeros(n_acc), where=indeg > 0)
            extra = np.flatnonzero(
                region & ~assigned & (share_all >= p.min_member_share) & (in_all >= p.min_member_in_links)
            )
            members = unique_ints(np.concatenate([members, extra]))
            if members.size < p.min_members or np.count_nonzero(mass[members] > 0) < p.min_labelled_members:
                continue
            assigned[members] = True
            clusters.append({"members": members, "score": float(mass[members].sum())})
        # ownership: content of members, and urls/hashtags used mostly by members
        member_cluster = np.full(proj.n_nodes, -1, np.int32)
        ids_sorted = []
        for c in clusters:
            c["ids"] = proj.id_list(c["members"])
            c["cluster_id"] = "cluster-" + short_hash(*c["ids"])
            ids_sorted.append(c)
        clusters = sorted(ids_sorted, key=lambda c: (-c["score"], c["cluster_id"]))
        for i, c in enumerate(clusters):
            member_cluster[c["members"]] = i
        content_owner = np.full(proj.n_nodes, -1, np.int32)
        auth = proj.author[cvids]
        has = auth >= 0
        content_owner[cvids[has]] = member_cluster[auth[has]]
        use = in_codes(proj.etype, [REL_CODE[r.value] for r in CO_USE_RELS])
        users = account_owner(proj, proj.src[use])
        tokens = proj.dst[use].astype(np.int64)
        ok = users >= 0
        token_owner = np.full(proj.n_nodes, -1, np.int32)
        if ok.any() and clusters:
            tok, usr = unique_pairs(tokens[ok], users[ok], proj.n_nodes)
            n_users = np.bincount(tok, minlength=proj.n_nodes)
            cl = member_cluster[usr].astype(np.int64)
            mine = cl >= 0
            # members of each cluster using each token, as one (token, cluster) key count
            n_cl = len(clusters)
            key = tok[mine] * n_cl + cl[mine]
            key.sort()
            starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
            cnt = np.diff(np.r_[starts, key.size])
            t_, c_ = key[starts] // n_cl, key[starts] % n_cl
            share = cnt / n_users[t_]
            keep = share >= p.min_owned_share
            t_, c_, share = t_[keep], c_[keep], share[keep]
            best = np.lexsort((c_, -share, t_))  # per token: highest share, then lowest cluster
            t_, c_ = t_[best], c_[best]
            first = np.r_[True, t_[1:] != t_[:-1]] if t_.size else np.zeros(0, bool)
            token_owner[t_[first]] = c_[first]
        owner = np.where(member_cluster >= 0, member_cluster, np.where(content_owner >= 0, content_owner, token_owner))
        section = []
        owned = np.flatnonzero(owner >= 0)
        by_cluster, ptr = group_order(owner[owned].astype(np.int64), max(len(clusters), 1))
        for i, c in enumerate(clusters):
            nodes = owned[by_cluster[ptr[i] : ptr[i + 1]]]
            kinds = proj.kind[nodes]
            content = nodes[kinds == KIND_CODE["content"]]
            urls = nodes[kinds == KIND_CODE["url"]]
            tags = nodes[kinds == KIND_CODE["hashtag"]]
            labelled = int(np.count_nonzero(mass[c["members"]] > 0))
            c.update(content_vids=content, url_vids=urls, tag_vids=tags, target_vids=nodes)
            section.append(
                {
                    "cluster_id": c["cluster_id"],
                    "accounts": sorted(c["ids"]),
                    "content": sorted(proj.id_list(content)),
                    "urls": sorted(proj.id_list(urls)),
                    "hashtags": sorted(proj.id_list(tags)),
                    "score": rnd(c["score"]),
                    "labelled_accounts": labelled,
                    "unlabelled_accounts": int(c["members"].size - labelled),
                }
            )
        out.sections["clusters"] = section
        out.state.update(clusters=clusters, member_cluster=member_cluster, owner=owner, mass=mass)
        out.counts.update(clusters=len(clusters), cluster_region_accounts=int(rv.size))
        return out
