"""An in-memory snapshot of one store generation for point reads: node rows and a CSR adjacency.

EmbeddedStore builds it on the first neighbourhood or node read and drops it on its next graph
write; the API is one long-lived process, so the build (one scan of each table) is paid once.
Nodes get a `vid`, their rank in (kind, id) order, so sorting vids sorts by (kind, id).
"""

from __future__ import annotations

import bisect
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from graph.errors import NotFound
from graph.model import NodeKind
from graph.store import _node_dict

logger = logging.getLogger(__name__)

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
    return np.asarray(np.arange(total, dtype=np.int64) + shift, np.int64)


@dataclass(frozen=True)
class Adjacency:
    """Node tables (in vid order) and edges sorted by EDGE_KEY, with two CSR indexes over them."""

    generation: int
    tables: dict[NodeKind, pa.Table]  # NODE_SCHEMAS[kind] rows sorted by key
    keys: dict[NodeKind, pa.Array]  # the key column of each table (sorted)
    offset: np.ndarray  # vid of the first node of KINDS[i]; len(KINDS)+1 entries
    src: np.ndarray  # edges sorted by (src, type, kind, dst): all key columns as codes
    dst: np.ndarray
    type_code: np.ndarray
    kind_code: np.ndarray
    type_values: list[str]  # code -> string, in sorted order
    kind_values: list[str]
    out_offsets: np.ndarray  # CSR over src: edges of vid v are out_offsets[v]:out_offsets[v+1]
    nbr_offsets: np.ndarray  # CSR over both directions: neighbours of v ...
    nbr: np.ndarray  # ... are nbr[nbr_offsets[v]:nbr_offsets[v+1]]

    @classmethod
    def build(
        cls,
        generation: int,
        tables: dict[NodeKind, pa.Table],
        edges: pa.Table,
        type_values: list[str],
        kind_values: list[str],
    ) -> Adjacency:
        """From node tables sorted by key (binary order, as Python sorts str) and edges sorted by
        (src, type, kind, dst) with integer columns src, dst (vids) and type, kind (indexes into the
        sorted `type_values`, `kind_values`)."""
        tables = {k: tables[k].combine_chunks() for k in KINDS}  # take() on one chunk is fast
        sizes = [tables[k].num_rows for k in KINDS]
        offset = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        n = int(offset[-1])
        keys = {k: tables[k].column(k.key).chunk(0) if tables[k].num_rows else pa.array([], pa.string()) for k in KINDS}
        src = edges.column("src").to_numpy().astype(np.int32)
        dst = edges.column("dst").to_numpy().astype(np.int32)
        type_code = edges.column("type").to_numpy().astype(np.int16)
        kind_code = edges.column("kind").to_numpy().astype(np.int32)  # link kinds are open-ended
        out_offsets = np.searchsorted(src, np.arange(n + 1), side="left").astype(np.int64)
        ends = np.concatenate([src, dst])
        others = np.concatenate([dst, src])
        by_end = np.argsort(ends, kind="stable")
        nbr_offsets = np.searchsorted(ends[by_end], np.arange(n + 1), side="left").astype(np.int64)
        return cls(
            generation,
            tables,
            keys,
            offset,
            src,
            dst,
            type_code,
            kind_code,
            type_values,
            kind_values,
            out_offsets,
            nbr_offsets,
            others[by_end].astype(np.int32),
        )

    # -- node lookups ----------------------------------------------------------------
    def vids(self, kind: NodeKind, ids: list[str]) -> list[int | None]:
        """The vid of each id (None when absent), by binary search of the sorted keys."""
        view = _Sorted(self.keys[kind])
        first = int(self.offset[KINDS.index(kind)])
        out: list[int | None] = []
        for node_id in ids:
            j = bisect.bisect_left(view, node_id)
            out.append(first + j if j < len(view) and view[j] == node_id else None)
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
            found = self._new_neighbours(frontier, seen)
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
            kv, key = kind.value, kind.key
            for row, d in zip(self.rows(kind, seen[mine]).to_pylist(), distance[mine].tolist()):
                nodes.append({"kind": kv, "id": row[key], "distance": d, "properties": _node_dict(row)})
        nodes.sort(key=lambda n: n["distance"])  # stable: (kind, id) order kept within a distance
        return {"nodes": nodes, "edges": self._edges_among(seen), "truncated": truncated}

    def _new_neighbours(self, frontier: np.ndarray, seen: np.ndarray) -> np.ndarray:
        """Sorted distinct neighbours of `frontier` not in `seen`."""
        found = self.nbr[_ranges(self.nbr_offsets, frontier)]
        if found.size > len(self.nbr_offsets) // 64:  # many (a hub's followers): mark a bitmap, O(nodes)
            mark = np.zeros(len(self.nbr_offsets) - 1, np.bool_)
            mark[found] = True
            mark[seen] = False
            return np.flatnonzero(mark).astype(np.int64)
        found = np.sort(found).astype(np.int64)
        if found.size:
            found = found[np.concatenate(([True], found[1:] != found[:-1]))]
        return found[~np.isin(found, seen, kind="sort")]

    def _edges_among(self, vids: np.ndarray) -> list[dict[str, str]]:
        """Edges with both ends in `vids` (sorted), as dicts of the EDGE_KEY columns, sorted by EDGE_KEY."""
        idx = _ranges(self.out_offsets, vids)
        idx = idx[np.isin(self.dst[idx], vids, kind="sort")]
        ends = np.concatenate([self.src[idx], self.dst[idx]])
        names = self._names(ends)
        m = len(idx)
        types, kinds = self.type_values, self.kind_values
        return [
            {"src_kind": sk, "src_id": si, "type": types[t], "kind": kinds[k], "dst_kind": dk, "dst_id": di}
            for (sk, si), (dk, di), t, k in zip(
                names[:m], names[m:], self.type_code[idx].tolist(), self.kind_code[idx].tolist()
            )
        ]

    def _names(self, vids: np.ndarray) -> list[tuple[str, str]]:
        """(kind, id) of each vid, in the given order."""
        out: list[tuple[str, str] | None] = [None] * len(vids)
        kind_of = self._kind_index(vids)
        for i, kind in enumerate(KINDS):
            where = np.flatnonzero(kind_of == i)
            if where.size:
                ids = self.keys[kind].take(pa.array(vids[where] - self.offset[i], pa.int64())).to_pylist()
                kv = kind.value
                for w, node_id in zip(where.tolist(), ids):
                    out[w] = (kv, node_id)
        return out  # type: ignore[return-value]


class _Sorted:
    """A sorted Arrow string array as a sequence of str, for bisect."""

    def __init__(self, arr: pa.Array) -> None:
        self.arr = arr

    def __len__(self) -> int:
        return len(self.arr)

    def __getitem__(self, i: int) -> str:
        return str(self.arr[i].as_py())


def start_vid(adjacency: Adjacency, kind: NodeKind, node_id: str) -> int:
    """The vid of one node; NotFound (GraphStore.get_node's message) when absent."""
    vid = adjacency.vids(kind, [node_id])[0]
    if vid is None:
        raise NotFound(f"no {kind} node with {kind.key}={node_id!r}")
    return vid
