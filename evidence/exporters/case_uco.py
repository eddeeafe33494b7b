"""`case.jsonld`: the subgraph in the CASE/UCO ontology (CASE 1.x JSON-LD) for case-management tools.

Accounts are `observable:DigitalAccount` objects with an `AccountFacet` (the platform id) and a
`DigitalAccountFacet`; content, URLs and hashtags are observables too; every edge is an
`observable:ObservableRelationship`; the detector run is an `investigation:InvestigativeAction`
whose instrument is crumbgraph (a `tool:AnalyticTool`) and whose result is a
`investigation:ProvenanceRecord` listing every exported object. Flagged accounts and pathways are
`core:Annotation`s. IRIs are UUIDv5 of (run id, node key), so the same subgraph gives the same file.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from evidence.exporters.base import Exporter

#: namespace of crumbgraph's UUIDv5 IRIs
CRUMBGRAPH_NS = uuid.UUID("6f1c8f1e-3a52-5b0e-9d1c-2c7c1b0e5a11")

CONTEXT = {
    "kb": "http://example.org/kb/",
    "case-investigation": "https://ontology.caseontology.org/case/investigation/",
    "core": "https://ontology.unifiedcyberontology.org/uco/core/",
    "observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
    "action": "https://ontology.unifiedcyberontology.org/uco/action/",
    "tool": "https://ontology.unifiedcyberontology.org/uco/tool/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}


def _dt(value: str) -> dict[str, str]:
    return {"@type": "xsd:dateTime", "@value": value}


def _dec(value: float) -> dict[str, str]:
    return {"@type": "xsd:decimal", "@value": repr(float(value))}


class _Iris:
    """IRIs of one run's objects: UUIDv5 of (run id, parts), so the same subgraph gives the same file."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def __call__(self, kind: str, *parts: str) -> str:
        return f"kb:{kind}-{uuid.uuid5(CRUMBGRAPH_NS, chr(31).join((self.run_id, *parts)))}"


def _account(n: dict[str, Any], iri: _Iris) -> dict[str, Any]:
    key, nid = n["key"], n["id"]
    obj: dict[str, Any] = {
        "@id": iri("DigitalAccount", key),
        "@type": "observable:DigitalAccount",
        "core:name": f"account {nid}",
        "core:hasFacet": [
            {
                "@id": iri("AccountFacet", key),
                "@type": "observable:AccountFacet",
                "observable:accountIdentifier": nid,
                **({"observable:isActive": n["status"] == "active"} if n.get("status") else {}),
            },
            {
                "@id": iri("DigitalAccountFacet", key),
                "@type": "observable:DigitalAccountFacet",
                **({"observable:isDisabled": n["status"] != "active"} if n.get("status") else {}),
            },
        ],
    }
    if n.get("age_band"):
        obj["core:description"] = f"age band (platform-declared or estimated): {n['age_band']}"
    return obj


def _url(n: dict[str, Any], iri: _Iris) -> dict[str, Any]:
    key, nid = n["key"], n["id"]
    return {
        "@id": iri("URL", key),
        "@type": "observable:URL",
        "core:name": nid,
        "core:hasFacet": [{"@id": iri("URLFacet", key), "@type": "observable:URLFacet", "observable:fullValue": nid}],
    }


def _observable(n: dict[str, Any], iri: _Iris) -> dict[str, Any]:
    """Content and hashtags: metadata only, never the media itself."""
    kind, nid = n["kind"], n["id"]
    desc = f"{kind} {nid}"
    if kind == "content":
        desc = f"content {nid} ({n.get('content_kind') or 'content'}); platform label {n.get('label') or 'none'}"
        if n.get("label") not in (None, "none"):
            desc += f" (confidence {n.get('label_confidence')})"
    return {
        "@id": iri("ObservableObject", n["key"]),
        "@type": "observable:ObservableObject",
        "core:name": f"{kind} {nid}",
        "core:description": desc,
    }


def _node_objects(subgraph: dict[str, Any], iri: _Iris) -> list[dict[str, Any]]:
    """One observable per node, in the subgraph's order."""
    build = {"account": _account, "url": _url}
    return [build.get(n["kind"], _observable)(n, iri) for n in subgraph["nodes"]]


def _relationships(subgraph: dict[str, Any], node_iri: dict[str, str], iri: _Iris) -> list[dict[str, Any]]:
    """One `observable:ObservableRelationship` per edge."""
    rels = []
    for i, e in enumerate(subgraph["edges"]):
        rel: dict[str, Any] = {
            "@id": iri("ObservableRelationship", e["src"], e["type"], e["dst"], str(i)),
            "@type": "observable:ObservableRelationship",
            "core:source": {"@id": node_iri[e["src"]]},
            "core:target": {"@id": node_iri[e["dst"]]},
            "core:kindOfRelationship": e["type"],
            "core:isDirectional": True,
        }
        if e.get("created_at"):
            rel["core:startTime"] = [_dt(e["created_at"])]
        rels.append(rel)
    return rels


def _annotations(subgraph: dict[str, Any], node_iri: dict[str, str], iri: _Iris) -> list[dict[str, Any]]:
    """A `core:Annotation` per flagged account inside, then per pathway with a node inside."""
    notes = []
    for fa in subgraph.get("flagged_accounts", []):
        key = f"account:{fa['account_id']}"
        if key in node_iri:
            notes.append(
                {
                    "@id": iri("Annotation", "flag", key, fa["role"]),
                    "@type": "core:Annotation",
                    "core:object": [{"@id": node_iri[key]}],
                    "core:statement": f"crumbgraph flagged account {fa['account_id']} as {fa['role']} "
                    f"(score {fa['score']})",
                }
            )
    for p in subgraph.get("pathways", []):
        objs = [node_iri[k] for k in (f"{x['kind']}:{x['id']}" for x in p["nodes"]) if k in node_iri]
        if not objs:  # core:Annotation needs at least one object
            continue
        notes.append(
            {
                "@id": iri("Annotation", "pathway", p["pathway_id"]),
                "@type": "core:Annotation",
                "core:object": [{"@id": o} for o in dict.fromkeys(objs)],
                "core:statement": f"crumbgraph pathway {p['pathway_id']} from {p['source']['kind']} "
                f"{p['source']['id']} to cluster {p.get('cluster_id')} via "
                f"{' > '.join(p['edges'])} (score {p['score']})",
            }
        )
    return notes


def _provenance(subgraph: dict[str, Any], exported: list[str], iri: _Iris) -> list[dict[str, Any]]:
    """The run as a `case-investigation:InvestigativeAction` with crumbgraph (a `tool:AnalyticTool`)
    as instrument and a `ProvenanceRecord` of every exported object as result."""
    prov = subgraph.get("provenance", {})
    run_id = iri.run_id
    tool = {
        "@id": iri("AnalyticTool", "crumbgraph", prov.get("crumbgraph_version", "")),
        "@type": "tool:AnalyticTool",
        "core:name": "crumbgraph",
        "tool:version": prov.get("crumbgraph_version", "unknown"),
        "core:description": "detectors: " + ", ".join(f"{d['name']} {d['version']}" for d in prov.get("detectors", [])),
    }
    record = {
        "@id": iri("ProvenanceRecord", "result"),
        "@type": "case-investigation:ProvenanceRecord",
        "case-investigation:exhibitNumber": f"crumbgraph {run_id}",
        "core:object": [{"@id": x} for x in exported],
    }
    action: dict[str, Any] = {
        "@id": iri("InvestigativeAction", "run"),
        "@type": "case-investigation:InvestigativeAction",
        "core:name": f"crumbgraph detector run {run_id}",
        "core:description": (
            f"Detectors run over the frozen projection with sha256 "
            f"{subgraph.get('snapshot_digest')}; parameters: "
            f"{json.dumps(prov.get('params', {}), sort_keys=True)}"
        ),
        "action:instrument": [{"@id": tool["@id"]}],
        "action:result": [{"@id": record["@id"]}],
    }
    if prov.get("started_at"):
        action["action:startTime"] = _dt(prov["started_at"])
    if prov.get("finished_at"):
        action["action:endTime"] = _dt(prov["finished_at"])
    return [tool, record, action]


class CaseUcoExporter(Exporter):
    name = "case"
    filenames = ("case.jsonld",)
    description = "CASE/UCO JSON-LD (case_validate clean)"

    def write(self, subgraph: dict[str, Any], dest: Path) -> list[Path]:
        iri = _Iris(subgraph.get("run_id") or "")
        objects = _node_objects(subgraph, iri)
        node_iri = {n["key"]: obj["@id"] for n, obj in zip(subgraph["nodes"], objects)}
        rels = _relationships(subgraph, node_iri, iri)
        notes = _annotations(subgraph, node_iri, iri)
        exported = [*node_iri.values(), *(r["@id"] for r in rels), *(a["@id"] for a in notes)]
        graph = [*objects, *rels, *notes, *_provenance(subgraph, exported, iri)]
        doc = {"@context": CONTEXT, "@graph": graph}
        path = Path(dest) / self.filenames[0]
        path.write_bytes((json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode())
        return [path]
