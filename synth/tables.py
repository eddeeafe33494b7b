"""The four ingest tables from the generated rows: content gets its ids (a random permutation,
so ids say nothing about what was planted), integer codes become strings, follows are
de-duplicated; `Ids` turns indices into the ids written (for truth.json)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from graph.model import AccountStatus, AgeBand, ContentLabel
from synth.codes import ACC, CON, KINDS, NODE_KINDS, SOURCES, TAG, URL
from synth.rows import LinkBlock
from synth.sampling import unique, year_ts
from synth.strings import account_ids, decode, ids, iso
from synth.world import World

logger = logging.getLogger(__name__)

TABLES = ("accounts", "content", "follows", "links")


@dataclass(frozen=True)
class Ids:
    """The ids written for account, content and hashtag indices."""

    account_ids: pa.Array
    content_ids: pa.Array  # by content index
    hashtag_text: pa.Array
    content_by_number: np.ndarray  # the content index numbered j (row j of the content table)

    def account(self, i: int) -> str:
        return str(self.account_ids[i].as_py())

    def accounts(self, idx: np.ndarray) -> list[str]:
        """Ids of `idx`, sorted."""
        return sorted(self.account_ids.take(pa.array(np.asarray(idx, np.int64))).to_pylist())

    def content(self, i: int) -> str:
        return str(self.content_ids[i].as_py())

    def contents(self, idx: np.ndarray) -> list[str]:
        """Ids of `idx`, sorted."""
        return sorted(self.content_ids.take(pa.array(np.asarray(idx, np.int64))).to_pylist())

    def hashtag(self, i: int) -> str:
        return str(self.hashtag_text[i].as_py())

    def node(self, kind: int, ref: int | str) -> dict[str, str]:
        """A truth node {"kind", "id"}: `ref` is an index, or the URL itself."""
        if kind == URL or isinstance(ref, str):
            return {"kind": NODE_KINDS[kind].value, "id": str(ref)}
        by_kind = {ACC: self.account, CON: self.content, TAG: self.hashtag}
        return {"kind": NODE_KINDS[kind].value, "id": by_kind[kind](ref)}


def number_content(world: World) -> Ids:
    """Content numbers are a random permutation of 0..n-1 (content index i gets number perm[i])."""
    n_content = world.rows.n_content
    perm = world.rng.ids.permutation(n_content)
    content_ids = ids("c", perm, _width(n_content))
    return Ids(account_ids(world.n), content_ids, world.tags.text, np.argsort(perm))


def _width(n_content: int) -> int:
    return max(7, len(str(n_content - 1)))


def accounts_table(world: World, ids_: Ids) -> pa.Table:
    p = world.people
    return pa.table(
        {
            "account_id": ids_.account_ids,
            "created_at": iso(p.created),
            "age_band": decode(AgeBand.code_table(), p.age),
            "status": decode(AccountStatus.code_table(), p.status),
        }
    )


def content_table(world: World, ids_: Ids) -> pa.Table:
    """Rows in id order (row j holds the content index numbered j). Consumes the content rows."""
    n_content = world.rows.n_content
    inv = ids_.content_by_number
    col = world.rows.take_content()
    par = col["parent"][inv]
    return pa.table(
        {
            "content_id": ids("c", np.arange(n_content), _width(n_content)),
            "account_id": ids_.account_ids.take(pa.array(col["author"][inv])),
            "created_at": iso(col["ts"][inv]),
            "kind": decode(KINDS, col["kind"][inv]),
            "parent_id": ids_.content_ids.take(pa.array(par, mask=par < 0)),
            "label": decode(ContentLabel.code_table(), col["label"][inv]),
            "label_source": decode(SOURCES, col["source"][inv]),
            "label_confidence": pa.array(col["conf"][inv], pa.float64(), from_pandas=True),
        }
    )


def follows_table(world: World, ids_: Ids) -> pa.Table:
    """Distinct pairs, no self-follows, none between two accounts kept unlinked. Consumes the follows."""
    n, rows = world.n, world.rows
    fs = np.concatenate([f for f, _ in rows.follows])
    fd = np.concatenate([d for _, d in rows.follows])
    rows.follows.clear()
    key = unique(fs * n + fd)
    fs, fd = key // n, key % n
    del key
    keep = fs != fd
    for group in rows.unlinked:
        both = np.zeros(n, bool)
        both[group] = True
        keep &= ~(both[fs] & both[fd])
    fs, fd = fs[keep], fd[keep]
    return pa.table(
        {
            "follower_id": ids_.account_ids.take(pa.array(fs)),
            "followee_id": ids_.account_ids.take(pa.array(fd)),
            "created_at": iso(year_ts(world.rng.timestamps, len(fs))),
        }
    )


def links_table(world: World, ids_: Ids) -> pa.Table:
    """Every link block in the order added, then the URL links (contents', then accounts'). Consumes the links."""
    rows = world.rows
    if rows.url_links:
        kinds = np.array([u.src_kind for u in rows.url_links])
        srcs = np.array([u.src for u in rows.url_links], np.int64)
        texts = pa.array([u.url for u in rows.url_links], pa.string())
        tss = np.array([u.ts for u in rows.url_links], np.int64)
        for sk, lk in ((CON, "url"), (ACC, "bio")):
            sel = np.flatnonzero(kinds == sk)
            rows.add_links(sk, srcs[sel], URL, texts.take(pa.array(sel)), lk, tss[sel])
    parts = [_link_rows(block, ids_) for block in rows.links]
    rows.links.clear()
    return pa.concat_tables(parts)


def _link_rows(block: LinkBlock, ids_: Ids) -> pa.Table:
    src_ids = (ids_.account_ids if block.src_kind == ACC else ids_.content_ids).take(pa.array(block.src))
    by_kind = {ACC: ids_.account_ids, CON: ids_.content_ids, TAG: ids_.hashtag_text}
    if block.dst_kind in by_kind:
        dst_ids = by_kind[block.dst_kind].take(pa.array(np.asarray(block.dst, np.int64)))
    else:
        dst_ids = block.dst
    cnt = len(block.src)
    return pa.table(
        {
            "src_kind": pa.repeat(pa.scalar(NODE_KINDS[block.src_kind].value), cnt).cast(pa.string()),
            "src_id": src_ids,
            "dst_kind": pa.repeat(pa.scalar(NODE_KINDS[block.dst_kind].value), cnt).cast(pa.string()),
            "dst_id": dst_ids.cast(pa.string()),
            "kind": pa.repeat(pa.scalar(block.kind), cnt).cast(pa.string()),
            "created_at": iso(block.ts),
        }
    )
