"""Hashtags and URLs: a Zipf vocabulary of made-up words (plus each cluster's coded words and the
mega hashtags), made-up `.example` domains (plus each cluster's invite domain), and the
background's hashtags, bio links and page links."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth.background import Comments, Posts
from synth.codes import ACC, CON, TAG, URL
from synth.params import SynthParams
from synth.population import Population
from synth.roles import Cast
from synth.rows import Rows
from synth.sampling import Sampler, unique, year_ts, zipf_weights
from synth.strings import account_ids, ids, strings_from_matrix, words

logger = logging.getLogger(__name__)

#: Mega hashtags (decoys): text and the share of all non-comment content carrying it.
MEGA_HASHTAGS = (("fyp", 0.35), ("viral", 0.2), ("trending", 0.12))
CODED_PER_CLUSTER = 4  # coded words set aside per cluster (it uses 2-4 of them)


@dataclass(frozen=True)
class Hashtags:
    """Hashtag texts by index: the vocabulary, then the clusters' coded words, then the mega hashtags."""

    text: pa.Array
    vocab: Sampler  # vocabulary indices ∝ Zipf(1.05)
    n_vocab: int
    n_coded: int

    def coded(self, cluster: int) -> np.ndarray:
        """The coded words set aside for `cluster` (indices into `text`)."""
        return self.n_vocab + CODED_PER_CLUSTER * cluster + np.arange(CODED_PER_CLUSTER)

    @property
    def mega(self) -> np.ndarray:
        """Indices of MEGA_HASHTAGS, in order."""
        return self.n_vocab + self.n_coded + np.arange(len(MEGA_HASHTAGS))


@dataclass(frozen=True)
class Domains:
    """Domain names by index: the background's, then one invite domain per cluster."""

    text: pa.Array
    n_domains: int

    def invite(self, cluster: int) -> str:
        return str(self.text[self.n_domains + cluster].as_py())


def tag_background(
    params: SynthParams, cast: Cast, posts: Posts, comments: Comments, rng: np.random.Generator, rows: Rows
) -> Hashtags:
    """Draw the words; Poisson(1) vocabulary hashtags per post, one on 5% of comments."""
    n_vocab = max(300, params.accounts // 50)
    n_coded = CODED_PER_CLUSTER * len(cast.clusters)
    mat = words(rng, n_vocab + n_coded, 6)
    text = pa.concat_arrays([strings_from_matrix(mat), pa.array([t for t, _ in MEGA_HASHTAGS], pa.string())])
    tags = Hashtags(text, Sampler(zipf_weights(n_vocab)), n_vocab, n_coded)
    t_src = np.repeat(np.arange(len(posts)), rng.poisson(1.0, len(posts)))
    t_dst, _ = tags.vocab.sample(rng, len(t_src))
    key = unique(t_src * n_vocab + t_dst)
    t_src, t_dst = key // n_vocab, key % n_vocab
    rows.add_links(CON, posts.item[t_src], TAG, t_dst, "hashtag", posts.ts[t_src])
    ctag = rng.random(len(comments.item)) < 0.05
    c_dst, _ = tags.vocab.sample(rng, int(ctag.sum()))
    rows.add_links(CON, comments.item[ctag], TAG, c_dst, "hashtag", comments.ts[ctag])
    return tags


def link_background(people: Population, cast: Cast, posts: Posts, rng: np.random.Generator, rows: Rows) -> Domains:
    """Draw the domains; 25% of accounts outside the clusters get a bio link, 6% of posts link a page."""
    n_domains = max(60, people.n // 1000)
    mat = words(rng, n_domains + len(cast.clusters), 7)
    domains = Domains(pc.binary_join_element_wise(strings_from_matrix(mat), ".example", ""), n_domains)
    pick = Sampler(zipf_weights(n_domains, 1.1))
    bio = np.flatnonzero((rng.random(people.n) < 0.25) & ~cast.in_cluster)
    bio_dom, _ = pick.sample(rng, len(bio))
    bio_urls = pc.binary_join_element_wise(
        "https://", domains.text.take(pa.array(bio_dom)), "/", account_ids(people.n).take(pa.array(bio)), ""
    )
    rows.add_links(ACC, bio, URL, bio_urls, "bio", year_ts(rng, len(bio)))
    purl = np.flatnonzero(rng.random(len(posts)) < 0.06)
    purl_dom, _ = pick.sample(rng, len(purl))
    paths = ids("/p/", rng.integers(0, 10**7, len(purl)), 7)
    post_urls = pc.binary_join_element_wise("https://", domains.text.take(pa.array(purl_dom)), paths, "")
    rows.add_links(CON, posts.item[purl], URL, post_urls, "url", posts.ts[purl])
    return domains
