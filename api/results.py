"""Reading a run's results for the API: results.json parsed and indexed in memory once per
run (pathways by source, cluster and account; clusters; flagged accounts), cached for a few
runs, and paged with opaque cursors in score order.
"""

from __future__ import annotations

import base64
import bisect
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool

from graph.errors import CrumbgraphError, InvalidRequest, NotFound
from graph.model import NodeKind
from graph.store import GraphStore

log = logging.getLogger(__name__)

LATEST = "latest"


def _score_key(item: dict[str, Any], id_field: str) -> tuple[float, str]:
    return (-float(item.get("score") or 0.0), str(item.get(id_field, "")))


@dataclass
class RunIndex:
    """One run's results, sorted by score (highest first, ties by id) with lookup lists of
    positions (ascending, hence also in score order)."""

    run_id: str
    snapshot_digest: str | None
    pathways: list[dict[str, Any]]
    clusters: list[dict[str, Any]]
    flagged: list[dict[str, Any]]
    pathway_pos: dict[str, int] = field(default_factory=dict)
    cluster_pos: dict[str, int] = field(default_factory=dict)
    flagged_pos: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, list[int]] = field(default_factory=dict)
    by_cluster: dict[str, list[int]] = field(default_factory=dict)
    by_account: dict[str, list[int]] = field(default_factory=dict)
    clusters_of_account: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, run_id: str, results: dict[str, Any]) -> RunIndex:
        pathways = sorted(results.get("pathways") or [], key=lambda p: _score_key(p, "pathway_id"))
        clusters = sorted(results.get("clusters") or [], key=lambda c: _score_key(c, "cluster_id"))
        flagged = sorted(results.get("flagged_accounts") or [], key=lambda a: _score_key(a, "account_id"))
        idx = cls(
            run_id=str(results.get("run_id") or run_id),
            snapshot_digest=results.get("snapshot_digest"),
            pathways=pathways,
            clusters=clusters,
            flagged=flagged,
        )
        for pos, p in enumerate(pathways):
            idx.pathway_pos[str(p.get("pathway_id"))] = pos
            src = p.get("source") or {}
            idx.by_source.setdefault(str(src.get("id")), []).append(pos)
            idx.by_cluster.setdefault(str(p.get("cluster_id")), []).append(pos)
            seen: set[str] = set()
            for node in p.get("nodes") or []:
                if node.get("kind") == NodeKind.ACCOUNT.value and node.get("id") not in seen:
                    seen.add(node["id"])
                    idx.by_account.setdefault(str(node["id"]), []).append(pos)
        for pos, c in enumerate(clusters):
            idx.cluster_pos[str(c.get("cluster_id"))] = pos
            for a in c.get("accounts") or []:
                idx.clusters_of_account.setdefault(str(a), []).append(str(c.get("cluster_id")))
        for pos, a in enumerate(flagged):
            idx.flagged_pos[str(a.get("account_id"))] = pos
        return idx

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "snapshot_digest": self.snapshot_digest,
            "counts": {
                "pathways": len(self.pathways),
                "clusters": len(self.clusters),
                "flagged_accounts": len(self.flagged),
            },
        }


class ResultsCache:
    """Indexes of the most recently used runs (results of a run never change once saved)."""

    def __init__(self, size: int = 4) -> None:
        self._size = max(1, size)
        self._items: OrderedDict[str, RunIndex] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[str, threading.Lock] = {}

    async def aget(self, store: GraphStore, run_id: str) -> RunIndex:
        """`get` for async routes: a cached run is answered on the event loop; anything that may
        touch the store (a first use, `latest`) runs in the thread pool."""
        with self._lock:
            hit = self._items.get(run_id)
        if hit is not None:
            return hit
        return await run_in_threadpool(self.get, store, run_id)

    def get(self, store: GraphStore, run_id: str) -> RunIndex:
        run_id = resolve_run_id(store, run_id)
        with self._lock:
            if run_id in self._items:
                self._items.move_to_end(run_id)
                return self._items[run_id]
            build_lock = self._building.setdefault(run_id, threading.Lock())
        with build_lock:  # one build per run, however many requests arrive at once
            with self._lock:
                if run_id in self._items:
                    return self._items[run_id]
            raw = store.get_results(run_id)
            try:
                parsed = json.loads(raw)
            except ValueError as exc:
                raise NotFound(f"run {run_id}: results.json is not valid JSON ({exc})") from exc
            index = RunIndex.build(run_id, parsed)
            with self._lock:
                self._items[run_id] = index
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
                self._building.pop(run_id, None)
            return index


def warm_up(cache: ResultsCache, store: GraphStore | None) -> None:
    """Index the newest run and warm the store's point reads ahead of the first request (run in
    a background thread at startup), so the first investigator to open the console pays for
    neither. Any failure is left for the first real request to report."""
    if store is None:
        return
    try:
        cache.get(store, LATEST)
    except CrumbgraphError as exc:  # no runs yet, store gone: nothing to index
        log.debug("results warm-up skipped: %s", exc)
    try:
        store.prepare_reads()
    except CrumbgraphError as exc:
        log.debug("store warm-up skipped: %s", exc)


def resolve_run_id(store: GraphStore, run_id: str) -> str:
    """`latest` names the newest run that has results; anything else is taken as is."""
    if run_id != LATEST:
        return run_id
    for record in store.list_runs():
        rid = record.get("run_id")
        if rid and record.get("status", "succeeded") not in {"failed", "running"}:
            return str(rid)
    raise NotFound("there are no runs yet")


def get_run_record(store: GraphStore, run_id: str) -> dict[str, Any]:
    return store.get_run(resolve_run_id(store, run_id))


# -- cursors ---------------------------------------------------------------------------
def encode_cursor(pos: int) -> str:
    return base64.urlsafe_b64encode(f"after:{pos}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The position after which the next page starts (-1: from the beginning)."""
    if not cursor:
        return -1
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tag, _, pos = text.partition(":")
        if tag != "after" or not pos.isdigit():
            raise ValueError(text)
        return int(pos)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest(f"cursor {cursor!r} is not one this API issued") from None


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None
    total: int


def page(items: Sequence[dict[str, Any]], positions: Sequence[int] | None, cursor: str | None, limit: int) -> Page:
    """A page of `items` restricted to ascending `positions` (None: all), after the cursor."""
    after = decode_cursor(cursor)
    if positions is None:
        start = after + 1
        chosen = range(start, min(len(items), start + limit))
        total = len(items)
        more = start + limit < len(items)
    else:
        start = bisect.bisect_right(positions, after)
        chosen = positions[start : start + limit]
        total = len(positions)
        more = start + limit < len(positions)
    out = [items[i] for i in chosen]
    last = chosen[-1] if len(chosen) else None
    return Page(out, encode_cursor(last) if more and last is not None else None, total)


def _intersect(lists: list[list[int]]) -> list[int]:
    lists = sorted(lists, key=len)
    keep = set(lists[0])
    for other in lists[1:]:
        keep &= set(other)
    return sorted(keep)


def query_pathways(
    index: RunIndex,
    *,
    source_id: str | None = None,
    cluster_id: str | None = None,
    account_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """Pathways of a run, highest score first, optionally by source content, cluster or account."""
    filters = []
    if source_id is not None:
        filters.append(index.by_source.get(source_id, []))
    if cluster_id is not None:
        filters.append(index.by_cluster.get(cluster_id, []))
    if account_id is not None:
        filters.append(index.by_account.get(account_id, []))
    positions = None if not filters else (filters[0] if len(filters) == 1 else _intersect(filters))
    return page(index.pathways, positions, cursor, limit)


def get_pathway(index: RunIndex, pathway_id: str) -> dict[str, Any]:
    pos = index.pathway_pos.get(pathway_id)
    if pos is None:
        raise NotFound(f"run {index.run_id}: no pathway {pathway_id!r}")
    return index.pathways[pos]


def get_cluster(index: RunIndex, cluster_id: str) -> dict[str, Any]:
    pos = index.cluster_pos.get(cluster_id)
    if pos is None:
        raise NotFound(f"run {index.run_id}: no cluster {cluster_id!r}")
    cluster = dict(index.clusters[pos])
    cluster["entry_pathways"] = len(index.by_cluster.get(cluster_id, []))
    return cluster


def query_flagged(index: RunIndex, *, role: str | None = None, cursor: str | None = None, limit: int = 50) -> Page:
    positions = None if role is None else [i for i, a in enumerate(index.flagged) if a.get("role") == role]
    return page(index.flagged, positions, cursor, limit)


def results_section(index: RunIndex, section: str, cursor: str | None, limit: int) -> Page:
    items = {"pathways": index.pathways, "clusters": index.clusters, "flagged_accounts": index.flagged}[section]
    return page(items, None, cursor, limit)


def describe_account(store: GraphStore, cache: ResultsCache, account_id: str, run_id: str) -> dict[str, Any]:
    """An account's stored properties plus what a run says of it (flags, clusters, pathways).
    NotFound if the account is not in the graph; no run yet means no flags."""
    node = store.get_node(NodeKind.ACCOUNT, account_id)
    try:
        index: RunIndex | None = cache.get(store, run_id)
    except NotFound:
        if run_id != LATEST:
            raise
        index = None
    flag = None
    if index is not None and account_id in index.flagged_pos:
        flag = index.flagged[index.flagged_pos[account_id]]
    return {
        "account_id": account_id,
        "properties": node,
        "run_id": index.run_id if index else None,
        "flag": flag,
        "clusters": index.clusters_of_account.get(account_id, []) if index else [],
        "pathway_count": len(index.by_account.get(account_id, [])) if index else 0,
    }


def account_pathways(
    store: GraphStore, cache: ResultsCache, account_id: str, run_id: str, cursor: str | None, limit: int
) -> tuple[RunIndex, Page]:
    store.get_node(NodeKind.ACCOUNT, account_id)  # NotFound for an unknown account
    index = cache.get(store, run_id)
    return index, query_pathways(index, account_id=account_id, cursor=cursor, limit=limit)


def account_neighbourhood(store: GraphStore, account_id: str, hops: int, limit: int) -> dict[str, Any]:
    return store.neighbourhood(NodeKind.ACCOUNT, account_id, hops=hops, limit=limit)
