"""Abusive clusters: deterministic Leiden over the account-interaction graph around accounts that
post abusive-labelled content, scored by confidence-weighted abusive-label mass."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field

import igraph
import numpy as np
import scipy.sparse as sp
from pydantic import Field

from detectors.base import Detector, DetectorContext, DetectorOutput, DetectorParams, rnd, short_hash
from detectors.navigation import group_order
from detectors.results import Cluster
from graph.model import ContentLabel, RelType
from graph.projection import KIND_CODE, REL_CODE, Projection, in_codes, unique_ints

logger = logging.getLogger(__name__)

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


@dataclass
class FoundCluster:
    """A cluster as later detectors read it (detector state, never written): member vids, score,
    sorted-by-vid member ids, its id, and every node it owns (the targets of pathways)."""

    members: np.ndarray
    score: float
    ids: list[str] = field(default_factory=list)
    cluster_id: str = ""
    target_vids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def abusive_mass(proj: Projection) -> np.ndarray:
    """Per account vid: the summed label confidence of its abusive-labelled content."""
    n_acc = proj.offsets[1]
    cvids = np.arange(proj.offsets[1], proj.offsets[2])
    abusive = cvids[proj.label[cvids] == ABUSIVE]
    authors = proj.author[abusive]
    ok = authors >= 0
    mass = np.bincount(authors[ok], weights=proj.label_confidence[abusive][ok], minlength=n_acc)[:n_acc]
    return np.asarray(mass, np.float64)


def expand_region(m: sp.csr_matrix, seeds: np.ndarray, p: ClusterParams) -> np.ndarray:
    """Boolean mask of the seeds plus `hops` interaction hops around them, never expanding
    through or adding hubs (more than `max_degree` distinct partners)."""
    degree = np.diff(m.indptr)
    region = np.zeros(m.shape[0], bool)
    region[seeds] = True
    frontier = seeds
    for _ in range(p.hops):
        expand = frontier[degree[frontier] <= p.max_degree] if frontier.size else frontier
        nbrs = unique_ints(m[expand].indices) if expand.size else np.zeros(0, np.int64)
        nbrs = nbrs[~region[nbrs] & (degree[nbrs] <= p.max_degree)]
        region[nbrs] = True
        frontier = nbrs
    return region


def vouched_members(members: np.ndarray, directed: sp.csr_matrix, indeg: np.ndarray, p: ClusterParams) -> np.ndarray:
    """The members the others vouch for. Labelled or not, a member needs at least
    min_member_in_links other members following/mentioning/replying to it, and at least
    min_member_share of what all accounts direct at it coming from them (what it does itself,
    e.g. following or commenting on ordinary accounts, does not count against it). Repeated
    against the kept members until stable, so dropped accounts vouch for nobody: an isolated
    (false-positive) label that Leiden attached to a cluster does not join."""
    while members.size:
        inner = directed[members][:, members]
        w_in = np.asarray(inner.sum(axis=0)).ravel()
        share = np.divide(w_in, indeg[members], out=np.zeros(members.size), where=indeg[members] > 0)
        in_links = np.asarray((inner > 0).sum(axis=0)).ravel()
        keep = (share >= p.min_member_share) & (in_links >= p.min_member_in_links)
        if keep.all():
            break
        members = members[keep]
    return members


def readmitted(
    members: np.ndarray, directed: sp.csr_matrix, indeg: np.ndarray, candidates: np.ndarray, p: ClusterParams
) -> np.ndarray:
    """One re-admission pass: `candidates` (region accounts Leiden put elsewhere and no cluster
    took; it can split a small dense group) that meet the vouching test against the kept members."""
    w_all = np.asarray(directed[members].sum(axis=0)).ravel()
    in_all = np.asarray((directed[members] > 0).sum(axis=0)).ravel()
    share_all = np.divide(w_all, indeg, out=np.zeros(indeg.size), where=indeg > 0)
    return np.flatnonzero(candidates & (share_all >= p.min_member_share) & (in_all >= p.min_member_in_links))


def find_clusters(
    directed: sp.csr_matrix, m: sp.csr_matrix, region: np.ndarray, mass: np.ndarray, p: ClusterParams
) -> list[FoundCluster]:
    """Leiden over the region of the undirected interaction graph `m`, then the cluster test on
    each community (see docs/detectors.md#abusive-clusters), in community order."""
    rv = np.flatnonzero(region)
    sub = m[rv][:, rv].tocoo()
    upper = sub.row < sub.col
    membership = _leiden(rv.size, sub.row[upper], sub.col[upper], sub.data[upper], p)
    indeg = np.asarray(directed.sum(axis=0)).ravel()  # interaction weight directed at each account
    clusters: list[FoundCluster] = []
    assigned = np.zeros(region.size, bool)
    for comm in unique_ints(membership).tolist():
        members = rv[membership == comm]
        if np.count_nonzero(mass[members] > 0) < p.min_labelled_members:
            continue
        members = vouched_members(members, directed, indeg, p)
        if members.size == 0:
            continue
        extra = readmitted(members, directed, indeg, region & ~assigned, p)
        members = unique_ints(np.concatenate([members, extra]))
        if members.size < p.min_members or np.count_nonzero(mass[members] > 0) < p.min_labelled_members:
            continue
        assigned[members] = True
        clusters.append(FoundCluster(members=members, score=float(mass[members].sum())))
    return clusters


def name_clusters(proj: Projection, clusters: list[FoundCluster]) -> list[FoundCluster]:
    """Give each cluster its member ids and stable id; return them in score order."""
    for c in clusters:
        c.ids = proj.id_list(c.members)
        c.cluster_id = "cluster-" + short_hash(*c.ids)
    return sorted(clusters, key=lambda c: (-c.score, c.cluster_id))


def token_owner(proj: Projection, member_cluster: np.ndarray, n_clusters: int, p: ClusterParams) -> np.ndarray:
    """Per vid, the cluster owning a url/hashtag (-1: none): the cluster whose members are at
    least min_owned_share of the distinct accounts using it (highest share, then lowest cluster)."""
    use = in_codes(proj.etype, [REL_CODE[r.value] for r in CO_USE_RELS])
    users = account_owner(proj, proj.src[use])
    tokens = proj.dst[use].astype(np.int64)
    ok = users >= 0
    owner = np.full(proj.n_nodes, -1, np.int32)
    if not ok.any() or n_clusters == 0:
        return owner
    tok, usr = unique_pairs(tokens[ok], users[ok], proj.n_nodes)
    n_users = np.bincount(tok, minlength=proj.n_nodes)
    cl = member_cluster[usr].astype(np.int64)
    mine = cl >= 0
    # members of each cluster using each token, as one (token, cluster) key count
    key = tok[mine] * n_clusters + cl[mine]
    key.sort()
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    cnt = np.diff(np.r_[starts, key.size])
    t_, c_ = key[starts] // n_clusters, key[starts] % n_clusters
    share = cnt / n_users[t_]
    keep = share >= p.min_owned_share
    t_, c_, share = t_[keep], c_[keep], share[keep]
    best = np.lexsort((c_, -share, t_))  # per token: highest share, then lowest cluster
    t_, c_ = t_[best], c_[best]
    first = np.r_[True, t_[1:] != t_[:-1]] if t_.size else np.zeros(0, bool)
    owner[t_[first]] = c_[first]
    return owner


def ownership(proj: Projection, clusters: list[FoundCluster], p: ClusterParams) -> tuple[np.ndarray, np.ndarray]:
    """(member_cluster, owner) per vid, as an index into `clusters` (-1: none): a cluster owns
    its members, their content, and the urls/hashtags used mostly by its members."""
    member_cluster = np.full(proj.n_nodes, -1, np.int32)
    for i, c in enumerate(clusters):
        member_cluster[c.members] = i
    cvids = np.arange(proj.offsets[1], proj.offsets[2])
    content_owner = np.full(proj.n_nodes, -1, np.int32)
    auth = proj.author[cvids]
    has = auth >= 0
    content_owner[cvids[has]] = member_cluster[auth[has]]
    tokens = token_owner(proj, member_cluster, len(clusters), p)
    owner = np.where(member_cluster >= 0, member_cluster, np.where(content_owner >= 0, content_owner, tokens))
    return member_cluster, owner


def cluster_rows(proj: Projection, clusters: list[FoundCluster], owner: np.ndarray, mass: np.ndarray) -> list[Cluster]:
    """The clusters section, in `clusters` order; sets each cluster's `target_vids` (all it owns)."""
    rows = []
    owned = np.flatnonzero(owner >= 0)
    by_cluster, ptr = group_order(owner[owned].astype(np.int64), max(len(clusters), 1))
    for i, c in enumerate(clusters):
        nodes = owned[by_cluster[ptr[i] : ptr[i + 1]]]
        kinds = proj.kind[nodes]
        labelled = int(np.count_nonzero(mass[c.members] > 0))
        c.target_vids = nodes
        rows.append(
            Cluster(
                cluster_id=c.cluster_id,
                accounts=sorted(c.ids),
                content=sorted(proj.id_list(nodes[kinds == KIND_CODE["content"]])),
                urls=sorted(proj.id_list(nodes[kinds == KIND_CODE["url"]])),
                hashtags=sorted(proj.id_list(nodes[kinds == KIND_CODE["hashtag"]])),
                score=rnd(c.score),
                labelled_accounts=labelled,
                unlabelled_accounts=int(c.members.size - labelled),
            )
        )
    return rows


class ClusterDetector(Detector[ClusterParams]):
    """Finds abusive clusters; see docs/detectors.md#abusive-clusters."""

    name = "clusters"
    version = "1.1.0"
    Params = ClusterParams

    def run(self, projection: Projection, params: ClusterParams, context: DetectorContext) -> DetectorOutput:
        proj, p = projection, params
        mass = abusive_mass(proj)
        seeds = np.flatnonzero(mass > 0)
        out = DetectorOutput()
        if seeds.size == 0 or proj.offsets[1] == 0:
            out.state.update(clusters=[], member_cluster=np.full(proj.n_nodes, -1, np.int32), mass=mass)
            out.counts["clusters"] = 0
            logger.info("clusters: no account posts abusive-labelled content, no clusters")
            return out
        directed = interaction_matrix(proj, p.max_co_use, p.co_use)
        m = (directed + directed.T).tocsr()
        region = expand_region(m, seeds, p)
        clusters = name_clusters(proj, find_clusters(directed, m, region, mass, p))
        member_cluster, owner = ownership(proj, clusters, p)
        out.sections.clusters = cluster_rows(proj, clusters, owner, mass)
        out.state.update(clusters=clusters, member_cluster=member_cluster, owner=owner, mass=mass)
        out.counts.update(clusters=len(clusters), cluster_region_accounts=int(np.count_nonzero(region)))
        logger.info(
            "clusters: %d labelled accounts, %d in the region, %d clusters",
            seeds.size,
            int(np.count_nonzero(region)),
            len(clusters),
        )
        return out
