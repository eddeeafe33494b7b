"""An in-memory snapshot of one store generation for point reads: node rows and a CSR adjacency.

EmbeddedStore builds it on the first neighbourhood or node read and drops it on its next graph
write; the API is one long-lived process, so the build (one scan of each table) is paid once.
Nodes get a `vid`, their rank in (kind, id) order, so sorting vids sorts by (kind, id).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from graph.errors import NotFound
from graph.model import EDGE_KEY, NodeKind
from graph.store import _node_dict

#: Node kinds in vid order (sorted by their value, as (kind, id) sorting puts them).
KINDS: tuple[NodeKind, ...] = tuple(sorted(NodeKind, key=lambda k: k.value))


def _ranges(offsets: np.ndarray, vids: np.ndarray) -> np.ndarray:
    """Indices offsets[v]..offsets[v+1]-1 for every v in vids, concatenated in order."""
    starts, ends = offsets[vids], offsets[vids + 1]
    lens = ends - starts
    total = int(lens.sum())
    if total == 0:
        return np.empty(0, np.int64)
    shift = np.repeat(starts - (np.cumsum(lens) - lens), lens)
    return np.arange(total, dtype=np.int64) + shift


@dataclass(frozen=True)
class Adjacency:
    """Node tables (in vid order) and edges sorted by EDGE_KEY, with two CSR indexes over them."""

    generation: int
    tables: dict[NodeKind, pa.Table]   # NODE_SCHEMAS[kind] rows sorted by key
    keys: dict[NodeKind, pa.Array]     # the key column of each table
    offset: np.ndarray                 # vid of the first node of KINDS[i]; len(KINDS)+1 entries
    h_sorted: dict[NodeKind, np.ndarray]   # the stored key hashes, sorted ...
    h_order: dict[NodeKind, np.ndarray]    # ... and the local position of each
    src: np.ndarray                    # edges sorted by (src, type, kind, dst): all key columns as codes
    dst: np.ndarray
    type_code: np.ndarray
    kind_code: np.ndarray
    type_values: list[str]             # code -> string, in sorted order
    kind_values: list[str]
    out_offsets: np.ndarray            # CSR over src: edges of vid v are out_offsets[v]:out_offsets[v+1]
    nbr_offsets: np.ndarray            # CSR over both directions: neighbours of v ...
    nbr: np.ndarray                    # ... are nbr[nbr_offsets[v]:nbr_offsets[v+1]]

    @classmethod
    def build(cls, generation: int, tables: dict[NodeKind, pa.Table], hashes: dict[NodeKind, np.ndarray],
              edges: pa.Table) -> Adjacency:
        """From node tables sorted by key, their key hashes (same order), and edges with integer
        columns src, dst (vids) and string columns type, kind."""
        sizes = [tables[k].num_rows for k in KINDS]
        offset = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        n = int(offset[-1])
        keys = {k: tables[k].column(k.key).combine_chunks() for k in KINDS}
        h_order = {k: np.argsort(hashes[k], kind="stable") for k in KINDS}
        h_sorted = {k: hashes[k][h_order[k]] for k in KINDS}
        src = edges.column("src").to_numpy().astype(np.int32)
        dst = edges.column("dst").to_numpy().astype(np.int32)
        codes, values = [], []
        for col in ("type", "kind"):
            enc = edges.column(col).combine_chunks().dictionary_encode()
            words = enc.dictionary.to_pylist()
            rank = np.argsort(np.array(words, dtype=object)).argsort() if words else np.empty(0, np.int64)
            codes.append(rank[enc.indices.to_numpy(zero_copy_only=False)].astype(np.int32))
            values.append(sorted(words))
        order = np.lexsort((dst, codes[1], codes[0], src))
        src, dst, type_code, kind_code = src[order], dst[order], codes[0][order], codes[1][order]
        out_offsets = np.searchsorted(src, np.arange(n + 1), side="left").astype(np.int64)
        ends = np.concatenate([src, dst])
        others = np.concatenate([dst, src])
        by_end = np.argsort(ends, kind="stable")
        nbr_offsets = np.searchsorted(ends[by_end], np.arange(n + 1), side="left").astype(np.int64)
        return cls(generation, tables, keys, offset, h_sorted, h_order, src, dst, type_code, kind_code,
                   values[0], values[1], out_offsets, nbr_offsets, others[by_end].astype(np.int32))

    # -- node lookups ----------------------------------------------------------------
    def vids(self, kind: NodeKind, ids: list[str], hashes: list[int]) -> list[int | None]:
        """The vid of each id (None when absent); `hashes` are the store's key hashes of `ids`."""
        i = KINDS.index(kind)
        hs, order, keys = self.h_sorted[kind], self.h_order[kind], self.keys[kind]
        out: list[int | None] = []
        for node_id, h in zip(ids, hashes):
            found = None
            j = int(np.searchsorted(hs, np.uint64(h)))
            while j < len(hs) and int(hs[j]) == h:  # equal hashes: compare the keys themselves
                local = int(order[j])
                if keys[local].as_py() == node_id:
                    found = int(self.offset[i]) + local
                    break
                j += 1
            out.append(found)
        return out

    def rows(self, kind: NodeKind, vids: np.ndarray) -> pa.Table:
        """Node rows of `kind` for these vids (all of that kind), in vid order."""
        local = np.sort(vids) - self.offset[KINDS.index(kind)]
        return self.tables[kind].take(pa.array(local, pa.int64()))

    def _kind_index(self, vids: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.offset, vids, side="right") - 1

    # -- the neighbourhood -----------------------------------------------------------
    def neighbourhood(self, start: int, hops: int, limit: int) -> dict[str, Any]:
        """GraphStore.neighbourhood from a start vid; same algorithm as the generic one, over vids."""
        seen = np.array([start], np.int64)
        distance = np.array([0], np.int64)
        frontier = seen
        truncated = False
        for hop in range(1, hops + 1):
            room = limit - len(seen)
            if frontier.size == 0:
                break
            found = np.unique(self.nbr[_ranges(self.nbr_offsets, frontier)]).astype(np.int64)
            found = found[~np.isin(found, seen)]
            if room <= 0:
                truncated = bool(found.size)
                break
            if found.size > room:
                truncated = True
                found = found[:room]
            seen = np.concatenate([seen, found])
            distance = np.concatenate([distance, np.full(found.size, hop, np.int64)])
            frontier = found
            if truncated:
                break
        by_vid = np.argsort(seen)
        seen, distance = seen[by_vid], distance[by_vid]
        kind_of = self._kind_index(seen)
        nodes = []
        for i, kind in enumerate(KINDS):
            mine = kind_of == i
            if not mine.any():
                continue
            for row, d in zip(self.rows(kind, seen[mine]).to_pylist(), distance[mine].tolist()):
                nodes.append({"kind": kind.value, "id": row[kind.key], "distance": d, "properties": _node_dict(row)})
        nodes.sort(key=lambda n: n["distance"])  # stable: (kind, id) order kept within a distance
        return {"nodes": nodes, "edges": self._edges_among(seen), "truncated": truncated}

    def _edges_among(self, vids: np.ndarray) -> list[dict[str, str]]:
        """Edges with both ends in `vids` (sorted), as EDGE_KEY dicts sorted by EDGE_KEY."""
        idx = _ranges(self.out_offsets, vids)
        idx = idx[np.isin(self.dst[idx], vids)]
        ends = np.concatenate([self.src[idx], self.dst[idx]])
        names = self._names(ends)
        m = len(idx)
        out = []
        for j, t, k in zip(range(m), self.type_code[idx].tolist(), self.kind_code[idx].tolist()):
            (sk, si), (dk, di) = names[j], names[m + j]
            out.append(dict(zip(EDGE_KEY, (sk, si, self.type_values[t], self.kind_values[k], dk, di))))
        return out

    def _names(self, vids: np.ndarray) -> list[tuple[str, str]]:
        """(kind, id) of each vid, in the given order."""
        out: list[tuple[str, str] | None] = [None] * len(vids)
        kind_of = self._kind_index(vids)
        for i, kind in enumerate(KINDS):
            where = np.flatnonzero(kind_of == i)
            if where.size:
                ids = self.keys[kind].take(pa.array(vids[where] - self.offset[i], pa.int64())).to_pylist()
                for w, node_id in zip(where.tolist(), ids):
                    out[w] = (kind.value, node_id)
        return out  # type: ignore[return-value]


def start_vid(adjacency: Adjacency, kind: NodeKind, node_id: str, hash_of: Callable[[list[str]], list[int]]) -> int:
    """The vid of one node; NotFound (GraphStore.get_node's message) when absent."""
    vid = adjacency.vids(kind, [node_id], hash_of([node_id]))[0]
    if vid is None:
        raise NotFound(f"no {kind} node with {kind.key}={node_id!r}")
    return vid
