"""Subgraph selection: the flagged part of a run's frozen projection (the selected pathways,
accounts, content and cluster members, then hops of context) within the limits, as the dict the
exporters write (subgraph.json). Vectorised over the projection's arrays; no I/O."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from evidence.selection import Limits, Selection
from graph.errors import ConfigError, DetectorError, NotFound
from graph.model import AccountStatus, AgeBand, ContentLabel, NodeKind
from graph.projection import KINDS, NO_TIME, REL_TYPES, Projection

logger = logging.getLogger(__name__)

SUBGRAPH_FORMAT = "crumbgraph-subgraph"
SUBGRAPH_FORMAT_VERSION = 1

Row = dict[str, Any]
#: a node reference of the results: {"kind": ..., "id": ...} or (kind, id)
Ref = dict[str, str] | tuple[str, str]


@dataclass(frozen=True)
class _RunResults:
    """The run's results, looked up by id."""

    run_id: Any
    pathways: list[Row]
    pathways_by_id: dict[str, Row]
    clusters_by_id: dict[str, Row]
    flagged: list[Row]


@dataclass
class _Seeds:
    """Where the subgraph starts: the seed vids in priority order (pathway nodes, selected
    accounts and content, members of selected clusters) and the parts they came from."""

    pathway: np.ndarray
    selected: np.ndarray
    cluster_parts: list[np.ndarray]

    def ordered(self) -> np.ndarray:
        """Every seed once, at its first (highest-priority) place."""
        order = np.concatenate([np.asarray(s, np.int64) for s in [self.pathway, self.selected, *self.cluster_parts]])
        _, first = np.unique(order, return_index=True)
        seeds: np.ndarray = order[np.sort(first)]
        return seeds


def _iso(us: int) -> str | None:
    if us == NO_TIME:
        return None
    return datetime.fromtimestamp(us / 1_000_000, tz=UTC).isoformat().replace("+00:00", "Z")


def _vids_of(proj: Projection, refs: Sequence[Ref], what: str) -> np.ndarray:
    """vids of (kind, id) references, vectorised per kind; DetectorError for one not in the projection."""
    pairs = [(r["kind"], r["id"]) if isinstance(r, dict) else r for r in refs]
    out = np.full(len(pairs), -1, np.int64)
    for kind in KINDS:
        idx = [i for i, (k, _) in enumerate(pairs) if k == kind.value]
        if idx:
            out[idx] = proj.vids(kind, [pairs[i][1] for i in idx])
    if (out < 0).any():
        bad = pairs[int(np.flatnonzero(out < 0)[0])]
        raise DetectorError(f"{what}: {bad[0]} {bad[1]!r} is not in the run's projection")
    return out


def _pathway_vids(proj: Projection, pathways: list[Row]) -> np.ndarray:
    """vids of every node of `pathways`, pathway after pathway."""
    return _vids_of(proj, [n for p in pathways for n in p["nodes"]], "pathway")


# -- what was selected ---------------------------------------------------------------------------
def _index_results(results: dict[str, Any], selection: Selection) -> _RunResults:
    """The run's results by id; ConfigError for an empty selection, NotFound for a selected
    pathway or cluster the run does not have."""
    if selection.empty:
        raise ConfigError("evidence selection is empty: give cluster, account, pathway or content ids")
    run = _RunResults(
        run_id=results.get("run_id"),
        pathways=results.get("pathways", []),
        pathways_by_id={p["pathway_id"]: p for p in results.get("pathways", [])},
        clusters_by_id={c["cluster_id"]: c for c in results.get("clusters", [])},
        flagged=results.get("flagged_accounts", []),
    )
    for what, ids, known in (
        ("pathway", selection.pathways, run.pathways_by_id),
        ("cluster", selection.clusters, run.clusters_by_id),
    ):
        missing = [i for i in ids if i not in known]
        if missing:
            raise NotFound(f"run {run.run_id}: no {what} {missing[0]!r}")
    return run


def _selected_vids(proj: Projection, run: _RunResults, selection: Selection) -> np.ndarray:
    """vids of the selected accounts, then content; NotFound for one not in the projection."""
    picked = []
    for kind, ids in ((NodeKind.ACCOUNT, selection.accounts), (NodeKind.CONTENT, selection.content)):
        vids = proj.vids(kind, list(ids)) if ids else np.zeros(0, np.int64)
        if (vids < 0).any():
            raise NotFound(
                f"run {run.run_id}: no {kind.value} {ids[int(np.flatnonzero(vids < 0)[0])]!r} in its projection"
            )
        picked.append(np.asarray(vids, np.int64))
    return np.concatenate(picked)


def _choose_pathways(run: _RunResults, selection: Selection, max_pathways: int) -> tuple[list[Row], bool]:
    """The selected pathways (explicit, of a selected flagged account, through a selected account,
    into a selected cluster) in the results' order (best first), at most `max_pathways`; and
    whether any were cut."""
    wanted = set(selection.pathways)
    sel_acc = set(selection.accounts)
    sel_clu = set(selection.clusters)
    for fa in run.flagged:
        if fa["account_id"] in sel_acc:
            wanted.update(fa.get("pathways", []))
    chosen = [
        p
        for p in run.pathways
        if p["pathway_id"] in wanted
        or p.get("cluster_id") in sel_clu
        or any(n["kind"] == "account" and n["id"] in sel_acc for n in p["nodes"])
    ]
    return chosen[:max_pathways], len(chosen) > max_pathways


def _cluster_member_vids(proj: Projection, run: _RunResults, selection: Selection) -> list[np.ndarray]:
    """vids of the accounts and content of each selected cluster."""
    parts = []
    for cid in selection.clusters:
        c = run.clusters_by_id[cid]
        members: list[Ref] = [("account", a) for a in c.get("accounts", [])]
        members += [("content", x) for x in c.get("content", [])]
        parts.append(_vids_of(proj, members, f"cluster {cid}"))
    return parts


# -- how far it reaches --------------------------------------------------------------------------
def _keep_whole_pathways(proj: Projection, chosen: list[Row], hop: np.ndarray) -> list[Row]:
    """The chosen pathways all of whose nodes are in (a pathway goes in whole or not at all)."""
    lengths = np.array([len(p["nodes"]) for p in chosen])
    ends = np.cumsum(lengths)
    whole = np.logical_and.reduceat(hop[_pathway_vids(proj, chosen)] >= 0, ends - lengths)
    return [p for p, ok in zip(chosen, whole.tolist()) if ok]


def _expand(proj: Projection, hop: np.ndarray, seeds: np.ndarray, limits: Limits) -> tuple[np.ndarray, bool]:
    """Add up to `limits.hops` hops of context in either direction, breadth-first (one vectorised
    pass over the edges per hop), recording each node's hop in `hop`, until `max_nodes`. Returns
    the nodes in the order taken and whether the node limit cut any."""
    kept = [seeds]
    total = seeds.size
    truncated = False
    src, dst = proj.src.astype(np.int64), proj.dst.astype(np.int64)
    for h in range(1, limits.hops + 1):
        inside = hop >= 0
        nbrs = np.unique(np.concatenate([dst[inside[src]], src[inside[dst]]]))
        new = nbrs[hop[nbrs] < 0]
        room = limits.max_nodes - total
        if new.size > room:
            new, truncated = new[:room], True
        hop[new] = h
        kept.append(new)
        total += new.size
        if not new.size:
            break
    return np.concatenate(kept), truncated


def _pathway_edge_keys(proj: Projection, chosen: list[Row]) -> np.ndarray:
    """Keys (src, dst, type) of the edges the chosen pathways walk: an edge of the stated type
    joins each consecutive pair, in either direction."""
    type_code = {t.value: i for i, t in enumerate(REL_TYPES)}
    a_ref: list[Ref] = []
    b_ref: list[Ref] = []
    t_ref: list[int] = []
    for p in chosen:
        for (u, v), t in zip(zip(p["nodes"], p["nodes"][1:]), p["edges"]):
            a_ref.append(u)
            b_ref.append(v)
            t_ref.append(type_code.get(t, -1))
    a = _vids_of(proj, a_ref, "pathway")
    b = _vids_of(proj, b_ref, "pathway")
    t_arr = np.asarray(t_ref, np.int64)
    n = proj.n_nodes
    return np.concatenate([(a * n + b) * 64 + t_arr, (b * n + a) * 64 + t_arr])


def _select_edges(
    proj: Projection, inside: np.ndarray, chosen: list[Row], max_edges: int
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Edges among the kept nodes (as edge indexes), whether each is on a chosen pathway, and
    whether `max_edges` cut any; pathway edges are kept first when the budget is tight."""
    src, dst = proj.src.astype(np.int64), proj.dst.astype(np.int64)
    emask = np.flatnonzero(inside[src] & inside[dst])
    on_path = np.zeros(emask.size, bool)
    if chosen and emask.size:
        n = proj.n_nodes
        ekeys = (src[emask] * n + dst[emask]) * 64 + proj.etype[emask].astype(np.int64)
        on_path = np.isin(ekeys, _pathway_edge_keys(proj, chosen))
    if emask.size <= max_edges:
        return emask, on_path, False
    prio = np.argsort(~on_path, kind="stable")[:max_edges]
    prio.sort()
    return emask[prio], on_path[prio], True


# -- the rows of subgraph.json -------------------------------------------------------------------
def _flags(flagged: list[Row]) -> dict[str, tuple[float, list[str]]]:
    """Per flagged account: its highest score and all its roles."""
    flags: dict[str, tuple[float, list[str]]] = {}
    for fa in flagged:
        score, roles = flags.get(fa["account_id"], (0.0, []))
        flags[fa["account_id"]] = (max(score, fa["score"]), sorted({*roles, fa["role"]}))
    return flags


def _node_roles(proj: Projection, node_vids: np.ndarray, chosen: list[Row], seeds: _Seeds) -> dict[int, str]:
    """Why each node is in: on a pathway, selected, a member of a selected cluster, or context."""
    pathway_nodes = set(_pathway_vids(proj, chosen).tolist())
    sel_nodes = set(seeds.selected.tolist())
    cluster_nodes = set(np.concatenate(seeds.cluster_parts).tolist()) if seeds.cluster_parts else set()
    roles = {}
    for vid in node_vids.tolist():
        if vid in pathway_nodes:
            roles[vid] = "pathway"
        elif vid in sel_nodes:
            roles[vid] = "selected"
        elif vid in cluster_nodes:
            roles[vid] = "cluster"
        else:
            roles[vid] = "context"
    return roles


def _node_row(
    proj: Projection, vid: int, nid: str, role: str, hop: int, flags: dict[str, tuple[float, list[str]]]
) -> Row:
    """One node of subgraph.json (None where its kind has no such attribute)."""
    kind = KINDS[int(proj.kind[vid])].value
    account, content = kind == "account", kind == "content"
    fscore, froles = flags.get(nid, (None, None)) if account else (None, None)
    return {
        "key": f"{kind}:{nid}",
        "kind": kind,
        "id": nid,
        "role": role,
        "hop": hop,
        "age_band": AgeBand.from_code(proj.age_band[vid]).value if account else None,
        "status": AccountStatus.from_code(proj.status[vid]).value if account else None,
        "label": ContentLabel.from_code(proj.label[vid]).value if content else None,
        "label_confidence": float(proj.label_confidence[vid]) if content else None,
        "content_kind": proj.content_kind_of(vid) if content else None,
        "domain": (proj.domain[vid - proj.offsets[2]].as_py() or None) if kind == "url" else None,
        "flag_score": fscore,
        "flag_roles": froles,
    }


def _edge_rows(proj: Projection, emask: np.ndarray, on_path: np.ndarray, key_of: dict[int, str]) -> list[Row]:
    return [
        {"src": key_of[s], "dst": key_of[d], "type": REL_TYPES[t].value, "created_at": _iso(c), "on_pathway": bool(op)}
        for s, d, t, c, op in zip(
            proj.src[emask].tolist(),
            proj.dst[emask].tolist(),
            proj.etype[emask].tolist(),
            proj.created_at[emask].tolist(),
            on_path.tolist(),
        )
    ]


def _cluster_rows(run: _RunResults, selection: Selection, chosen: list[Row], in_sub: set[tuple[str, str]]) -> list[Row]:
    """The selected clusters and those the chosen pathways lead into, their member lists cut to
    the members inside the subgraph (`n_accounts`, `n_content`: the full sizes)."""
    clusters = []
    for cid in dict.fromkeys([*selection.clusters, *(p.get("cluster_id") for p in chosen)]):
        c = run.clusters_by_id.get(cid) if cid is not None else None
        if c is None:
            continue
        row = {k: v for k, v in c.items() if k not in ("accounts", "content")}
        row.update(
            {
                "accounts": [a for a in c.get("accounts", []) if ("account", a) in in_sub],
                "content": [x for x in c.get("content", []) if ("content", x) in in_sub],
                "n_accounts": len(c.get("accounts", [])),
                "n_content": len(c.get("content", [])),
            }
        )
        clusters.append(row)
    return clusters


# -- the whole -----------------------------------------------------------------------------------
def select_subgraph(
    proj: Projection,
    results: dict[str, Any],
    selection: Selection,
    limits: Limits | None = None,
    provenance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The flagged subgraph of `selection`: the selected pathways (explicit, through a selected
    account, or into a selected cluster; at most `max_pathways`, best first), the selected accounts,
    content and cluster members, then up to `hops` hops of context in either direction — at most
    `max_nodes` nodes and `max_edges` edges (pathway nodes and edges first). NotFound for an id that
    is not in the run's results. Returns the dict written as subgraph.json."""
    limits = limits or Limits()
    run = _index_results(results, selection)
    selected = _selected_vids(proj, run, selection)
    chosen, truncated = _choose_pathways(run, selection, limits.max_pathways)
    seeds = _Seeds(_pathway_vids(proj, chosen), selected, _cluster_member_vids(proj, run, selection))
    start = seeds.ordered()
    if start.size > limits.max_nodes:
        start, truncated = start[: limits.max_nodes], True
    hop = np.full(proj.n_nodes, -1, np.int64)
    hop[start] = 0
    if truncated and chosen:
        chosen = _keep_whole_pathways(proj, chosen, hop)
    node_vids, cut_nodes = _expand(proj, hop, start, limits)
    emask, on_path, cut_edges = _select_edges(proj, hop >= 0, chosen, limits.max_edges)
    truncated = truncated or cut_nodes or cut_edges

    roles = _node_roles(proj, node_vids, chosen, seeds)
    flags = _flags(run.flagged)
    nodes = [
        _node_row(proj, vid, nid, roles[vid], int(hop[vid]), flags)
        for vid, nid in zip(node_vids.tolist(), proj.id_list(node_vids))
    ]
    edges = _edge_rows(proj, emask, on_path, {vid: nd["key"] for vid, nd in zip(node_vids.tolist(), nodes)})
    in_sub = {(nd["kind"], nd["id"]) for nd in nodes}
    clusters = _cluster_rows(run, selection, chosen, in_sub)
    logger.debug("subgraph of run %s: %d nodes, %d edges", run.run_id, len(nodes), len(edges))
    return {
        "format": SUBGRAPH_FORMAT,
        "format_version": SUBGRAPH_FORMAT_VERSION,
        "run_id": run.run_id,
        "snapshot_digest": results.get("snapshot_digest"),
        "provenance": provenance or {},
        "selection": selection.model_dump(mode="json"),
        "limits": limits.model_dump(mode="json"),
        "truncated": bool(truncated),
        "counts": {"nodes": len(nodes), "edges": len(edges), "pathways": len(chosen), "clusters": len(clusters)},
        "nodes": nodes,
        "edges": edges,
        "pathways": chosen,
        "clusters": clusters,
        "flagged_accounts": [fa for fa in run.flagged if ("account", fa["account_id"]) in in_sub],
    }
