"""Opening a run folder, a runs directory or a store for analysis: the runs, each run's frames
(notebook.frames), and neighbourhoods from the store, optionally as an auditor sees them (every
account id replaced by the API's keyed pseudonym)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from api.auth import pseudonym, pseudonymise, pseudonymise_result
from detectors.results import Results
from detectors.runfolder import LATEST, RECORD_FILE, newest_run_id, read_run
from graph.errors import ConfigError, NotFound
from graph.model import NodeKind
from graph.store import GraphStore, StoreConfig
from graph.store import open_store as _open_graph_store
from notebook.frames import RunFrames

logger = logging.getLogger(__name__)

RUN_COLUMNS = ["run_id", "started_at", "finished_at", "snapshot_digest", "detectors", "clusters", "pathways", "flagged"]
NODE_COLUMNS = ["kind", "id", "distance", "age_band", "status", "label", "content_kind", "account_id"]
EDGE_COLUMNS = ["src_kind", "src_id", "type", "kind", "dst_kind", "dst_id"]


def _map_ids(obj: Any, ids: set[str], secret: bytes) -> Any:
    """Every string in `obj` that is one of the account ids `ids`, replaced by its pseudonym."""
    if isinstance(obj, str):
        return pseudonym(secret, obj) if obj in ids else obj
    if isinstance(obj, list):
        return [_map_ids(v, ids, secret) for v in obj]
    if isinstance(obj, dict):
        return {k: _map_ids(v, ids, secret) for k, v in obj.items()}
    return obj


def _result_account_ids(results: dict[str, Any]) -> set[str]:
    """Every account id a results document names, wherever it names one."""
    ids = {a for c in results.get("clusters", []) for a in c.get("accounts", [])}
    ids |= {a["account_id"] for a in results.get("flagged_accounts", [])}
    for p in results.get("pathways", []):
        ids |= {n["id"] for n in p.get("nodes", []) if n.get("kind") == "account"}
        ids |= {a for a in (p.get("created_by") or []) if a} | set(p.get("bridges") or [])
    return ids


class Notebook:
    """Runs and results from a runs directory (run folders, checked against run.json) and/or a
    store (its run records and results; neighbourhoods). With `secret`, the auditor's view: every
    account id in every frame is `acct_<HMAC>` under that secret, by the API's own rules (results
    by the marks of the results schema, `api.auth.pseudonymise_result`; run records by
    `api.auth.pseudonymise`); neighbourhoods map every account id they hold."""

    def __init__(
        self, *, runs_dir: Path | None = None, store: GraphStore | None = None, secret: bytes | None = None
    ) -> None:
        if runs_dir is None and store is None:
            raise ConfigError("a notebook needs a runs directory, a store, or both")
        self.runs_dir = Path(runs_dir).resolve() if runs_dir is not None else None
        self.store = store
        self.secret = secret

    def __enter__(self) -> Notebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    def auditor_view(self, secret: bytes) -> Notebook:
        """The same sources, pseudonymised with `secret` (e.g. api.settings.pseudonym_key(Settings()))."""
        return Notebook(runs_dir=self.runs_dir, store=self.store, secret=secret)

    # -- runs ------------------------------------------------------------------------------------
    def _records(self) -> list[dict[str, Any]]:
        if self.runs_dir is not None:
            return [
                {**json.loads(p.read_text()), "run_id": p.parent.name}
                for p in sorted(self.runs_dir.glob(f"*/{RECORD_FILE}"))
            ]
        assert self.store is not None
        return self.store.list_runs()

    def runs(self) -> pd.DataFrame:
        """One row per run, newest first: when, on which snapshot, which detectors, what it found."""
        records = self._records()
        if self.secret is not None:
            records = pseudonymise(records, self.secret)
        rows = [
            {
                "run_id": r.get("run_id"),
                "started_at": r.get("started_at"),
                "finished_at": r.get("finished_at"),
                "snapshot_digest": r.get("snapshot_digest"),
                "detectors": ", ".join(f"{d.get('name')} {d.get('version')}" for d in r.get("detectors", [])),
                "clusters": (r.get("counts") or {}).get("clusters"),
                "pathways": (r.get("counts") or {}).get("pathways"),
                "flagged": (r.get("counts") or {}).get("flagged_accounts"),
            }
            for r in records
        ]
        frame = pd.DataFrame.from_records(rows, columns=RUN_COLUMNS)
        for col in ("started_at", "finished_at"):
            frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601")
        return frame.sort_values(["started_at", "run_id"], ascending=False, ignore_index=True)

    def run(self, run: str = LATEST) -> RunFrames:
        """Run `run` (an id, or `latest`): its record and results as frames. NotFound if absent."""
        if self.runs_dir is not None:
            folder = read_run(run, self.runs_dir)
            record, results = folder.record, folder.results
        else:
            assert self.store is not None
            run_id = newest_run_id(self.store.list_runs()) if run == LATEST else run
            if run_id is None:
                raise NotFound(f"the store {self.store.url} holds no finished run")
            record, results = self.store.get_run(run_id), json.loads(self.store.get_results(run_id))
        if self.secret is not None:
            record = pseudonymise(record, self.secret)
            results = pseudonymise_result(Results.model_validate(results), self.secret).model_dump(mode="json")
        return RunFrames(str(results["run_id"]), record, results)

    # -- the graph -------------------------------------------------------------------------------
    def neighbourhood(
        self, kind: str, node_id: str, hops: int = 1, limit: int = 500
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(nodes, edges) within `hops` of a node, at most `limit` nodes (GraphStore.neighbourhood).
        In the auditor's view `node_id` may be the pseudonym an account has in the frames."""
        if self.store is None:
            raise ConfigError("neighbourhoods need a store: open the notebook with open_store(...)")
        node_id = self._real_id(kind, node_id)
        hood = self.store.neighbourhood(NodeKind(kind), node_id, hops=hops, limit=limit)
        nodes = [
            {"kind": n["kind"], "id": n["id"], "distance": n["distance"]}
            | {c: (n.get("properties") or {}).get(c) for c in NODE_COLUMNS[3:]}
            for n in hood["nodes"]
        ]
        edges = hood["edges"]
        if self.secret is not None:
            ids = {n["id"] for n in nodes if n["kind"] == NodeKind.ACCOUNT} | {
                n["account_id"] for n in nodes if n["account_id"]
            }
            nodes, edges = _map_ids(nodes, ids, self.secret), _map_ids(edges, ids, self.secret)
        return pd.DataFrame.from_records(nodes, columns=NODE_COLUMNS), pd.DataFrame.from_records(
            edges, columns=EDGE_COLUMNS
        )

    def _real_id(self, kind: str, node_id: str) -> str:
        """The account id behind a pseudonym (looked up among the accounts of the store's runs and
        folders' results); any other id as given."""
        if self.secret is None or kind != NodeKind.ACCOUNT or not node_id.startswith("acct_"):
            return node_id
        for candidate in self._known_accounts():
            if pseudonym(self.secret, candidate) == node_id:
                return candidate
        raise NotFound(f"no account of this notebook's runs has the pseudonym {node_id!r}")

    def _known_accounts(self) -> Iterable[str]:
        for record in self._records():
            try:
                plain = Notebook(runs_dir=self.runs_dir, store=self.store).run(str(record["run_id"]))
            except NotFound:
                continue
            yield from sorted(_result_account_ids(plain.results))


def open_runs(runs_dir: str | Path, *, secret: bytes | None = None) -> Notebook:
    """A notebook over the run folders under `runs_dir` (no store: no neighbourhoods)."""
    path = Path(runs_dir)
    if not path.is_dir():
        raise NotFound(f"{path}: no such runs directory")
    return Notebook(runs_dir=path, secret=secret)


def open_store(
    store: str | StoreConfig | GraphStore, *, runs_dir: str | Path | None = None, secret: bytes | None = None
) -> Notebook:
    """A notebook over a store (`embedded:PATH`, `neo4j://…`, a StoreConfig or an open store);
    with `runs_dir`, runs are read from the run folders there (else from the store's records)."""
    if isinstance(store, str):
        store = StoreConfig(url=store)
    if isinstance(store, StoreConfig):
        store = _open_graph_store(store)
    return Notebook(runs_dir=Path(runs_dir) if runs_dir is not None else None, store=store, secret=secret)
