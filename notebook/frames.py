"""A run's results.json as pandas DataFrames, one per question: clusters, their members, pathways,
one row per hop, flagged accounts, exposure. Pure: a results dict in, frames out, in the results'
own order (highest score first), with fixed columns even when a section is empty."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from detectors.results import FlaggedAccount

CLUSTER_COLUMNS = [
    "cluster_id",
    "rank",
    "score",
    "accounts",
    "content",
    "urls",
    "hashtags",
    "labelled_accounts",
    "unlabelled_accounts",
]
MEMBER_COLUMNS = ["cluster_id", "kind", "id"]
PATHWAY_COLUMNS = ["pathway_id", "rank", "score", "source_id", "cluster_id", "hops", "bridges", "path"]
HOP_COLUMNS = [
    "pathway_id",
    "hop",
    "src_kind",
    "src_id",
    "rel",
    "direction",
    "dst_kind",
    "dst_id",
    "hop_probability",
    "created_at",
    "created_by",
    "laid_by_bridge",
]
#: every FlaggedAccount field, pathways as a count (the list is in `pathways` of the results)
FLAGGED_COLUMNS = ["rank", *(f for f in FlaggedAccount.model_fields if f != "pathways"), "n_pathways"]
EXPOSURE_COLUMNS = ["content_id", "rank", "probability", "pathways"]


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows, columns=columns)


def clusters_frame(results: dict[str, Any]) -> pd.DataFrame:
    """One row per cluster: its size by kind (counts; the members are in `cluster_members_frame`)."""
    rows = [
        {
            "cluster_id": c["cluster_id"],
            "rank": rank,
            "score": c["score"],
            "accounts": len(c.get("accounts", [])),
            "content": len(c.get("content", [])),
            "urls": len(c.get("urls", [])),
            "hashtags": len(c.get("hashtags", [])),
            "labelled_accounts": c.get("labelled_accounts"),
            "unlabelled_accounts": c.get("unlabelled_accounts"),
        }
        for rank, c in enumerate(results.get("clusters", []), start=1)
    ]
    return _frame(rows, CLUSTER_COLUMNS)


def cluster_members_frame(results: dict[str, Any]) -> pd.DataFrame:
    """One row per (cluster, member): accounts, content, URLs and hashtags the cluster owns."""
    rows = [
        {"cluster_id": c["cluster_id"], "kind": kind, "id": i}
        for c in results.get("clusters", [])
        for kind, key in (("account", "accounts"), ("content", "content"), ("url", "urls"), ("hashtag", "hashtags"))
        for i in c.get(key, [])
    ]
    return _frame(rows, MEMBER_COLUMNS)


def pathways_frame(results: dict[str, Any]) -> pd.DataFrame:
    """One row per pathway; `path` is its nodes as text (`content:c1 → account:a2 → …`)."""
    rows = [
        {
            "pathway_id": p["pathway_id"],
            "rank": rank,
            "score": p["score"],
            "source_id": p["source"]["id"],
            "cluster_id": p["cluster_id"],
            "hops": len(p.get("edges", [])),
            "bridges": list(p.get("bridges") or []),
            "path": " → ".join(f"{n['kind']}:{n['id']}" for n in p.get("nodes", [])),
        }
        for rank, p in enumerate(results.get("pathways", []), start=1)
    ]
    return _frame(rows, PATHWAY_COLUMNS)


def _hop_rows(p: dict[str, Any]) -> list[dict[str, Any]]:
    nodes, edges = p.get("nodes", []), p.get("edges", [])
    n = len(edges)
    directions = p.get("directions") or [None] * n
    probabilities = p.get("hop_probabilities") or [None] * n
    created_at, created_by = p.get("created_at") or [None] * n, p.get("created_by") or [None] * n
    bridges = set(p.get("bridges") or [])
    return [
        {
            "pathway_id": p["pathway_id"],
            "hop": i + 1,
            "src_kind": nodes[i]["kind"],
            "src_id": nodes[i]["id"],
            "rel": edges[i],
            "direction": directions[i],
            "dst_kind": nodes[i + 1]["kind"],
            "dst_id": nodes[i + 1]["id"],
            "hop_probability": probabilities[i],
            "created_at": pd.Timestamp(created_at[i]) if created_at[i] else pd.NaT,
            "created_by": created_by[i],
            "laid_by_bridge": created_by[i] in bridges,
        }
        for i in range(n)
    ]


def hops_frame(results: dict[str, Any]) -> pd.DataFrame:
    """One row per hop of every pathway (`hop` 1 = the step from the source), in pathway order."""
    rows = [row for p in results.get("pathways", []) for row in _hop_rows(p)]
    frame = _frame(rows, HOP_COLUMNS)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def flagged_frame(results: dict[str, Any]) -> pd.DataFrame:
    """One row per flagged account and role, with every role's own fields (empty where another role's)."""
    rows = [
        {
            "rank": rank,
            **{k: a.get(k) for k in FLAGGED_COLUMNS if k not in ("rank", "n_pathways")},
            "n_pathways": len(a.get("pathways", [])),
        }
        for rank, a in enumerate(results.get("flagged_accounts", []), start=1)
    ]
    return _frame(rows, FLAGGED_COLUMNS)


def exposure_frame(results: dict[str, Any]) -> pd.DataFrame:
    """One row per exposed child-oriented item, most exposed first, with how many pathways start there."""
    starts: dict[str, int] = {}
    for p in results.get("pathways", []):
        starts[p["source"]["id"]] = starts.get(p["source"]["id"], 0) + 1
    rows = [
        {
            "content_id": e["content_id"],
            "rank": rank,
            "probability": e["probability"],
            "pathways": starts.get(e["content_id"], 0),
        }
        for rank, e in enumerate(results.get("exposure") or [], start=1)
    ]
    return _frame(rows, EXPOSURE_COLUMNS)


@dataclass(frozen=True)
class RunFrames:
    """One run's results, each section as a DataFrame (built on each call: change one freely)."""

    run_id: str
    record: dict[str, Any]
    results: dict[str, Any]

    def clusters(self) -> pd.DataFrame:
        return clusters_frame(self.results)

    def cluster_members(self) -> pd.DataFrame:
        return cluster_members_frame(self.results)

    def pathways(self) -> pd.DataFrame:
        return pathways_frame(self.results)

    def hops(self) -> pd.DataFrame:
        return hops_frame(self.results)

    def flagged(self) -> pd.DataFrame:
        return flagged_frame(self.results)

    def exposure(self) -> pd.DataFrame:
        return exposure_frame(self.results)
