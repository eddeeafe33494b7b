"""Reading a run's results for the API: results.json parsed and indexed in memory once per
run (pathways by source, cluster and account; clusters; flagged accounts), cached for a few
runs, and paged with opaque cursors in score order.
"""

from __future__ import annotations

import base64
import bisect
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from starlette.concurrency import run_in_threadpool

from detectors.results import PAGED_SECTIONS, Cluster, FlaggedAccount, Pathway, RankedResults, ResultModel, Section
from detectors.runfolder import LATEST, newest_run_id
from graph.errors import CrumbgraphError, InvalidRequest, NotFound
from graph.model import NodeKind
from graph.store import GraphStore

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class RunIndex:
    """One run's results, sorted by score (highest first, ties by id) with lookup lists of
    positions (ascending, hence also in score order)."""

    run_id: str
    snapshot_digest: str | None
    pathways: list[Pathway]
    clusters: list[Cluster]
    flagged: list[FlaggedAccount]
    pathway_pos: dict[str, int] = field(default_factory=dict)
    cluster_pos: dict[str, int] = field(default_factory=dict)
    flagged_pos: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, list[int]] = field(default_factory=dict)
    by_cluster: dict[str, list[int]] = field(default_factory=dict)
    by_account: dict[str, list[int]] = field(default_factory=dict)
    by_trail: dict[str, list[int]] = field(default_factory=dict)
    representatives: list[int] = field(default_factory=list)
    clusters_of_account: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, run_id: str, results: RankedResults | dict[str, Any]) -> RunIndex:
        res = results if isinstance(results, RankedResults) else RankedResults.model_validate(results)
        idx = cls(
            run_id=res.run_id or run_id,
            snapshot_digest=res.snapshot_digest,
            pathways=sorted(res.pathways, key=lambda p: (-p.score, p.pathway_id)),
            clusters=sorted(res.clusters, key=lambda c: (-c.score, c.cluster_id)),
            flagged=sorted(res.flagged_accounts, key=lambda a: (-a.score, a.account_id)),
        )
        for pos, p in enumerate(idx.pathways):
            idx.pathway_pos[p.pathway_id] = pos
            idx.by_source.setdefault(p.source.id, []).append(pos)
            idx.by_cluster.setdefault(p.cluster_id, []).append(pos)
            idx.by_trail.setdefault(p.trail or p.pathway_id, []).append(pos)
            if (p.trail or p.pathway_id) == p.pathway_id:  # a trail's representative (or a pathway with no trail)
                idx.representatives.append(pos)
            for account in dict.fromkeys(n.id for n in p.nodes if n.kind == NodeKind.ACCOUNT):
                idx.by_account.setdefault(account, []).append(pos)
        for pos, c in enumerate(idx.clusters):
            idx.cluster_pos[c.cluster_id] = pos
            for a in c.accounts:
                idx.clusters_of_account.setdefault(a, []).append(c.cluster_id)
        for pos, flag in enumerate(idx.flagged):
            idx.flagged_pos[flag.account_id] = pos
        return idx

    def section(self, section: Section) -> Sequence[ResultModel]:
        """The items of one paged section, in score order."""
        items: dict[Section, Sequence[ResultModel]] = {
            Section.PATHWAYS: self.pathways,
            Section.CLUSTERS: self.clusters,
            Section.FLAGGED_ACCOUNTS: self.flagged,
        }
        return items[section]

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "snapshot_digest": self.snapshot_digest,
            "counts": {section.value: len(self.section(section)) for section in PAGED_SECTIONS},
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
                parsed = RankedResults.model_validate_json(raw)
            except ValueError as exc:  # not JSON, or not the results format
                raise NotFound(f"run {run_id}: results.json is not valid results JSON ({exc})") from exc
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
    newest = newest_run_id(store.list_runs())
    if newest is None:
        raise NotFound("there are no runs yet")
    return newest


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
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    total: int


def page(items: Sequence[T], positions: Sequence[int] | None, cursor: str | None, limit: int) -> Page[T]:
    """A page of `items` restricted to ascending `positions` (None: all), after the cursor."""
    after = decode_cursor(cursor)
    chosen: Sequence[int]
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
    trail_id: str | None = None,
    trails_only: bool = False,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Pathway]:
    """Pathways of a run in queue order (highest score first), optionally by source content,
    cluster, account or trail (`trail_id`: the pathways of one trail); `trails_only`: one pathway
    per trail, its representative (the queue read as trails)."""
    filters = []
    if trail_id is not None:
        filters.append(index.by_trail.get(trail_id, []))
    if trails_only:
        filters.append(index.representatives)
    if source_id is not None:
        filters.append(index.by_source.get(source_id, []))
    if cluster_id is not None:
        filters.append(index.by_cluster.get(cluster_id, []))
    if account_id is not None:
        filters.append(index.by_account.get(account_id, []))
    positions = None if not filters else (filters[0] if len(filters) == 1 else _intersect(filters))
    return page(index.pathways, positions, cursor, limit)


def get_pathway(index: RunIndex, pathway_id: str) -> Pathway:
    pos = index.pathway_pos.get(pathway_id)
    if pos is None:
        raise NotFound(f"run {index.run_id}: no pathway {pathway_id!r}")
    return index.pathways[pos]


def get_cluster(index: RunIndex, cluster_id: str) -> tuple[Cluster, int]:
    """A cluster and how many pathways of the run reach it."""
    pos = index.cluster_pos.get(cluster_id)
    if pos is None:
        raise NotFound(f"run {index.run_id}: no cluster {cluster_id!r}")
    return index.clusters[pos], len(index.by_cluster.get(cluster_id, []))


def query_clusters(index: RunIndex, *, cursor: str | None = None, limit: int = 50) -> Page[Cluster]:
    return page(index.clusters, None, cursor, limit)


def query_flagged(
    index: RunIndex, *, role: str | None = None, cursor: str | None = None, limit: int = 50
) -> Page[FlaggedAccount]:
    positions = None if role is None else [i for i, a in enumerate(index.flagged) if a.role == role]
    return page(index.flagged, positions, cursor, limit)


def results_section(index: RunIndex, section: Section, cursor: str | None, limit: int) -> Page[ResultModel]:
    return page(index.section(section), None, cursor, limit)


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
    flag: FlaggedAccount | None = None
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
) -> tuple[RunIndex, Page[Pathway]]:
    store.get_node(NodeKind.ACCOUNT, account_id)  # NotFound for an unknown account
    index = cache.get(store, run_id)
    return index, query_pathways(index, account_id=account_id, cursor=cursor, limit=limit)


def account_neighbourhood(store: GraphStore, account_id: str, hops: int, limit: int) -> dict[str, Any]:
    return store.neighbourhood(NodeKind.ACCOUNT, account_id, hops=hops, limit=limit)
