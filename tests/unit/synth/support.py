"""Helpers of the generator's tests: the snapshot they share and views of its rows."""

from __future__ import annotations

from typing import Any

from graph.model import RelType, rel_type_for_link_kind

N = 3000
SEED = 11
MIX = 1.0


def edges_of(rows: dict[str, dict[str, list[Any]]]) -> set[tuple[str, str, str, str, str]]:
    """Every relationship of the snapshot as (src_kind, src_id, type, dst_kind, dst_id)."""
    out = set()
    c = rows["content"]
    for cid, aid, parent in zip(c["content_id"], c["account_id"], c["parent_id"]):
        out.add(("account", aid, RelType.POSTED.value, "content", cid))
        if parent is not None:
            out.add(("content", cid, RelType.REPLY_TO.value, "content", parent))
    f = rows["follows"]
    out |= {("account", a, RelType.FOLLOWS.value, "account", b) for a, b in zip(f["follower_id"], f["followee_id"])}
    lk = rows["links"]
    for sk, s, dk, d, k in zip(lk["src_kind"], lk["src_id"], lk["dst_kind"], lk["dst_id"], lk["kind"]):
        out.add((sk, s, rel_type_for_link_kind(k).value, dk, d))
    return out


def owned_by(truth: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(kind, id) -> planted cluster id, for every node a cluster owns."""
    out = {}
    for cl in truth["clusters"]:
        for kind, key in (("account", "accounts"), ("content", "content"), ("url", "urls"), ("hashtag", "hashtags")):
            out.update({(kind, x): cl["cluster_id"] for x in cl[key]})
    return out


def row_edges(rows: Any) -> set[tuple[int, int | str, str, int, int | str]]:
    """Every relationship in generated `Rows` (before tables), as generator indices:
    (src node code, src, type, dst node code, dst); URL targets are the URL strings."""
    from synth.codes import ACC, CON, URL

    out: set[tuple[int, int | str, str, int, int | str]] = set()
    parent = rows.column("parent")
    out |= {(ACC, int(a), RelType.POSTED.value, CON, i) for i, a in enumerate(rows.column("author"))}
    for i in map(int, (parent >= 0).nonzero()[0]):
        out.add((CON, i, RelType.REPLY_TO.value, CON, int(parent[i])))
    for b in rows.links:
        rel = rel_type_for_link_kind(b.kind).value
        dst = b.dst.to_pylist() if b.dst_kind == URL else [int(d) for d in b.dst]
        out |= {(b.src_kind, int(s), rel, b.dst_kind, d) for s, d in zip(b.src, dst)}
    for u in rows.url_links:
        kind = "bio" if u.src_kind != CON else "url"
        out.add((u.src_kind, u.src, rel_type_for_link_kind(kind).value, URL, u.url))
    return out
