"""Synthetic snapshot generator: a realistic, seeded, vectorised social graph in the ingest
format, with planted abusive clusters, breadcrumb trails, grooming-like contact and decoys,
plus a truth file of what was planted. All of it is made up; see docs/synthetic-data.md."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from graph.errors import ConfigError
from graph.model import RelType

GENERATOR = "crumbgraph-synth"
TRUTH_VERSION = 1
TABLES = ("accounts", "content", "follows", "links")
FORMATS = ("parquet", "csv", "jsonl")
SHAPES = ("comment_mention", "bio_link", "coded_hashtag", "share_to_group")
DECOY_KINDS = ("hub", "mega_hashtag", "benign_commenter", "teacher", "false_positive_label")
#: Files the generator writes besides the tables; ingest must ignore them.
SIDE_FILES = ("truth.json", "README.txt")
#: Mega hashtags (decoys): text and the share of all non-comment content carrying it.
MEGA_HASHTAGS = (("fyp", 0.35), ("viral", 0.2), ("trending", 0.12))

YEAR_START = 1735689600  # 2025-01-01T00:00:00Z
YEAR_END = 1767225600  # 2026-01-01T00:00:00Z
ACCOUNTS_FROM = 1546300800  # 2019-01-01T00:00:00Z: accounts exist before the year of activity
DAY = 86400

AGE_BANDS = ("minor", "adult", "unknown")
MINOR, ADULT, UNKNOWN = 0, 1, 2
STATUSES = ("active", "suspended", "deleted")
KINDS = ("post", "video", "image", "story", "live", "comment", "group")
POST, VIDEO, IMAGE, STORY, LIVE, COMMENT, GROUP = range(7)
LABELS = ("none", "child_oriented", "abusive")
NONE_L, CHILD, ABUSIVE = 0, 1, 2
SOURCES = ("classifier:v3", "human_review", "hashlist:ncmec")
CLASSIFIER, HUMAN, HASHLIST = 0, 1, 2
NODE_KINDS = ("account", "content", "url", "hashtag")
ACC, CON, URL, TAG = 0, 1, 2, 3
_CONSONANTS = np.frombuffer(b"bcdfghjklmnprstvwxz", dtype=np.uint8)
_VOWELS = np.frombuffer(b"aeiou", dtype=np.uint8)


@dataclass(frozen=True)
class SynthParams:
    """Knobs of the generation model. Defaults give the documented realism; tests may shrink them."""

    accounts: int = 20_000
    seed: int = 0
    community_size: int = 250  # mean accounts per community
    youth_community_share: float = 0.2  # communities where about half the accounts are minors
    minor_share: float = 0.15
    unknown_share: float = 0.10
    mean_follows: float = 9.0  # background out-degree (hubs come on top)
    local_follow_share: float = 0.8  # follows that stay inside the follower's community
    mean_posts: float = 1.5  # non-comment content per account
    mean_comments: float = 2.0  # comments per account
    mean_shares: float = 0.3
    mean_recommendations: float = 0.5
    family_vlogger_share: float = 0.04  # adults whose content is mostly child-oriented
    accounts_per_cluster: int = 10_000  # one abusive cluster per this many accounts (at least 2)
    accounts_per_groomer: int = 50_000  # at least 2
    accounts_per_hub: int = 500_000  # 3 hubs plus one per this many accounts
    accounts_per_benign_commenter: int = 10_000  # at least 3
    accounts_per_teacher: int = 200_000  # at least 1
    accounts_per_false_positive: int = 100_000  # at least 1
    #: 0 = cluster members take no part in the background (the default; output unchanged);
    #: > 0 gives them an ordinary platform life, this many times an ordinary account's
    #: (1.0 = as much): see "Background mix" in docs/synthetic-data.md.
    background_mix: float = 0.0

    def __post_init__(self) -> None:
        if self.accounts < 1000:
            raise ConfigError(
                f"synth: --accounts must be at least 1000 (got {self.accounts}); "
                "smaller graphs cannot hold the planted structures"
            )
        if not 0 <= self.seed < 2**63:
            raise ConfigError(f"synth: --seed must be a non-negative integer (got {self.seed})")
        if not 0.0 <= self.background_mix <= 10.0:
            raise ConfigError(f"synth: --background-mix must be between 0 and 10 (got {self.background_mix})")


@dataclass
class Snapshot:
    """A generated snapshot in memory: the four tables (all columns as in the ingest spec) and the truth."""

    tables: dict[str, pa.Table]
    truth: dict[str, Any]


@dataclass
class SynthSummary:
    out_dir: Path
    format: str
    rows: dict[str, int]
    files: list[str]
    seconds: float
    truth_counts: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- string helpers


def _strings_from_matrix(mat: np.ndarray) -> pa.Array:
    """Rows of an (n, w) uint8 matrix of ASCII bytes -> an Arrow string array (zero-copy, no Python objects)."""
    mat = np.ascontiguousarray(mat)
    n, w = mat.shape
    if n * w < 2**31:
        offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32)
        return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(mat))
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(mat)).cast(pa.string())


_DIGITS4 = np.array([list(f"{i:04d}".encode()) for i in range(10_000)], dtype=np.uint8)
_DIGITS4_U32 = _DIGITS4.view(np.uint32).ravel()
_CHUNK = 1 << 20  # rows per step when formatting strings: bounds the temporary arrays


def _put_digits(mat: np.ndarray, start: int, values: np.ndarray, width: int) -> None:
    """Write `values` zero-padded to `width` into columns start..start+width of `mat` (4 digits a step)."""
    v = np.asarray(values, dtype=np.int64)
    end = start + width
    while end - start >= 4:
        mat[:, end - 4 : end] = _DIGITS4_U32[v % 10_000].view(np.uint8).reshape(-1, 4)
        v = v // 10_000
        end -= 4
    if end > start:
        mat[:, start:end] = _DIGITS4[v % 10_000][:, 4 - (end - start) :]


def _unique(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort + mask: faster than np.unique's hashing on large int arrays)."""
    k = np.sort(keys)
    if len(k) == 0:
        return k
    return k[np.concatenate(([True], k[1:] != k[:-1]))]


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """`prefix` + zero-padded numbers, e.g. a0000123."""
    p = np.frombuffer(prefix.encode(), dtype=np.uint8)
    numbers = np.asarray(numbers)
    mat = np.empty((len(numbers), len(p) + width), dtype=np.uint8)
    mat[:, : len(p)] = p
    for i in range(0, len(numbers), _CHUNK):
        _put_digits(mat[i : i + _CHUNK], len(p), numbers[i : i + _CHUNK], width)
    return _strings_from_matrix(mat)


def _iso(seconds: np.ndarray) -> pa.Array:
    """Unix seconds -> ISO-8601 UTC strings `YYYY-MM-DDTHH:MM:SSZ`, vectorised."""
    s_all = np.asarray(seconds, dtype=np.int64)
    mat = np.empty((len(s_all), 20), dtype=np.uint8)
    mat[:] = np.frombuffer(b"0000-00-00T00:00:00Z", dtype=np.uint8)
    for i in range(0, len(s_all), _CHUNK):
        s = s_all[i : i + _CHUNK]
        part = mat[i : i + _CHUNK]
        days = s // DAY
        rem = s - days * DAY
        d = days.astype("datetime64[D]")
        month_start = d.astype("datetime64[M]")
        _put_digits(part, 0, d.astype("datetime64[Y]").astype(np.int64) + 1970, 4)
        _put_digits(part, 5, month_start.astype(np.int64) % 12 + 1, 2)
        _put_digits(part, 8, (d - month_start.astype("datetime64[D]")).astype(np.int64) + 1, 2)
        _put_digits(part, 11, rem // 3600, 2)
        _put_digits(part, 14, (rem // 60) % 60, 2)
        _put_digits(part, 17, rem % 60, 2)
    return _strings_from_matrix(mat)


def _words(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """n distinct pronounceable lower-case words (consonant-vowel alternation) as an (n, length) matrix."""
    out = np.empty((0, length), dtype=np.uint8)
    while len(out) < n:
        m = 2 * (n - len(out)) + 16
        mat = np.empty((m, length), dtype=np.uint8)
        for pos in range(length):
            pool = _CONSONANTS if pos % 2 == 0 else _VOWELS
            mat[:, pos] = pool[rng.integers(0, len(pool), m)]
        allm = np.concatenate([out, mat])
        keys = np.ascontiguousarray(allm).view(f"S{length}").ravel()
        _, first = np.unique(keys, return_index=True)
        out = allm[np.sort(first)]  # keep draw order, drop repeats
    return out[:n]


def _decode(names: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """Small-integer codes -> strings; negative codes -> null."""
    codes = np.asarray(codes)
    idx = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pa.array(names, pa.string()).take(idx)


# --------------------------------------------------------------------------- sampling


class _Sampler:
    """Draws indices with probability proportional to a weight, optionally within a group, by
    inverse-CDF search over one cumulative sum (vectorised; zero-weight items are never drawn)."""

    def __init__(self, weights: np.ndarray, groups: np.ndarray | None = None, n_groups: int = 0) -> None:
        w = np.asarray(weights, dtype=np.float64)
        if groups is None:
            self.order = np.arange(len(w))
        else:
            self.order = np.argsort(groups, kind="stable")
        self.w = w[self.order]
        self.cw = np.cumsum(self.w)
        if groups is not None:
            g = np.asarray(groups)[self.order]
            starts = np.searchsorted(g, np.arange(n_groups), side="left")
            ends = np.searchsorted(g, np.arange(n_groups), side="right")
            self.lo = np.where(starts > 0, self.cw[np.maximum(starts - 1, 0)], 0.0)
            self.hi = np.where(ends > 0, self.cw[np.maximum(ends - 1, 0)], 0.0)

    def sample(
        self, rng: np.random.Generator, n: int, group: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (indices, ok); `ok` is False where the group had no weight (drop those)."""
        if len(self.cw) == 0:
            return np.zeros(n, np.int64), np.zeros(n, bool)
        if group is None:
            lo, hi = 0.0, self.cw[-1]
        else:
            lo, hi = self.lo[group], self.hi[group]
        t = lo + rng.random(n) * (hi - lo)
        pos = np.minimum(np.searchsorted(self.cw, t, side="right"), len(self.cw) - 1)
        ok = (np.asarray(hi) > np.asarray(lo)) & (self.w[pos] > 0)
        return self.order[pos], np.broadcast_to(ok, (n,)).copy()


def _zipf_weights(n: int, s: float = 1.05) -> np.ndarray:
    return 1.0 / np.arange(1, n + 1, dtype=np.float64) ** s


# --------------------------------------------------------------------------- the builder


class _Builder:
    """Accumulates content and link rows as integer arrays; strings are made once at the end."""

    def __init__(self, n_accounts: int) -> None:
        self.n = n_accounts
        self.content: list[dict[str, np.ndarray]] = []
        self.n_content = 0
        self.links: list[dict[str, Any]] = []
        self.follows: list[tuple[np.ndarray, np.ndarray]] = []

    def add_content(
        self,
        author: np.ndarray,
        ts: np.ndarray,
        kind: np.ndarray | int,
        parent: np.ndarray | int = -1,
        label: np.ndarray | int = NONE_L,
        source: np.ndarray | int = -1,
        conf: np.ndarray | float = np.nan,
    ) -> np.ndarray:
        author = np.asarray(author, dtype=np.int64)
        m = len(author)
        b = lambda v, dt: np.broadcast_to(np.asarray(v, dtype=dt), (m,)).copy()  # noqa: E731
        self.content.append(
            {
                "author": author,
                "ts": b(ts, np.int64),
                "kind": b(kind, np.int8),
                "parent": b(parent, np.int64),
                "label": b(label, np.int8),
                "source": b(source, np.int8),
                "conf": b(conf, np.float64),
            }
        )
        idx = np.arange(self.n_content, self.n_content + m, dtype=np.int64)
        self.n_content += m
        return idx

    def add_links(
        self, src_kind: int, src: np.ndarray, dst_kind: int, dst: np.ndarray | pa.Array, kind: str, ts: np.ndarray
    ) -> None:
        src = np.asarray(src, dtype=np.int64)
        if len(src):
            self.links.append(
                {
                    "src_kind": src_kind,
                    "src": src,
                    "dst_kind": dst_kind,
                    "dst": dst,
                    "kind": kind,
                    "ts": np.asarray(ts, dtype=np.int64),
                }
            )

    def add_follows(self, src: np.ndarray, dst: np.ndarray) -> None:
        self.follows.append((np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)))

    def column(self, name: str) -> np.ndarray:
        return np.concatenate([c[name] for c in self.content])


def _after(rng: np.random.Generator, ts: np.ndarray, mean_days: float) -> np.ndarray:
    """A time after `ts` (exponential delay), kept inside the year."""
    delay = (rng.exponential(mean_days * DAY, len(ts)) + 60).astype(np.int64)
    return np.minimum(np.asarray(ts, dtype=np.int64) + delay, YEAR_END - 1)


def _year_ts(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(YEAR_START, YEAR_END, n, dtype=np.int64)


def _label_conf(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    return np.round(rng.uniform(lo, hi, n), 3)


# --------------------------------------------------------------------------- generation


def generate_snapshot(params: SynthParams, progress: Callable[[str], None] | None = None) -> Snapshot:
    """Generate the snapshot for `params` in memory. Same params -> identical tables and truth."""
    say = progress or (lambda _msg: None)
    n = params.accounts
    # the 17th child stream feeds only the background mix; the first 16 (so the default output)
    # do not depend on how many are spawned
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(params.seed).spawn(17)]
    (
        r_acc,
        r_role,
        r_fol,
        r_post,
        r_com,
        r_tag,
        r_url,
        r_share,
        r_rec,
        r_clu,
        r_trail,
        r_groom,
        r_decoy,
        r_ids,
        r_ts,
        r_misc,
        r_mix,
    ) = streams
    bld = _Builder(n)

    # ---- accounts: communities, age bands, activity and popularity
    say("accounts")
    n_comm = max(4, round(n / params.community_size))
    comm_w = r_acc.lognormal(0.0, 1.0, n_comm)
    community = np.searchsorted(np.cumsum(comm_w) / comm_w.sum(), r_acc.random(n), side="right")
    community = np.minimum(community, n_comm - 1)
    youth = r_acc.random(n_comm) < params.youth_community_share
    f_youth = comm_w[youth].sum() / comm_w.sum()
    p_youth = 0.45 if f_youth * 0.45 < 0.8 * params.minor_share else 0.8 * params.minor_share / f_youth
    p_other = (params.minor_share - f_youth * p_youth) / max(1e-9, 1 - f_youth)
    p_minor = np.where(youth, p_youth, p_other)[community]
    u = r_acc.random(n)
    age = np.where(u < p_minor, MINOR, np.where(u < p_minor + params.unknown_share, UNKNOWN, ADULT)).astype(np.int8)
    status = np.searchsorted([0.96, 0.99], r_acc.random(n), side="right").astype(np.int8)
    acc_created = r_acc.integers(ACCOUNTS_FROM, YEAR_START, n, dtype=np.int64)
    activity = r_acc.lognormal(0.0, 0.9, n)
    popularity = r_acc.pareto(1.3, n) + 1.0

    # ---- roles (chosen before the background so the background can avoid the planted clusters)
    say("roles")
    taken = np.zeros(n, bool)
    adult = age == ADULT
    active = status == 0

    def pick(k: int, mask: np.ndarray) -> np.ndarray:
        pool = np.flatnonzero(mask & ~taken)
        if len(pool) < k:
            raise ConfigError(f"synth: not enough accounts for the planted structures (need {k}, have {len(pool)})")
        chosen = np.sort(r_role.choice(pool, k, replace=False))
        taken[chosen] = True
        return chosen

    n_clusters = max(2, n // params.accounts_per_cluster)
    cluster_sizes = r_role.integers(10, 41, n_clusters)
    members_all = pick(int(cluster_sizes.sum()), adult & active)
    members_all = r_role.permutation(members_all)
    clusters = np.split(members_all, np.cumsum(cluster_sizes)[:-1])
    clusters = [np.sort(c) for c in clusters]
    in_cluster = np.zeros(n, bool)
    in_cluster[members_all] = True
    n_hubs = 3 + n // params.accounts_per_hub
    hubs = pick(n_hubs, adult & active)
    bridges_per_cluster = r_role.integers(1, 4, n_clusters)
    bridges_all = pick(int(bridges_per_cluster.sum()), adult & active)
    bridges_all = r_role.permutation(bridges_all)
    bridges = np.split(bridges_all, np.cumsum(bridges_per_cluster)[:-1])
    n_groomers = max(2, n // params.accounts_per_groomer)
    groomers = pick(n_groomers, adult & active)
    n_teachers = max(1, n // params.accounts_per_teacher)
    teachers = pick(n_teachers, adult & active)
    n_benign = max(3, n // params.accounts_per_benign_commenter)
    benign = pick(n_benign, adult & active)
    family = (r_role.random(n) < params.family_vlogger_share) & adult & ~taken

    # cluster members take no part in the background: nothing outside reaches them except planted trails
    activity[in_cluster] = 0.0
    popularity[in_cluster] = 0.0
    popularity[hubs] = popularity.max()

    # ---- follows: power-law popularity, mostly inside the community, plus hubs
    say("follows")
    deg = r_fol.poisson(params.mean_follows * activity / activity.mean())
    f_src = np.repeat(np.arange(n, dtype=np.int64), deg)
    local = r_fol.random(len(f_src)) < params.local_follow_share
    f_dst = np.empty(len(f_src), np.int64)
    ok = np.empty(len(f_src), bool)
    by_comm = _Sampler(popularity, community, n_comm)
    f_dst[local], ok[local] = by_comm.sample(r_fol, int(local.sum()), community[f_src[local]])
    glob = _Sampler(popularity)
    f_dst[~local], ok[~local] = glob.sample(r_fol, int((~local).sum()))
    bld.add_follows(f_src[ok], f_dst[ok])
    del f_src, f_dst, ok, local
    hub_shares = r_fol.uniform(0.2, 0.45, n_hubs)
    for h, share in zip(hubs, hub_shares):
        followers = np.flatnonzero(r_fol.random(n) < share)
        bld.add_follows(followers, np.full(len(followers), h))

    # ---- background content: posts, videos, images, stories, lives and groups
    say("content")
    n_groups = max(3, n // 300)
    g_author, g_ok = _Sampler(activity).sample(r_post, n_groups)
    g_author = g_author[g_ok]
    g_created = acc_created[g_author] + (r_post.random(len(g_author)) * (YEAR_START - acc_created[g_author])).astype(
        np.int64
    )
    groups = bld.add_content(g_author, g_created, GROUP)
    group_comm = community[g_author]
    g_order = np.argsort(group_comm, kind="stable")
    g_start = np.searchsorted(group_comm[g_order], np.arange(n_comm), side="left")
    g_count = np.searchsorted(group_comm[g_order], np.arange(n_comm), side="right") - g_start

    n_posts_per = r_post.poisson(params.mean_posts * activity / activity.mean())
    p_author = np.repeat(np.arange(n, dtype=np.int64), n_posts_per)
    m = len(p_author)
    p_ts = _year_ts(r_post, m)
    p_kind = np.searchsorted(np.cumsum([0.45, 0.25, 0.22, 0.05]), r_post.random(m), side="right").astype(np.int8)
    p_child_prob = np.select(
        [age[p_author] == MINOR, family[p_author], age[p_author] == UNKNOWN], [0.35, 0.6, 0.05], 0.01
    )
    p_label = np.where(r_post.random(m) < p_child_prob, CHILD, NONE_L).astype(np.int8)
    human = r_post.random(m) < 0.3
    p_source = np.where(p_label == CHILD, np.where(human, HUMAN, CLASSIFIER), -1).astype(np.int8)
    p_conf = np.where(p_label == CHILD, np.where(human, 1.0, _label_conf(r_post, m, 0.55, 1.0)), np.nan)
    in_group = r_post.random(m) < 0.08
    pc_ = community[p_author]
    has_group = in_group & (g_count[pc_] > 0)
    p_parent = np.full(m, -1, np.int64)
    pick_g = g_start[pc_[has_group]] + (r_post.random(int(has_group.sum())) * g_count[pc_[has_group]]).astype(np.int64)
    p_parent[has_group] = groups[g_order[pick_g]]
    posts = bld.add_content(p_author, p_ts, p_kind, p_parent, p_label, p_source, p_conf)

    # ---- comments under posts (some threaded), with mentions, replies and a few hashtags
    say("comments")
    post_w = popularity[p_author] ** 0.8
    n_comments = int(round(params.mean_comments * n))
    target, _ = _Sampler(post_w).sample(r_com, n_comments)  # index into posts arrays
    tgt_author = p_author[target]
    local = r_com.random(n_comments) < 0.6
    commenter = np.empty(n_comments, np.int64)
    cok = np.empty(n_comments, bool)
    act_comm = _Sampler(activity, community, n_comm)
    commenter[local], cok[local] = act_comm.sample(r_com, int(local.sum()), community[tgt_author[local]])
    act_glob = _Sampler(activity)
    commenter[~local], cok[~local] = act_glob.sample(r_com, int((~local).sum()))
    target, commenter = target[cok], commenter[cok]
    c_ts = _after(r_com, p_ts[target], 3.0)
    order = np.lexsort((c_ts, target))
    target, commenter, c_ts = target[order], commenter[order], c_ts[order]
    k = len(target)
    first = np.searchsorted(target, target, side="left")
    position = np.arange(k) - first
    threaded = (r_com.random(k) < 0.15) & (position > 0)
    parent_local = np.where(threaded, first + (r_com.random(k) * np.maximum(position, 1)).astype(np.int64), -1)
    c_base = bld.n_content
    c_parent = np.where(threaded, c_base + parent_local, posts[target])
    comments = bld.add_content(commenter, c_ts, COMMENT, c_parent)
    bld.add_links(CON, comments[threaded], ACC, commenter[parent_local[threaded]], "reply", c_ts[threaded])
    mention = r_com.random(k) < 0.2
    to_author = r_com.random(k) < 0.5
    m_dst = np.where(to_author, tgt_author, 0)
    other = mention & ~to_author
    m_other, m_ok = by_comm.sample(r_com, int(other.sum()), community[commenter[other]])
    m_dst[other] = np.where(m_ok, m_other, -1)
    keep = mention & (m_dst >= 0) & (m_dst != commenter)
    bld.add_links(CON, comments[keep], ACC, m_dst[keep], "mention", c_ts[keep])

    # ---- hashtags: a Zipf vocabulary of pronounceable words, plus mega hashtags and cluster codes
    say("hashtags")
    n_vocab = max(300, n // 50)
    n_coded = 4 * n_clusters
    words = _words(r_tag, n_vocab + n_coded, 6)
    tag_text = pa.concat_arrays([_strings_from_matrix(words), pa.array([t for t, _ in MEGA_HASHTAGS], pa.string())])
    mega_idx = n_vocab + n_coded + np.arange(len(MEGA_HASHTAGS))
    coded_pool = n_vocab + np.arange(n_coded)
    vocab = _Sampler(_zipf_weights(n_vocab))
    n_t = r_tag.poisson(1.0, m)
    t_src = np.repeat(np.arange(m), n_t)
    t_dst, _ = vocab.sample(r_tag, len(t_src))
    key = _unique(t_src * n_vocab + t_dst)
    t_src, t_dst = key // n_vocab, key % n_vocab
    bld.add_links(CON, posts[t_src], TAG, t_dst, "hashtag", p_ts[t_src])
    ctag = r_tag.random(k) < 0.05
    c_tag_dst, _ = vocab.sample(r_tag, int(ctag.sum()))
    bld.add_links(CON, comments[ctag], TAG, c_tag_dst, "hashtag", c_ts[ctag])

    # ---- URLs: bios and posts link to sites on reserved .example domains
    say("urls")
    n_domains = max(60, n // 1000)
    dom_words = _words(r_url, n_domains + n_clusters, 7)
    dom_text = pc.binary_join_element_wise(_strings_from_matrix(dom_words), ".example", "")
    domains = _Sampler(_zipf_weights(n_domains, 1.1))
    acc_ids = _ids("a", np.arange(n), max(7, len(str(n - 1))))
    bio = np.flatnonzero((r_url.random(n) < 0.25) & ~in_cluster)
    bio_dom, _ = domains.sample(r_url, len(bio))
    bio_urls = pc.binary_join_element_wise(
        "https://", dom_text.take(pa.array(bio_dom)), "/", acc_ids.take(pa.array(bio)), ""
    )
    bld.add_links(ACC, bio, URL, bio_urls, "bio", _year_ts(r_url, len(bio)))
    purl = np.flatnonzero(r_url.random(m) < 0.06)
    purl_dom, _ = domains.sample(r_url, len(purl))
    paths = _ids("/p/", r_url.integers(0, 10**7, len(purl)), 7)
    post_urls = pc.binary_join_element_wise("https://", dom_text.take(pa.array(purl_dom)), paths, "")
    bld.add_links(CON, posts[purl], URL, post_urls, "url", p_ts[purl])

    # ---- shares (share items, a third of them into a group) and recommendations
    say("shares")
    n_sh = int(round(params.mean_shares * n))
    share_w = np.where(p_kind == GROUP, 0.0, post_w)
    sharer, s_ok = act_glob.sample(r_share, n_sh)
    shared, _ = _Sampler(share_w).sample(r_share, n_sh)
    sharer, shared = sharer[s_ok], shared[s_ok]
    s_ts = _after(r_share, p_ts[shared], 4.0)
    sc = community[sharer]
    into = (r_share.random(len(sharer)) < 0.3) & (g_count[sc] > 0)
    s_parent = np.full(len(sharer), -1, np.int64)
    pick_g = g_start[sc[into]] + (r_share.random(int(into.sum())) * g_count[sc[into]]).astype(np.int64)
    s_parent[into] = groups[g_order[pick_g]]
    share_items = bld.add_content(sharer, s_ts, POST, s_parent)
    bld.add_links(CON, share_items, CON, posts[shared], "share", s_ts)
    say("recommendations")
    n_rec = int(round(params.mean_recommendations * n))
    rec_src = r_rec.integers(0, m, n_rec)
    post_comm = community[p_author]
    rec_dst, rec_ok = _Sampler(share_w, post_comm, n_comm).sample(r_rec, n_rec, post_comm[rec_src])
    keep = rec_ok & (rec_dst != rec_src)
    key = _unique(rec_src[keep] * m + rec_dst[keep])
    rec_src, rec_dst = key // m, key % m
    bld.add_links(CON, posts[rec_src], CON, posts[rec_dst], "recommendation", _after(r_rec, p_ts[rec_src], 1.0))

    # child-oriented items a trail, a groomer or a benign commenter can start from
    child_posts = np.flatnonzero((p_label == CHILD) & (p_kind != GROUP))

    # ---- planted abusive clusters
    say("clusters")
    truth_clusters: list[dict[str, Any]] = []
    cluster_group: list[int] = []
    cluster_urls: list[list[str]] = []
    cluster_tags: list[np.ndarray] = []
    cluster_content: list[list[np.ndarray]] = []
    cluster_plain: list[np.ndarray] = []  # members' unlabelled items (background mix)
    url_links: list[tuple[int, int, str, int]] = []  # (src_kind, src_idx, url, ts), strings kept small
    for ci, mem in enumerate(clusters):
        s = len(mem)
        pairs = r_clu.random((s, s)) < 0.5
        np.fill_diagonal(pairs, False)
        a, b = np.nonzero(pairs)
        bld.add_follows(mem[a], mem[b])
        outside, o_ok = glob.sample(r_clu, 3 * s)
        bld.add_follows(np.repeat(mem, 3)[o_ok], outside[o_ok])
        tags = r_clu.choice(coded_pool[4 * ci : 4 * ci + 4], r_clu.integers(2, 5), replace=False)
        cluster_tags.append(np.sort(tags))
        dom = dom_text[n_domains + ci].as_py()
        code = _strings_from_matrix(_words(r_clu, 1, 6))[0].as_py()
        invite = f"https://{dom}/join/{code}"
        cluster_urls.append([invite])
        owner = mem[r_clu.integers(0, s)]
        g_ts = acc_created[owner] + int(r_clu.random() * (YEAR_START - acc_created[owner]))
        grp = bld.add_content([owner], [g_ts], GROUP)
        cluster_group.append(int(grp[0]))
        per = r_clu.integers(2, 9, s)
        i_author = np.repeat(mem, per)
        ni = len(i_author)
        unlabelled_share = r_clu.uniform(0.1, 0.25)
        labelled_member = r_clu.random(s) >= unlabelled_share
        labelled_member[r_clu.integers(0, s)] = True
        abusive = np.repeat(labelled_member, per) & (r_clu.random(ni) < 0.85)
        hashlist = r_clu.random(ni) < 0.5
        i_source = np.where(abusive, np.where(hashlist, HASHLIST, CLASSIFIER), -1)
        i_conf = np.where(
            abusive, np.where(hashlist, _label_conf(r_clu, ni, 0.9, 1.0), _label_conf(r_clu, ni, 0.6, 1.0)), np.nan
        )
        i_kind = r_clu.choice(np.array([POST, VIDEO, IMAGE]), ni, p=[0.3, 0.3, 0.4])
        i_parent = np.where(r_clu.random(ni) < 0.3, grp[0], -1)
        i_ts = _year_ts(r_clu, ni)
        items = bld.add_content(i_author, i_ts, i_kind, i_parent, np.where(abusive, ABUSIVE, NONE_L), i_source, i_conf)
        tagged = r_clu.random(ni) < 0.7
        bld.add_links(CON, items[tagged], TAG, r_clu.choice(tags, int(tagged.sum())), "hashtag", i_ts[tagged])
        second = tagged & (r_clu.random(ni) < 0.2)
        if second.any() and len(tags) > 1:
            bld.add_links(CON, items[second], TAG, np.full(int(second.sum()), tags[-1]), "hashtag", i_ts[second])
        inv = np.flatnonzero(r_clu.random(ni) < 0.3)
        for j in inv:
            url_links.append((CON, int(items[j]), invite, int(i_ts[j])))
        bio_m = mem[(r_clu.random(s) < 0.4)]
        if len(bio_m) == 0:
            bio_m = mem[:1]
        for acct in bio_m:
            url_links.append((ACC, int(acct), invite, int(_year_ts(r_clu, 1)[0])))
        n_c = r_clu.poisson(1.5, ni)
        under = np.repeat(np.arange(ni), n_c)
        c_author = mem[r_clu.integers(0, s, len(under))]
        cc_ts = _after(r_clu, i_ts[under], 2.0)
        ccom = bld.add_content(c_author, cc_ts, COMMENT, items[under])
        men = r_clu.random(len(under)) < 0.5
        men_dst = mem[r_clu.integers(0, s, len(under))]
        men &= men_dst != c_author
        bld.add_links(CON, ccom[men], ACC, men_dst[men], "mention", cc_ts[men])
        imen = r_clu.random(ni) < 0.2
        imen_dst = mem[r_clu.integers(0, s, ni)]
        imen &= imen_dst != i_author
        bld.add_links(CON, items[imen], ACC, imen_dst[imen], "mention", i_ts[imen])
        cluster_content.append([grp, items, ccom])
        cluster_plain.append(items[~abusive])

    # ---- planted breadcrumb trails, each laid by a bridge
    say("trails")
    trail_sources = r_trail.permutation(child_posts)
    next_source = 0
    truth_bridges: list[dict[str, Any]] = []
    trails_raw: list[dict[str, Any]] = []
    for ci, brs in enumerate(bridges):
        mem = clusters[ci]
        for br in brs:
            fol = r_trail.choice(mem, r_trail.integers(1, 4), replace=False)
            bld.add_follows(np.full(len(fol), br), fol)
            n_tr = int(r_trail.integers(3, 7))
            start = int(r_trail.integers(0, 4))
            ids: list[int] = []
            bio_done = False
            for t in range(n_tr):
                shape = SHAPES[(start + t) % 4]
                if next_source >= len(trail_sources):
                    next_source = 0  # tiny graphs: sources repeat
                src = int(trail_sources[next_source])
                next_source += 1
                src_c = int(posts[src])
                ts = _after(r_trail, p_ts[[src]], 5.0)
                tid = len(trails_raw)
                ids.append(tid)
                if shape == "share_to_group":
                    item = bld.add_content([br], ts, POST, cluster_group[ci])
                    bld.add_links(CON, item, CON, [src_c], "share", ts)
                    nodes = [(CON, src_c), (CON, int(item[0])), (CON, cluster_group[ci])]
                    edges = [(RelType.SHARES, "backward"), (RelType.REPLY_TO, "forward")]
                else:
                    com = bld.add_content([br], ts, COMMENT, src_c)
                    nodes = [(CON, src_c), (CON, int(com[0]))]
                    edges = [(RelType.REPLY_TO, "backward")]
                    if shape == "comment_mention":
                        target_m = int(mem[r_trail.integers(0, len(mem))])
                        bld.add_links(CON, com, ACC, [target_m], "mention", ts)
                        nodes.append((ACC, target_m))
                        edges.append((RelType.MENTIONS, "forward"))
                    elif shape == "bio_link":
                        bld.add_links(CON, com, ACC, [int(br)], "mention", ts)
                        if not bio_done:
                            url_links.append((ACC, int(br), cluster_urls[ci][0], int(p_ts[src])))
                            bio_done = True
                        nodes += [(ACC, int(br)), (URL, cluster_urls[ci][0])]
                        edges += [(RelType.MENTIONS, "forward"), (RelType.BIO_LINK, "forward")]
                    else:  # coded_hashtag
                        tag = int(r_trail.choice(cluster_tags[ci]))
                        bld.add_links(CON, com, TAG, [tag], "hashtag", ts)
                        nodes.append((TAG, tag))
                        edges.append((RelType.TAGGED, "forward"))
                trails_raw.append(
                    {"shape": shape, "source": src_c, "bridge": int(br), "cluster": ci, "nodes": nodes, "edges": edges}
                )
            # some harmless comments too: a bridge is otherwise an ordinary commenter
            noise = r_trail.choice(child_posts, min(len(child_posts), int(r_trail.integers(3, 11))), replace=False)
            bld.add_content(np.full(len(noise), br), _after(r_trail, p_ts[noise], 3.0), COMMENT, posts[noise])
            truth_bridges.append({"account": int(br), "cluster": ci, "trails": ids})

    # ---- grooming-like contact: adults following and mentioning many unconnected minors
    say("groomers")
    has_post = np.zeros(n, bool)
    has_post[p_author] = True
    first_post = np.full(n, -1, np.int64)  # p_author is sorted: the author's first post
    first_post[has_post] = np.searchsorted(p_author, np.flatnonzero(has_post), side="left")
    teacher_classes: list[np.ndarray] = []
    for t in teachers:
        minors_pool = np.flatnonzero((age == MINOR) & ~taken & active)
        comm_counts = np.bincount(community[minors_pool], minlength=n_comm)
        size = int(r_decoy.integers(20, 31))
        big = np.flatnonzero(comm_counts >= size)
        if len(big):
            c = int(r_decoy.choice(big))
            pool = minors_pool[community[minors_pool] == c]
        else:
            pool = minors_pool
        cls = np.sort(r_decoy.choice(pool, min(size, len(pool)), replace=False))
        taken[cls] = True
        teacher_classes.append(cls)
        a, b = np.nonzero(~np.eye(len(cls), dtype=bool))
        bld.add_follows(cls[a], cls[b])
        bld.add_follows(np.full(len(cls), t), cls)
        bld.add_follows(cls, np.full(len(cls), t))
        n_tp = int(r_decoy.integers(3, 7))
        tp = bld.add_content(np.full(n_tp, t), _year_ts(r_decoy, n_tp), POST)
        for j in range(n_tp):
            who = r_decoy.choice(cls, int(r_decoy.integers(3, 9)), replace=False)
            bld.add_links(CON, np.full(len(who), tp[j]), ACC, who, "mention", _year_ts(r_decoy, len(who)))
        _contact_comments(bld, r_decoy, t, cls, has_post, first_post, posts, p_ts)

    groomer_minors: list[np.ndarray] = []
    for g in groomers:
        pool = np.flatnonzero((age == MINOR) & has_post & ~taken & active)
        cnt = min(len(pool), int(r_groom.integers(15, 41)))
        kids = np.sort(r_groom.choice(pool, cnt, replace=False))
        taken[kids] = True
        groomer_minors.append(kids)
        bld.add_follows(np.full(len(kids), g), kids)
        _contact_comments(bld, r_groom, g, kids, has_post, first_post, posts, p_ts)

    # ---- decoys: benign commenters on many child-oriented posts, a false-positive label
    say("decoys")
    for b in benign:
        cnt = min(len(child_posts), int(r_decoy.integers(30, 101)))
        on = r_decoy.choice(child_posts, cnt, replace=False)
        bts = _after(r_decoy, p_ts[on], 2.0)
        bc = bld.add_content(np.full(cnt, b), bts, COMMENT, posts[on])
        men = r_decoy.random(cnt) < 0.5
        bld.add_links(CON, bc[men], ACC, p_author[on[men]], "mention", bts[men])
    n_fp = max(1, n // params.accounts_per_false_positive)
    fp_pool = np.flatnonzero(adult & ~taken & ~family & has_post)
    fp_accounts = np.sort(r_decoy.choice(fp_pool, n_fp, replace=False))
    taken[fp_accounts] = True

    # ---- background mix: cluster members live ordinary platform lives too (off by default)
    incidental: list[dict[str, Any]] = []
    if params.background_mix > 0:
        say("background mix")
        incidental = _mix_members(
            bld,
            r_mix,
            params.background_mix,
            clusters,
            cluster_content,
            cluster_plain,
            ~taken & ~in_cluster & active,
            age,
            community,
            activity,
            by_comm,
            glob,
            vocab,
            posts,
            p_author,
            p_ts,
            p_kind,
            p_label,
            post_w,
        )

    # ---- assemble content columns; relabel one post per false-positive account
    say("assemble")
    c_author = bld.column("author")
    c_ts_all = bld.column("ts")
    c_kind = bld.column("kind")
    c_parent = bld.column("parent")
    c_label = bld.column("label")
    c_source = bld.column("source")
    c_conf = bld.column("conf")
    fp_content = []
    for a in fp_accounts:
        cands = posts[np.flatnonzero((p_author == a) & (p_label == NONE_L) & (p_kind != GROUP))]
        if len(cands) == 0:
            cands = posts[np.flatnonzero(p_author == a)]
        ci_ = int(r_decoy.choice(cands))
        c_label[ci_] = ABUSIVE
        c_source[ci_] = CLASSIFIER
        c_conf[ci_] = float(np.round(r_decoy.uniform(0.6, 0.75), 3))
        fp_content.append(ci_)

    # mega hashtags on every kind of non-comment content, abusive included
    nonc = np.flatnonzero((c_kind != COMMENT) & (c_kind != GROUP))
    for (tag, share), t_idx in zip(MEGA_HASHTAGS, mega_idx):
        on = nonc[r_tag.random(len(nonc)) < share]
        bld.add_links(CON, on, TAG, np.full(len(on), t_idx), "hashtag", c_ts_all[on])

    # ---- ids: content numbers are a permutation so ids say nothing about what was planted;
    # rows are written in id order
    bld.content.clear()
    n_content = bld.n_content
    perm = r_ids.permutation(n_content)
    width = max(7, len(str(n_content - 1)))
    con_ids = _ids("c", perm, width)  # by content index
    inv = np.argsort(perm)  # row j of the file holds content index inv[j]

    accounts = pa.table(
        {
            "account_id": acc_ids,
            "created_at": _iso(acc_created),
            "age_band": _decode(AGE_BANDS, age),
            "status": _decode(STATUSES, status),
        }
    )
    par = c_parent[inv]
    content = pa.table(
        {
            "content_id": _ids("c", np.arange(n_content), width),
            "account_id": acc_ids.take(pa.array(c_author[inv])),
            "created_at": _iso(c_ts_all[inv]),
            "kind": _decode(KINDS, c_kind[inv]),
            "parent_id": con_ids.take(pa.array(par, mask=par < 0)),
            "label": _decode(LABELS, c_label[inv]),
            "label_source": _decode(SOURCES, c_source[inv]),
            "label_confidence": pa.array(c_conf[inv], pa.float64(), from_pandas=True),
        }
    )
    del par, inv, c_author, c_kind, c_parent, c_label, c_source, c_conf

    say("follows table")
    fs = np.concatenate([f for f, _ in bld.follows])
    fd = np.concatenate([d for _, d in bld.follows])
    bld.follows.clear()
    key = _unique(fs * n + fd)
    fs, fd = key // n, key % n
    del key
    keep = fs != fd
    # groomers' minors are not connected to each other
    for kids in groomer_minors:
        both = np.zeros(n, bool)
        both[kids] = True
        keep &= ~(both[fs] & both[fd])
    fs, fd = fs[keep], fd[keep]
    follows = pa.table(
        {
            "follower_id": acc_ids.take(pa.array(fs)),
            "followee_id": acc_ids.take(pa.array(fd)),
            "created_at": _iso(_year_ts(r_ts, len(fs))),
        }
    )
    del fs, fd, keep

    say("links table")
    if url_links:
        kinds_ = np.array([u[0] for u in url_links])
        srcs = np.array([u[1] for u in url_links], np.int64)
        texts = pa.array([u[2] for u in url_links], pa.string())
        tss = np.array([u[3] for u in url_links], np.int64)
        for sk, lk in ((CON, "url"), (ACC, "bio")):
            sel = np.flatnonzero(kinds_ == sk)
            bld.add_links(sk, srcs[sel], URL, texts.take(pa.array(sel)), lk, tss[sel])
    link_parts = []
    for blk in bld.links:
        src_ids = (acc_ids if blk["src_kind"] == ACC else con_ids).take(pa.array(blk["src"]))
        dst = blk["dst"]
        if blk["dst_kind"] == ACC:
            dst_ids = acc_ids.take(pa.array(np.asarray(dst, np.int64)))
        elif blk["dst_kind"] == CON:
            dst_ids = con_ids.take(pa.array(np.asarray(dst, np.int64)))
        elif blk["dst_kind"] == TAG:
            dst_ids = tag_text.take(pa.array(np.asarray(dst, np.int64)))
        else:
            dst_ids = dst
        cnt = len(blk["src"])
        link_parts.append(
            pa.table(
                {
                    "src_kind": pa.repeat(pa.scalar(NODE_KINDS[blk["src_kind"]]), cnt).cast(pa.string()),
                    "src_id": src_ids,
                    "dst_kind": pa.repeat(pa.scalar(NODE_KINDS[blk["dst_kind"]]), cnt).cast(pa.string()),
                    "dst_id": dst_ids.cast(pa.string()),
                    "kind": pa.repeat(pa.scalar(blk["kind"]), cnt).cast(pa.string()),
                    "created_at": _iso(blk["ts"]),
                }
            )
        )
    bld.links.clear()
    links = pa.concat_tables(link_parts)
    del link_parts

    # ---- truth
    say("truth")

    def node(kind: int, ref: int | str) -> dict[str, str]:
        if kind == ACC:
            return {"kind": "account", "id": acc_ids[ref].as_py()}
        if kind == CON:
            return {"kind": "content", "id": con_ids[ref].as_py()}
        if kind == TAG:
            return {"kind": "hashtag", "id": tag_text[ref].as_py()}
        return {"kind": "url", "id": str(ref)}

    def aids(idx: np.ndarray) -> list[str]:
        return sorted(acc_ids.take(pa.array(np.asarray(idx, np.int64))).to_pylist())

    def cids(idx: np.ndarray) -> list[str]:
        return sorted(con_ids.take(pa.array(np.asarray(idx, np.int64))).to_pylist())

    for ci, mem in enumerate(clusters):
        truth_clusters.append(
            {
                "cluster_id": f"planted-c{ci}",
                "accounts": aids(mem),
                "content": cids(np.concatenate(cluster_content[ci])),
                "urls": sorted(cluster_urls[ci]),
                "hashtags": sorted(tag_text.take(pa.array(cluster_tags[ci])).to_pylist()),
            }
        )
    trails = []
    for tid, tr in enumerate(trails_raw):
        trails.append(
            {
                "trail_id": f"planted-t{tid}",
                "shape": tr["shape"],
                "source_content_id": con_ids[tr["source"]].as_py(),
                "bridge_account_id": acc_ids[tr["bridge"]].as_py(),
                "cluster_id": f"planted-c{tr['cluster']}",
                "nodes": [node(k_, ref) for k_, ref in tr["nodes"]],
                "edges": [e.value for e, _ in tr["edges"]],
                "directions": [d for _, d in tr["edges"]],
            }
        )
    truth_b = [
        {
            "account_id": acc_ids[b["account"]].as_py(),
            "cluster_id": f"planted-c{b['cluster']}",
            "trails": [f"planted-t{t}" for t in b["trails"]],
        }
        for b in truth_bridges
    ]
    decoys: list[dict[str, Any]] = []
    for h in hubs:
        decoys.append(_decoy("hub", account_id=acc_ids[int(h)].as_py()))
    for tag, _ in MEGA_HASHTAGS:
        decoys.append(_decoy("mega_hashtag", hashtag=tag))
    for b in benign:
        decoys.append(_decoy("benign_commenter", account_id=acc_ids[int(b)].as_py()))
    for t, cls in zip(teachers, teacher_classes):
        decoys.append(_decoy("teacher", account_id=acc_ids[int(t)].as_py()) | {"minors": aids(cls)})
    for a, c in zip(fp_accounts, fp_content):
        decoys.append(_decoy("false_positive_label", account_id=acc_ids[int(a)].as_py(), content_id=con_ids[c].as_py()))
    truth = {
        "synthetic": True,
        "generator": GENERATOR,
        "version": TRUTH_VERSION,
        "seed": params.seed,
        "accounts": n,
        "clusters": truth_clusters,
        "bridges": truth_b,
        "trails": trails,
        "groomers": [
            {"account_id": acc_ids[int(g)].as_py(), "minors": aids(kids)} for g, kids in zip(groomers, groomer_minors)
        ],
        "decoys": decoys,
    }
    if params.background_mix > 0:
        truth["background_mix"] = params.background_mix
        truth["incidental"] = [
            {
                "account_id": acc_ids[d["account"]].as_py(),
                "kind": d["kind"],
                "cluster_id": f"planted-c{d['cluster']}",
                "targets": aids(np.array(d["targets"])),
            }
            for d in incidental
        ]
    return Snapshot(tables={"accounts": accounts, "content": content, "follows": follows, "links": links}, truth=truth)


def _mix_members(
    bld: _Builder,
    rng: np.random.Generator,
    mix: float,
    clusters: list[np.ndarray],
    cluster_content: list[list[np.ndarray]],
    cluster_plain: list[np.ndarray],
    ordinary: np.ndarray,
    age: np.ndarray,
    community: np.ndarray,
    activity: np.ndarray,
    by_comm: _Sampler,
    glob: _Sampler,
    vocab: _Sampler,
    posts: np.ndarray,
    p_author: np.ndarray,
    p_ts: np.ndarray,
    p_kind: np.ndarray,
    p_label: np.ndarray,
    post_w: np.ndarray,
) -> list[dict[str, Any]]:
    """Give cluster members background activity in both directions, `mix` times an ordinary
    account's: ordinary posts (vocabulary hashtags; mega hashtags come later, as for all
    content), follows of ordinary accounts, comments under unlabelled posts of ordinary adults,
    a few unsuspecting ordinary followers, and platform recommendations of their unlabelled
    items from ordinary unlabelled posts.

    Nothing here starts at child-oriented content, mentions anyone, or uses a cluster's coded
    hashtags, invite URLs or group, so no trail shape appears without a bridge. The only
    background references into a cluster that an account makes are the ordinary followers'
    follows (recommendations are made by the platform); they are returned for truth's
    `incidental` as dicts (account, cluster, targets)."""
    # posts a member comments under or is recommended from: unlabelled, not a group, by an
    # ordinary adult (members do not go looking for minors' posts in this model)
    benign = (p_label == NONE_L) & (p_kind != GROUP) & ordinary[p_author] & (age[p_author] == ADULT)
    comment_on = _Sampler(np.where(benign, post_w, 0.0))
    rec_from = _Sampler(benign.astype(np.float64))
    followers = _Sampler(np.where(ordinary, activity, 0.0))
    incidental: dict[tuple[int, int], set[int]] = {}
    for ci, mem in enumerate(clusters):
        s = len(mem)
        act = rng.lognormal(0.0, 0.9, s) / math.exp(0.9**2 / 2)  # an ordinary activity, mean 1
        # ordinary posts: unlabelled, with vocabulary hashtags; they are the cluster's content
        a_p = np.repeat(mem, rng.poisson(1.5 * mix * act))
        ts_p = _year_ts(rng, len(a_p))
        kind_p = np.searchsorted(np.cumsum([0.45, 0.25, 0.22, 0.05]), rng.random(len(a_p)), side="right")
        own = bld.add_content(a_p, ts_p, kind_p.astype(np.int8))
        t_src = np.repeat(np.arange(len(own)), rng.poisson(1.0, len(own)))
        t_dst, _ = vocab.sample(rng, len(t_src))
        key = _unique(t_src * len(vocab.w) + t_dst)
        t_src, t_dst = key // len(vocab.w), key % len(vocab.w)
        bld.add_links(CON, own[t_src], TAG, t_dst, "hashtag", ts_p[t_src])
        # follows out (hubs are already followed): ordinary accounts, mostly of the member's community
        f_src = np.repeat(mem, rng.poisson(9.0 * mix * act))
        local = rng.random(len(f_src)) < 0.8
        f_dst = np.empty(len(f_src), np.int64)
        f_ok = np.empty(len(f_src), bool)
        f_dst[local], f_ok[local] = by_comm.sample(rng, int(local.sum()), community[f_src[local]])
        f_dst[~local], f_ok[~local] = glob.sample(rng, int((~local).sum()))
        bld.add_follows(f_src[f_ok], f_dst[f_ok])
        # comments under unlabelled posts of ordinary adults: references out of the cluster
        c_auth = np.repeat(mem, rng.poisson(2.0 * mix * act))
        on, c_ok = comment_on.sample(rng, len(c_auth))
        on, c_auth = on[c_ok], c_auth[c_ok]
        com = bld.add_content(c_auth, _after(rng, p_ts[on], 3.0), COMMENT, posts[on])
        # unsuspecting ordinary followers: the only background references into the cluster
        fol_dst = np.repeat(mem, rng.poisson(3.0 * mix, s))
        fol, fol_ok = followers.sample(rng, len(fol_dst))
        fol, fol_dst = fol[fol_ok], fol_dst[fol_ok]
        bld.add_follows(fol, fol_dst)
        for a, b in zip(fol.tolist(), fol_dst.tolist()):
            incidental.setdefault((a, ci), set()).add(b)
        # the platform recommends the members' unlabelled items from ordinary unlabelled posts
        plain = np.concatenate([cluster_plain[ci], own])
        r_dst = np.repeat(plain, rng.poisson(2.0 * mix, len(plain)))
        r_src, r_ok = rec_from.sample(rng, len(r_dst))
        r_src, r_dst = r_src[r_ok], r_dst[r_ok]
        bld.add_links(CON, posts[r_src], CON, r_dst, "recommendation", _after(rng, p_ts[r_src], 1.0))
        cluster_content[ci].extend([own, com])
    return [
        {"account": a, "cluster": ci, "kind": "follows_member", "targets": sorted(t)}
        for (a, ci), t in sorted(incidental.items())
    ]


def _decoy(
    kind: str, *, account_id: str | None = None, hashtag: str | None = None, content_id: str | None = None
) -> dict[str, Any]:
    return {"decoy": kind, "account_id": account_id, "hashtag": hashtag, "content_id": content_id}


def _contact_comments(
    bld: _Builder,
    rng: np.random.Generator,
    adult_: int,
    minors: np.ndarray,
    has_post: np.ndarray,
    first_post: np.ndarray,
    posts: np.ndarray,
    p_ts: np.ndarray,
) -> None:
    """`adult_` comments under a post of each minor that has one and mentions them there; minors
    without posts are mentioned from a post of `adult_` (follows are added by the caller)."""
    with_post = minors[has_post[minors]]
    on = first_post[with_post]
    ts = _after(rng, p_ts[on], 2.0)
    com = bld.add_content(np.full(len(on), adult_), ts, COMMENT, posts[on])
    bld.add_links(CON, com, ACC, with_post, "mention", ts)
    without = minors[~has_post[minors]]
    if len(without):
        ts2 = _year_ts(rng, len(without))
        own = bld.add_content(np.full(len(without), adult_), ts2, POST)
        bld.add_links(CON, own, ACC, without, "mention", ts2)


# --------------------------------------------------------------------------- writing

_TABLE_FILE = re.compile(r"^(accounts|content|follows|links)([-_.].*)?\.(parquet|csv|jsonl|json|ndjson)$")
ROWS_PER_FILE = 5_000_000


def write_snapshot(
    snap: Snapshot, out_dir: Path, fmt: str = "parquet", split: int = 0, force: bool = False
) -> list[str]:
    """Write the tables, truth.json and README.txt into `out_dir`; returns the file names written.

    `split` = files per table (0: one file per 5,000,000 rows). Refuses a directory that already
    holds table files unless `force`, which deletes those (and the side files) first, so no stale
    table of another format or split is left for ingest to pick up."""
    if fmt not in FORMATS:
        raise ConfigError(f"synth: --format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    if split < 0:
        raise ConfigError(f"synth: --split must be >= 0 (got {split})")
    out_dir = Path(out_dir)
    old = check_out_dir(out_dir, force)
    out_dir.mkdir(parents=True, exist_ok=True)
    for p in old:
        if p.is_dir():
            for q in sorted(p.iterdir()):
                q.unlink()
            p.rmdir()
        else:
            p.unlink()
    for name in SIDE_FILES:
        (out_dir / name).unlink(missing_ok=True)
    written: list[str] = []
    for name in TABLES:
        table = snap.tables[name]
        k = split or max(1, math.ceil(table.num_rows / ROWS_PER_FILE))
        bounds = np.linspace(0, table.num_rows, k + 1).astype(np.int64)
        for i in range(k):
            part = table.slice(int(bounds[i]), int(bounds[i + 1] - bounds[i]))
            fname = f"{name}.{fmt}" if k == 1 else f"{name}-{i:04d}.{fmt}"
            _write_table(part, out_dir / fname, fmt)
            written.append(fname)
    (out_dir / "truth.json").write_text(json.dumps(snap.truth, indent=1) + "\n", encoding="utf-8")
    (out_dir / "README.txt").write_text(_readme(snap.truth), encoding="utf-8")
    return written + list(SIDE_FILES)


def check_out_dir(out_dir: Path, force: bool) -> list[Path]:
    """The snapshot files already in `out_dir` (to replace); raises unless `force` when there are any."""
    old = sorted(_existing_table_files(Path(out_dir))) if Path(out_dir).is_dir() else []
    if old and not force:
        raise ConfigError(
            f"synth: {out_dir} already holds snapshot files ({old[0].name}, ...); "
            "use --force to replace them or choose an empty directory"
        )
    return old


def _existing_table_files(out_dir: Path) -> list[Path]:
    found = []
    for p in out_dir.iterdir():
        if p.is_dir() and p.name in TABLES or _TABLE_FILE.match(p.name) or p.name in SIDE_FILES:
            found.append(p)
    return found


def _write_table(table: pa.Table, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        pq.write_table(table, path, compression="zstd")
    elif fmt == "csv":
        pacsv.write_csv(table, path)
    else:
        import duckdb

        con = duckdb.connect()
        try:
            con.execute("SET preserve_insertion_order = true")
            con.register("rows_", table)
            con.execute(f"COPY (SELECT * FROM rows_) TO '{_sql_path(path)}' (FORMAT JSON)")
        finally:
            con.close()


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _readme(truth: dict[str, Any]) -> str:
    return (
        "SYNTHETIC DATA - NOT REAL\n"
        "=========================\n\n"
        f"Generated by {GENERATOR} (crumbgraph synth), truth version {truth['version']},\n"
        f"seed {truth['seed']}, {truth['accounts']} accounts.\n"
        + f"Made with: crumbgraph synth --accounts {truth['accounts']} --seed {truth['seed']}"
        + (f" --background-mix {truth['background_mix']}" if "background_mix" in truth else "")
        + "\n"
        + "\nEvery account, content item, URL and hashtag here was made up by a seeded random\n"
        "generator. Nothing describes a real person, account or site; domains use the reserved\n"
        ".example top-level domain. No media exists or is referenced.\n\n"
        f"truth.json lists what was planted: {len(truth['clusters'])} abusive clusters, "
        f"{len(truth['bridges'])} bridge accounts,\n{len(truth['trails'])} breadcrumb trails, "
        f"{len(truth['groomers'])} grooming-like contacts and {len(truth['decoys'])} decoys.\n"
        "It is for tests and quality scoring only; detectors must not read it.\n"
        "See docs/synthetic-data.md in the crumbgraph repository.\n"
    )


def synth(
    out_dir: Path,
    accounts: int = 20_000,
    seed: int = 0,
    fmt: str = "parquet",
    split: int = 0,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    background_mix: float = 0.0,
) -> SynthSummary:
    """Generate and write a synthetic snapshot (the library call behind `crumbgraph synth`)."""
    t0 = time.perf_counter()
    if fmt not in FORMATS:
        raise ConfigError(f"synth: --format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    check_out_dir(Path(out_dir), force)  # fail before minutes of generating, not after
    snap = generate_snapshot(SynthParams(accounts=accounts, seed=seed, background_mix=background_mix), progress)
    if progress:
        progress("writing")
    files = write_snapshot(snap, out_dir, fmt, split, force)
    t = snap.truth
    return SynthSummary(
        out_dir=Path(out_dir),
        format=fmt,
        rows={name: snap.tables[name].num_rows for name in TABLES},
        files=files,
        seconds=time.perf_counter() - t0,
        truth_counts={
            "clusters": len(t["clusters"]),
            "bridges": len(t["bridges"]),
            "trails": len(t["trails"]),
            "groomers": len(t["groomers"]),
            "decoys": len(t["decoys"]),
        },
    )
