"""Hashtags and URLs alone: the clusters' coded words and invite domains are set aside, unused by
the background; everything is a made-up word on a reserved `.example` domain."""

from __future__ import annotations

import numpy as np

from synth.codes import TAG, URL
from synth.vocabulary import MEGA_HASHTAGS


def test_coded_words_mega_hashtags_and_invite_domains_are_set_aside(world):
    tags, domains = world.tags, world.domains
    n_clusters = len(world.cast.clusters)
    coded = np.concatenate([tags.coded(ci) for ci in range(n_clusters)])
    assert len(set(coded.tolist())) == len(coded) == tags.n_coded
    assert (coded >= tags.n_vocab).all() and (coded < tags.n_vocab + tags.n_coded).all()
    assert [tags.text[int(i)].as_py() for i in tags.mega] == [t for t, _ in MEGA_HASHTAGS]
    words = tags.text.to_pylist()
    assert len(set(words)) == len(words) and all(w.isalpha() and w.islower() for w in words)
    invites = [domains.invite(ci) for ci in range(n_clusters)]
    assert all(d.endswith(".example") for d in domains.text.to_pylist())
    tagged = [b for b in world.rows.links if b.dst_kind == TAG]
    assert tagged and all((np.asarray(b.dst) < tags.n_vocab).all() for b in tagged)  # no coded word, no mega
    urls = [u for b in world.rows.links if b.dst_kind == URL for u in b.dst.to_pylist()]
    assert urls and all(u.startswith("https://") and ".example/" in u for u in urls)
    assert not [u for u in urls if any(f"//{d}/" in u for d in invites)]
