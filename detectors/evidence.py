"""Evidence packages: select a flagged subgraph of a run (pathways plus k hops of context, within
limits), write it in every export format with a signed manifest, and verify such a package.

A package is one directory: the exporters' files, `manifest.json` (provenance and the sha256 of
every file) and `manifest.sig` (base64 Ed25519 signature over the exact bytes of manifest.json).
The subgraph comes from the run's frozen projection, i.e. exactly what the detectors saw.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from detectors.exporters import Exporter, get_exporters
from detectors.signing import ALGORITHM, PublicKey, SigningKey
from graph.errors import ConfigError, DetectorError, NotFound
from graph.model import AccountStatus, AgeBand, ContentLabel, NodeKind
from graph.projection import KINDS, NO_TIME, REL_TYPES, Projection

PACKAGE_FORMAT = "crumbgraph-evidence"
PACKAGE_FORMAT_VERSION = 1
SUBGRAPH_FORMAT = "crumbgraph-subgraph"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"


class Selection(BaseModel):
    """What to put in a package: ids of clusters, accounts and pathways of one run (any mix)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    clusters: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    pathways: tuple[str, ...] = ()
    content: tuple[str, ...] = ()
    case_id: str | None = None  # recorded only; `from_case` turns a case's items into the ids above

    @classmethod
    def from_case(cls, case_id: str, items: list[dict[str, str]]) -> Selection:
        """A case's items ({"kind": account|content|pathway|cluster, "id": ...}) as a selection."""
        by_kind: dict[str, list[str]] = {"account": [], "content": [], "pathway": [], "cluster": []}
        for item in items:
            if item["kind"] not in by_kind:
                raise ConfigError(f"case {case_id}: item kind {item['kind']!r} cannot be exported")
            by_kind[item["kind"]].append(item["id"])
        return cls(
            accounts=tuple(by_kind["account"]),
            content=tuple(by_kind["content"]),
            pathways=tuple(by_kind["pathway"]),
            clusters=tuple(by_kind["cluster"]),
            case_id=case_id,
        )


class Limits(BaseModel):
    """Data minimisation: how much context around the selection a package may hold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hops: int = Field(1, ge=0, le=3)
    max_nodes: int = Field(500, ge=1, le=100_000)
    max_edges: int = Field(2_000, ge=0, le=500_000)
    max_pathways: int = Field(50, ge=1, le=10_000)


# -- run folders ---------------------------------------------------------------------------------
@dataclass
class RunFiles:
    """A run folder's records: run.json, results.json and the frozen projection."""

    run_dir: Path
    record: dict[str, Any]
    results: dict[str, Any]
    results_bytes: bytes

    def projection(self) -> Projection:
        folder = self.run_dir / "projection"
        if not (folder / "projection.json").exists() and (self.run_dir / "projection.json").exists():
            folder = self.run_dir  # a flat run folder (projection files beside results.json)
        if not (folder / "projection.json").exists():
            raise NotFound(f"run {self.record.get('run_id')}: no frozen projection in {folder}")
        proj = Projection.from_parquet(folder)  # checks the projection against its own digest
        if proj.digest != self.record.get("snapshot_digest"):
            raise DetectorError(
                f"{folder}: projection digest {proj.digest} is not the run's snapshot digest "
                f"{self.record.get('snapshot_digest')}"
            )
        return proj


#: what a run id may look like (never a path: ids come from API callers)
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def resolve_run_dir(run: str | Path, runs_dir: Path | None = None) -> Path:
    """The folder of `run`: a `Path` is taken as the run folder itself (trusted callers: the CLI,
    tests); a `str` is a run id looked up under `runs_dir` and never read as a path. NotFound if
    there is no such run."""
    if isinstance(run, Path):
        if (run / "run.json").exists():
            return run
        raise NotFound(f"run folder {run}: no run.json")
    if not _RUN_ID.fullmatch(run) or ".." in run:
        raise NotFound(f"run {run!r}: not a run id")
    if runs_dir is None:
        raise ConfigError(f"run {run!r}: no runs directory given to look it up in")
    path = Path(runs_dir) / run
    if not (path / "run.json").exists():
        raise NotFound(f"run {run!r}: no run.json under {runs_dir}")
    return path


def read_run(run: str | Path, runs_dir: Path | None = None) -> RunFiles:
    run_dir = resolve_run_dir(run, runs_dir)
    results_bytes = (run_dir / "results.json").read_bytes()
    record = json.loads((run_dir / "run.json").read_text())
    if hashlib.sha256(results_bytes).hexdigest() != record.get("results_sha256"):
        raise DetectorError(f"{run_dir / 'results.json'}: sha256 differs from results_sha256 in run.json")
    return RunFiles(run_dir, record, json.loads(results_bytes), results_bytes)


# -- subgraph selection --------------------------------------------------------------------------
def _iso(us: int) -> str | None:
    if us == NO_TIME:
        return None
    return datetime.fromtimestamp(us / 1_000_000, tz=UTC).isoformat().replace("+00:00", "Z")


def _vids_of(proj: Projection, refs: list[dict[str, str]] | list[tuple[str, str]], what: str) -> np.ndarray:
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
    if not (selection.clusters or selection.accounts or selection.pathways or selection.content):
        raise ConfigError("evidence selection is empty: give cluster, account, pathway or content ids")
    pathways_by_id = {p["pathway_id"]: p for p in results.get("pathways", [])}
    clusters_by_id = {c["cluster_id"]: c for c in results.get("clusters", [])}
    flagged = results.get("flagged_accounts", [])
    for what, ids, known in (
        ("pathway", selection.pathways, pathways_by_id),
        ("cluster", selection.clusters, clusters_by_id),
    ):
        missing = [i for i in ids if i not in known]
        if missing:
            raise NotFound(f"run {results.get('run_id')}: no {what} {missing[0]!r}")
    picked = []
    for kind, ids in ((NodeKind.ACCOUNT, selection.accounts), (NodeKind.CONTENT, selection.content)):
        vids = proj.vids(kind, list(ids)) if ids else np.zeros(0, np.int64)
        if (vids < 0).any():
            raise NotFound(
                f"run {results.get('run_id')}: no {kind.value} "
                f"{ids[int(np.flatnonzero(vids < 0)[0])]!r} in its projection"
            )
        picked.append(np.asarray(vids, np.int64))
    acc_vids = np.concatenate(picked)

    # pathways, in the results' order (best first)
    wanted = set(selection.pathways)
    sel_acc = set(selection.accounts)
    sel_clu = set(selection.clusters)
    for fa in flagged:
        if fa["account_id"] in sel_acc:
            wanted.update(fa.get("pathways", []))
    chosen = [
        p
        for p in results.get("pathways", [])
        if p["pathway_id"] in wanted
        or p.get("cluster_id") in sel_clu
        or any(n["kind"] == "account" and n["id"] in sel_acc for n in p["nodes"])
    ]
    truncated = len(chosen) > limits.max_pathways
    chosen = chosen[: limits.max_pathways]

    # seeds: pathway nodes, selected accounts and content, members of selected clusters (in that priority)
    seed_parts = [_vids_of(proj, [n for p in chosen for n in p["nodes"]], "pathway"), acc_vids]
    for cid in selection.clusters:
        c = clusters_by_id[cid]
        seed_parts.append(
            _vids_of(
                proj,
                [("account", a) for a in c.get("accounts", [])] + [("content", x) for x in c.get("content", [])],
                f"cluster {cid}",
            )
        )
    order = np.concatenate([np.asarray(s, np.int64) for s in seed_parts])
    _, first = np.unique(order, return_index=True)
    seeds = order[np.sort(first)]
    if seeds.size > limits.max_nodes:
        seeds, truncated = seeds[: limits.max_nodes], True
    n = proj.n_nodes
    hop = np.full(n, -1, np.int64)
    hop[seeds] = 0
    if truncated and chosen:  # a pathway goes in whole or not at all
        path_vids = _vids_of(proj, [n for p in chosen for n in p["nodes"]], "pathway")
        ends = np.cumsum([len(p["nodes"]) for p in chosen])
        whole = np.logical_and.reduceat(hop[path_vids] >= 0, ends - np.array([len(p["nodes"]) for p in chosen]))
        chosen = [p for p, ok in zip(chosen, whole.tolist()) if ok]
    kept = [seeds]
    total = seeds.size
    src, dst = proj.src.astype(np.int64), proj.dst.astype(np.int64)
    for h in range(1, limits.hops + 1):  # breadth-first, one vectorised pass over the edges per hop
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
    inside = hop >= 0

    # edges among the kept nodes; pathway hops first when the edge budget is tight
    emask = np.flatnonzero(inside[src] & inside[dst])
    on_path = np.zeros(emask.size, bool)
    if chosen and emask.size:
        type_code = {t.value: i for i, t in enumerate(REL_TYPES)}
        a_ref, b_ref, t_ref = [], [], []
        for p in chosen:
            for (u, v), t in zip(zip(p["nodes"], p["nodes"][1:]), p["edges"]):
                a_ref.append(u)
                b_ref.append(v)
                t_ref.append(type_code.get(t, -1))
        a = _vids_of(proj, a_ref, "pathway")
        b = _vids_of(proj, b_ref, "pathway")
        t = np.asarray(t_ref, np.int64)
        # an edge of the stated type joins each consecutive pair, in either direction
        keys = np.concatenate([(a * n + b) * 64 + t, (b * n + a) * 64 + t])
        ekeys = (src[emask] * n + dst[emask]) * 64 + proj.etype[emask].astype(np.int64)
        on_path = np.isin(ekeys, keys)
    if emask.size > limits.max_edges:
        prio = np.argsort(~on_path, kind="stable")[: limits.max_edges]
        prio.sort()
        emask, on_path, truncated = emask[prio], on_path[prio], True

    node_vids = np.concatenate(kept)
    pathway_nodes = set(_vids_of(proj, [n for p in chosen for n in p["nodes"]], "pathway").tolist())
    cluster_nodes = set(np.concatenate(seed_parts[2:]).tolist()) if len(seed_parts) > 2 else set()
    sel_nodes = set(acc_vids.tolist())
    flags: dict[str, tuple[float, list[str]]] = {}
    for fa in flagged:
        score, roles = flags.get(fa["account_id"], (0.0, []))
        flags[fa["account_id"]] = (max(score, fa["score"]), sorted({*roles, fa["role"]}))
    ids = proj.id_list(node_vids)
    nodes = []
    for vid, nid in zip(node_vids.tolist(), ids):
        kind = KINDS[int(proj.kind[vid])].value
        role = (
            "pathway"
            if vid in pathway_nodes
            else "selected"
            if vid in sel_nodes
            else "cluster"
            if vid in cluster_nodes
            else "context"
        )
        fscore, froles = flags.get(nid, (None, None)) if kind == "account" else (None, None)
        nodes.append(
            {
                "key": f"{kind}:{nid}",
                "kind": kind,
                "id": nid,
                "role": role,
                "hop": int(hop[vid]),
                "age_band": AgeBand.from_code(proj.age_band[vid]).value if kind == "account" else None,
                "status": AccountStatus.from_code(proj.status[vid]).value if kind == "account" else None,
                "label": ContentLabel.from_code(proj.label[vid]).value if kind == "content" else None,
                "label_confidence": float(proj.label_confidence[vid]) if kind == "content" else None,
                "content_kind": proj.content_kind_of(vid) if kind == "content" else None,
                "domain": (proj.domain[vid - proj.offsets[2]].as_py() or None) if kind == "url" else None,
                "flag_score": fscore,
                "flag_roles": froles,
            }
        )
    key_of = {vid: node["key"] for vid, node in zip(node_vids.tolist(), nodes)}
    edges = [
        {"src": key_of[s], "dst": key_of[d], "type": REL_TYPES[t].value, "created_at": _iso(c), "on_pathway": bool(op)}
        for s, d, t, c, op in zip(
            proj.src[emask].tolist(),
            proj.dst[emask].tolist(),
            proj.etype[emask].tolist(),
            proj.created_at[emask].tolist(),
            on_path.tolist(),
        )
    ]
    in_sub = {(nd["kind"], nd["id"]) for nd in nodes}
    clusters = []
    for cid in dict.fromkeys([*selection.clusters, *(p.get("cluster_id") for p in chosen)]):
        c = clusters_by_id.get(cid)
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
    return {
        "format": SUBGRAPH_FORMAT,
        "format_version": 1,
        "run_id": results.get("run_id"),
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
        "flagged_accounts": [fa for fa in flagged if ("account", fa["account_id"]) in in_sub],
    }


# -- packages ------------------------------------------------------------------------------------
def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


@dataclass
class Package:
    path: Path
    manifest: dict[str, Any]


def build_package(
    run: str | Path,
    dest: Path,
    selection: Selection,
    signing_key: SigningKey,
    *,
    limits: Limits | None = None,
    runs_dir: Path | None = None,
    exported_by: str = "unknown",
    formats: list[str] | None = None,
    now: datetime | None = None,
) -> Package:
    """Write an evidence package of `selection` in run `run` (a run folder or a run id under
    `runs_dir`) into the new or empty directory `dest`, sign its manifest, and return it."""
    limits = limits or Limits()
    exporters: tuple[Exporter, ...] = get_exporters(formats)
    if not any(e.name == "json" for e in exporters):
        raise ConfigError("an evidence package always holds subgraph.json (format 'json')")
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise ConfigError(f"{dest}: exists and is not empty; choose a new package directory")
    rf = read_run(run, runs_dir)
    rec = rf.record
    from importlib.metadata import PackageNotFoundError, version

    try:
        cg_version = version("crumbgraph")
    except PackageNotFoundError:
        cg_version = "unknown"
    provenance = {
        "crumbgraph_version": cg_version,
        "started_at": rec.get("started_at"),
        "finished_at": rec.get("finished_at"),
        "detectors": rec.get("detectors", []),
        "params": rec.get("params", {}),
        "results_sha256": rec.get("results_sha256"),
    }
    subgraph = select_subgraph(rf.projection(), rf.results, selection, limits, provenance)
    dest.mkdir(parents=True, exist_ok=True)
    written: list[tuple[str, Path]] = []
    for exp in exporters:
        written.extend((exp.name, p) for p in exp.write(subgraph, dest))
    manifest = {
        "format": PACKAGE_FORMAT,
        "format_version": PACKAGE_FORMAT_VERSION,
        "package_id": str(uuid.uuid4()),
        "run_id": rec["run_id"],
        "snapshot_digest": rec["snapshot_digest"],
        "results_sha256": rec.get("results_sha256"),
        "detectors": rec.get("detectors", []),
        "params": rec.get("params", {}),
        "library_versions": rec.get("library_versions", {}),
        "selection": selection.model_dump(mode="json"),
        "limits": limits.model_dump(mode="json"),
        "counts": subgraph["counts"],
        "truncated": subgraph["truncated"],
        "exporters": [{"name": e.name, "files": list(e.filenames)} for e in exporters],
        "exported_by": exported_by,
        "exported_at": (now or datetime.now(UTC)).isoformat(),
        "signer": {"algorithm": ALGORITHM, "key_id": signing_key.public.key_id, "public_key": signing_key.public.b64},
        "files": {
            p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
            for _, p in sorted(written, key=lambda x: x[1].name)
        },
    }
    body = _manifest_bytes(manifest)
    (dest / MANIFEST).write_bytes(body)
    (dest / SIGNATURE).write_text(base64.b64encode(signing_key.sign(body)).decode() + "\n")
    return Package(dest, manifest)


@dataclass
class Verification:
    """Outcome of `verify_package`: ok, or the problems, each naming a file or the signature."""

    path: Path
    problems: list[str] = field(default_factory=list)
    key_id: str | None = None
    trusted_key: bool = False  # checked against a key the caller trusts, not only the embedded one
    manifest: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_package(path: Path, public_key: PublicKey | None = None) -> Verification:
    """Check a package: the signature over manifest.json (with `public_key`, or — weaker — with
    the key the manifest names), then every file's sha256; files changed, missing or added are
    each named. Never raises for a tampered package: the problems are the answer."""
    path = Path(path)
    v = Verification(path)
    if not path.is_dir():
        v.problems.append(f"{path}: not a package directory")
        return v
    man_path, sig_path = path / MANIFEST, path / SIGNATURE
    if not man_path.exists():
        v.problems.append(f"{MANIFEST}: removed (nothing can be checked without it)")
        return v
    body = man_path.read_bytes()
    try:
        manifest = json.loads(body)
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
            raise ValueError("no files table")
    except (ValueError, UnicodeDecodeError) as exc:
        v.problems.append(f"{MANIFEST}: changed (not a readable manifest: {exc})")
        manifest = None
    v.manifest = manifest
    embedded = None
    if manifest is not None:
        try:
            embedded = PublicKey.from_text(str(manifest.get("signer", {}).get("public_key", "")))
        except ConfigError:
            embedded = None
    key = public_key or embedded
    v.trusted_key = public_key is not None
    v.key_id = key.key_id if key else None
    if not sig_path.exists():
        v.problems.append(f"{SIGNATURE}: removed (the package is unsigned)")
    elif key is None:
        v.problems.append(f"signature: no public key to check {SIGNATURE} with")
    else:
        raw = sig_path.read_bytes()
        try:
            sig = base64.b64decode(raw.rstrip(b"\n"), validate=True)
        except (binascii.Error, ValueError):
            sig = b""
        if raw != base64.b64encode(sig) + b"\n":  # the one canonical spelling: any changed byte is a change
            sig = b""
        if len(sig) != 64:
            v.problems.append(f"{SIGNATURE}: changed (not an Ed25519 signature)")
        elif not key.verify(body, sig):
            if public_key is not None and embedded is not None and embedded.raw != public_key.raw:
                v.problems.append(
                    f"signature: not made by the trusted key {public_key.key_id} "
                    f"(the manifest names signer {embedded.key_id})"
                )
            else:
                v.problems.append(f"signature: fails for key {key.key_id}: {MANIFEST} or {SIGNATURE} changed")
    if manifest is None:
        return v
    files: dict[str, Any] = manifest["files"]
    for name in sorted(files):
        p = path / name
        if not p.is_file():
            v.problems.append(f"{name}: removed")
        elif sha256_file(p) != files[name].get("sha256"):
            v.problems.append(f"{name}: changed (sha256 differs from the manifest)")
    extra = sorted(
        str(p.relative_to(path))
        for p in path.rglob("*")
        if p.is_file() and p.name not in (MANIFEST, SIGNATURE) and str(p.relative_to(path)) not in files
    )
    v.problems.extend(f"{name}: added (not in the manifest)" for name in extra)
    return v
