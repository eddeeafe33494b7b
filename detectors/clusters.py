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
from scipy.special import pdtrc

from detectors.base import Detector, DetectorContext, DetectorOutput, DetectorParams, rnd, short_hash
from detectors.navigation import group_order
from detectors.results import Cluster
from graph.model import ContentLabel, RelType
from graph.projection import KIND_CODE, REL_CODE, Projection, in_codes, isin_sorted, unique_ints

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
    max_degree: int = Field(
        1000,
        ge=1,
        description="unlabelled accounts with more distinct interaction partners are hubs: never members",
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
        description="tie any accounts that use the same rare url/hashtag (off: a bridge "
        "using a cluster's invite URL would look like a member)",
    )
    token_ties: bool = Field(
        True,
        description="tie labelled accounts that use the same cluster token (a rare url/hashtag "
        "used by at least two labelled accounts, at least min_owned_share of its users labelled) "
        "when grouping them; never evidence of membership by itself",
    )
    min_member_in_links: int = Field(
        2, ge=0, description="an account joins only if at least this many other members follow/mention/reply to it"
    )
    min_member_out_links: int = Field(
        2, ge=0, description="an account joins only if it follows/mentions/replies to at least this many other members"
    )
    region_rounds: int = Field(
        2, ge=1, le=5, description="rounds of growing the candidate region from the labelled accounts"
    )
    max_tie_p: float = Field(
        1e-3,
        gt=0,
        le=1,
        description="a member's ties from and to the other members must be at most this probable "
        "if they landed by popularity alone (Poisson upper tail)",
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


@dataclass
class Ties:
    """Who ties to whom, as distinct accounts: `out[a, b]` is 1 when a follows/mentions/replies
    to/shares b (any number of times); per account its distinct partners either way (`degree`),
    the accounts it ties to (`out_deg`) and the accounts tying to it (`in_deg`)."""

    out: sp.csr_matrix
    degree: np.ndarray
    out_deg: np.ndarray
    in_deg: np.ndarray

    @classmethod
    def of(cls, directed: sp.csr_matrix, undirected: sp.csr_matrix) -> Ties:
        """From the interaction counts and their symmetric sum (both canonical csr)."""
        out = sp.csr_matrix((np.ones(directed.nnz), directed.indices, directed.indptr), shape=directed.shape)
        n = directed.shape[0]
        return cls(out, np.diff(undirected.indptr), np.diff(out.indptr), np.bincount(out.indices, minlength=n))

    def two_way(self, members: np.ndarray, among: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each account of `among`: (distinct `members` that tie to it, distinct `members` it
        ties to); an account never ties to itself."""
        n = self.degree.size
        ins = np.bincount(self.out[members].indices, minlength=n)[among]
        w = np.zeros(n)
        w[members] = 1.0
        outs = np.asarray(self.out[among] @ w).ravel()
        return ins.astype(np.float64), outs

    def vouched(
        self, members: np.ndarray, among: np.ndarray, p: ClusterParams, labelled: np.ndarray | None
    ) -> np.ndarray:
        """Which accounts of `among` the group `members` vouches for: at least min_member_in_links
        members tie to it and it ties to at least min_member_out_links members. For an account
        not exempt (`labelled`: the accounts whose own abusive content exempts them; None: skip
        this part for everyone) both counts must also be
        more than popularity explains: had the group's ties landed on accounts in proportion to
        the ties each receives from outside the group (+1), and had each account's ties into the
        group been its share of all ties the group receives (in proportion to the ties it makes
        outside, +1), counts this high would have probability at most max_tie_p (Poisson upper
        tail). A labelled account's own content is evidence; an unlabelled one has only its ties."""
        ins, outs = self.two_way(members, among)
        enough = (ins >= p.min_member_in_links) & (outs >= p.min_member_out_links)
        if labelled is None:
            return enough
        group_out, group_in = float(self.out_deg[members].sum()), float(self.in_deg[members].sum())
        lam_in = (self.in_deg[among] - ins + 1) * group_out / max(self.out.nnz - group_out, 1.0)
        lam_out = (self.out_deg[among] - outs + 1) * group_in / max(self.out.nnz - group_in, 1.0)
        p_in = pdtrc(np.maximum(ins - 1, 0), lam_in)
        p_out = pdtrc(np.maximum(outs - 1, 0), lam_out)
        return np.asarray(enough & (labelled[among] | ((p_in <= p.max_tie_p) & (p_out <= p.max_tie_p))))


def candidate_region(ties: Ties, labelled: np.ndarray, p: ClusterParams) -> np.ndarray:
    """Labelled accounts plus, `region_rounds` times, the unlabelled non-hubs tied to and from at
    least min_member_in_links / min_member_out_links distinct accounts of the region so far
    (candidates only: the surprise part of the test is made against each cluster). A second
    round reaches unlabelled members of a cluster with few labelled members."""
    everyone = np.arange(labelled.size)
    region = labelled.copy()
    for _ in range(p.region_rounds):
        grown = region | (ties.vouched(np.flatnonzero(region), everyone, p, None) & (ties.degree <= p.max_degree))
        if np.count_nonzero(grown) == np.count_nonzero(region):
            break
        region = grown
    return region


def vouched_members(members: np.ndarray, ties: Ties, labelled: np.ndarray, p: ClusterParams) -> np.ndarray:
    """The members the others vouch for: labelled or not, a member needs at least
    min_member_in_links other members that follow/mention/reply to/share it and must itself
    tie to at least min_member_out_links other members (an unlabelled one, more than its
    popularity explains). Neither test depends on what else the
    account does or receives (ordinary followers, ordinary follows), so a member living an
    ordinary life still belongs, while a popular account members follow (it does not tie back)
    and an ordinary follower of members (they do not tie back) do not. Repeated against the
    kept members until stable, so dropped accounts vouch for nobody."""
    while members.size:
        ok = ties.vouched(members, members, p, labelled) & (labelled[members] | (ties.degree[members] <= p.max_degree))
        if ok.all():
            break
        members = members[ok]
    return members


def grown(
    members: np.ndarray, ties: Ties, labelled: np.ndarray, candidates: np.ndarray, p: ClusterParams
) -> np.ndarray:
    """`members` plus the `candidates` (region accounts no cluster took yet; modularity can split
    a dense group) the group vouches for, surprise part included even for labelled accounts (so
    a neighbouring cluster tied by chance at a few points is not pulled in, one labelled account
    after another), repeated against the grown group until none joins."""
    cand = np.flatnonzero(candidates)
    cand = cand[labelled[cand] | (ties.degree[cand] <= p.max_degree)]
    nobody = np.zeros(labelled.size, bool)
    while True:
        rest = cand[~isin_sorted(cand, members)]
        join = rest[ties.vouched(members, rest, p, nobody)] if rest.size else rest
        if not join.size:
            return members
        members = unique_ints(np.concatenate([members, join]))


def token_ties(proj: Projection, labelled: np.ndarray, p: ClusterParams) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) pairs of labelled accounts (a < b) sharing a cluster token: a url/hashtag used by at
    most max_co_use accounts, at least two of them labelled and at least min_owned_share of them
    labelled (mega hashtags and popular urls are used mostly by others). One pair per shared token."""
    use = in_codes(proj.etype, [REL_CODE[r.value] for r in CO_USE_RELS])
    users = account_owner(proj, proj.src[use])
    ok = users >= 0
    tok, usr = unique_pairs(proj.dst[use][ok], users[ok], proj.n_nodes)
    starts = np.flatnonzero(np.r_[True, tok[1:] != tok[:-1]]) if tok.size else np.zeros(0, np.int64)
    sizes = np.diff(np.r_[starts, tok.size])
    n_lab = np.add.reduceat(labelled[usr].astype(np.int64), starts) if tok.size else np.zeros(0, np.int64)
    keep = (sizes <= p.max_co_use) & (n_lab >= 2) & (n_lab >= p.min_owned_share * sizes)
    parts_a, parts_b = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for s, c in zip(starts[keep].tolist(), sizes[keep].tolist()):
        u = usr[s : s + c]
        u = u[labelled[u]]
        i, j = np.triu_indices(u.size, 1)
        parts_a.append(u[i])
        parts_b.append(u[j])
    return np.concatenate(parts_a), np.concatenate(parts_b)


def grouping_graph(
    m: sp.csr_matrix, rv: np.ndarray, tokens: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Undirected weighted edges (rows < cols, local indices into `rv`) that Leiden groups: the
    interaction counts among region accounts plus one per cluster token two labelled accounts share."""
    sub = m[rv][:, rv]
    local = np.full(m.shape[0], -1, np.int64)
    local[rv] = np.arange(rv.size)
    ta, tb = local[tokens[0]], local[tokens[1]]
    ok = (ta >= 0) & (tb >= 0)
    tok = sp.coo_matrix((np.ones(int(ok.sum())), (ta[ok], tb[ok])), shape=sub.shape)
    g = (sub + tok + tok.T).tocoo()
    upper = g.row < g.col
    return g.row[upper], g.col[upper], g.data[upper]


def find_clusters(
    ties: Ties,
    m: sp.csr_matrix,
    region: np.ndarray,
    mass: np.ndarray,
    tokens: tuple[np.ndarray, np.ndarray],
    p: ClusterParams,
) -> list[FoundCluster]:
    """Leiden over the region (interaction counts plus shared cluster tokens), then the cluster
    test on each community (see docs/detectors.md#abusive-clusters), most labelled community first."""
    rv = np.flatnonzero(region)
    labelled = mass > 0
    rows, cols, weights = grouping_graph(m, rv, tokens)
    membership = _leiden(rv.size, rows, cols, weights, p)
    comms = unique_ints(membership)
    n_lab = np.bincount(membership, weights=labelled[rv], minlength=comms.size)[comms]
    n_all = np.bincount(membership, minlength=comms.size)[comms]
    clusters: list[FoundCluster] = []
    assigned = np.zeros(region.size, bool)
    # most labelled first: of a group modularity split, the larger part takes the rest back
    for comm in comms[np.lexsort((comms, -n_all, -n_lab))].tolist():
        members = rv[membership == comm]
        members = members[~assigned[members]]
        if np.count_nonzero(labelled[members]) < p.min_labelled_members:
            continue
        members = vouched_members(grown(members, ties, labelled, region & ~assigned, p), ties, labelled, p)
        if members.size < p.min_members or np.count_nonzero(labelled[members]) < p.min_labelled_members:
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
    version = "2.0.0"
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
        ties = Ties.of(directed, m)
        region = candidate_region(ties, mass > 0, p)
        tokens = token_ties(proj, mass > 0, p) if p.token_ties else (np.zeros(0, np.int64),) * 2
        clusters = name_clusters(proj, find_clusters(ties, m, region, mass, tokens, p))
        member_cluster, owner = ownership(proj, clusters, p)
        out.sections.clusters = cluster_rows(proj, clusters, owner, mass)
        out.state.update(clusters=clusters, member_cluster=member_cluster, owner=owner, mass=mass, interaction=m)
        out.counts.update(clusters=len(clusters), cluster_region_accounts=int(np.count_nonzero(region)))
        logger.info(
            "clusters: %d labelled accounts, %d in the region, %d clusters",
            seeds.size,
            int(np.count_nonzero(region)),
            len(clusters),
        )
        return out
