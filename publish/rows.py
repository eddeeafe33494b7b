"""The rows `publish` writes, derived from a run's results.json without touching a store: one
list per node or relationship kind, each row a map of Cypher parameters (values only; labels and
relationship types come from graph.model's enums)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from detectors.results import Results
from graph.model import NodeKind

#: FlaggedAccount fields that are not role fields: the relationship's endpoints, its score, and
#: `pathways` (published as a count). Every other field, present or added later, is a property
#: of FLAGGED_IN (scalars, or lists of them: Neo4j property types).
_NOT_ROLE_FIELDS = frozenset({"account_id", "role", "score", "pathways"})


def result_key(run_id: str, item_id: str) -> str:
    """The run-scoped key of a published cluster or pathway (unique per label)."""
    return f"{run_id}/{item_id}"


@dataclass
class PublishRows:
    """Everything one run publishes, as parameter rows."""

    run: dict[str, Any]
    clusters: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    owned: dict[NodeKind, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    flagged: list[dict[str, Any]] = field(default_factory=list)
    exposed: list[dict[str, Any]] = field(default_factory=list)
    pathways: list[dict[str, Any]] = field(default_factory=list)
    steps: dict[NodeKind, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def referenced(self) -> dict[NodeKind, set[str]]:
        """The graph nodes the rows link to, by kind (each must exist in the store)."""
        out: dict[NodeKind, set[str]] = defaultdict(set)
        out[NodeKind.ACCOUNT] |= {r["id"] for r in self.members} | {r["id"] for r in self.flagged}
        out[NodeKind.CONTENT] |= {r["id"] for r in self.exposed}
        for rows in (self.owned, self.steps):
            for kind, kind_rows in rows.items():
                out[kind] |= {r["id"] for r in kind_rows}
        return dict(out)

    def counts(self) -> dict[str, int]:
        return {
            "clusters": len(self.clusters),
            "memberships": len(self.members),
            "owned": sum(len(v) for v in self.owned.values()),
            "flagged": len(self.flagged),
            "exposed": len(self.exposed),
            "pathways": len(self.pathways),
            "steps": sum(len(v) for v in self.steps.values()),
        }


def _cluster_rows(results: Results, rows: PublishRows) -> None:
    run_id = results.run_id
    for rank, c in enumerate(results.clusters, start=1):
        key = result_key(run_id, c.cluster_id)
        props = {"score": c.score, "rank": rank, "size": len(c.accounts)}
        props |= {k: v for k in ("labelled_accounts", "unlabelled_accounts") if (v := getattr(c, k)) is not None}
        rows.clusters.append({"key": key, "cluster_id": c.cluster_id, "props": props})
        rows.members += [{"key": key, "id": a} for a in c.accounts]
        for kind, ids in ((NodeKind.CONTENT, c.content), (NodeKind.URL, c.urls), (NodeKind.HASHTAG, c.hashtags)):
            rows.owned[kind] += [{"key": key, "id": i} for i in ids or []]


def _flagged_rows(results: Results, rows: PublishRows) -> None:
    for rank, a in enumerate(results.flagged_accounts, start=1):
        props: dict[str, Any] = {"score": a.score, "rank": rank, "pathways": len(a.pathways)}
        role_fields = a.model_dump(mode="json", exclude_none=True, exclude=set(_NOT_ROLE_FIELDS))
        props |= {k: v for k, v in role_fields.items() if k in type(a).model_fields}
        rows.flagged.append({"id": a.account_id, "role": a.role.value, "props": props})
    for rank, e in enumerate(results.exposure or [], start=1):
        rows.exposed.append({"id": e.content_id, "props": {"probability": e.probability, "rank": rank}})


def _pathway_rows(results: Results, rows: PublishRows) -> None:
    run_id = results.run_id
    for rank, p in enumerate(results.pathways, start=1):
        key = result_key(run_id, p.pathway_id)
        props: dict[str, Any] = {
            "score": p.score,
            "rank": rank,
            "cluster_id": p.cluster_id,
            "source_id": p.source.id,
            "hops": len(p.edges),
            "bridges": list(p.bridges or []),
        }
        rows.pathways.append(
            {"key": key, "pathway_id": p.pathway_id, "cluster_key": result_key(run_id, p.cluster_id), "props": props}
        )
        for i, node in enumerate(p.nodes):
            step: dict[str, Any] = {"kind": node.kind.value}
            if i > 0:  # the hop that arrives at node i
                step["rel"] = p.edges[i - 1].value
                for name, values in (
                    ("direction", p.directions),
                    ("hop_probability", p.hop_probabilities),
                    ("created_at", p.created_at),
                    ("created_by", p.created_by),
                ):
                    if values is not None and values[i - 1] is not None:
                        step[name] = values[i - 1]
            rows.steps[node.kind].append({"key": key, "i": i, "id": node.id, "props": step})


def publish_rows(results: Results, record: dict[str, Any]) -> PublishRows:
    """The rows of run `results` (its run.json `record` gives the Run node's provenance)."""
    run = {
        "run_id": results.run_id,
        "snapshot_digest": results.snapshot_digest,
        "results_sha256": record.get("results_sha256"),
        "started_at": record.get("started_at"),
        "finished_at": record.get("finished_at"),
        "clusters": len(results.clusters),
        "pathways": len(results.pathways),
        "flagged_accounts": len(results.flagged_accounts),
    }
    rows = PublishRows(run={k: v for k, v in run.items() if v is not None})
    _cluster_rows(results, rows)
    _flagged_rows(results, rows)
    _pathway_rows(results, rows)
    return rows
