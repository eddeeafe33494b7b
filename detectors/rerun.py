"""Re-runs for auditors: execute a run's recorded detectors and parameters again on its frozen
projection and report identical, or exactly which clusters, pathways and accounts differ."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from detectors.registry import DETECTORS
from detectors.runfolder import canonical_json, read_run
from detectors.runner import build_results, resolve_params, run_projection
from graph.errors import DetectorError

logger = logging.getLogger(__name__)

#: result sections compared, and the key that identifies a row in each
SECTIONS: dict[str, str] = {"clusters": "cluster_id", "pathways": "pathway_id", "flagged_accounts": "account_id"}


@dataclass
class SectionDiff:
    """Rows of one section only in the recorded run, only in the re-run, or in both but different."""

    removed: list[str] = field(default_factory=list)  # recorded, not reproduced
    added: list[str] = field(default_factory=list)  # reproduced, not recorded
    changed: list[str] = field(default_factory=list)  # same id, different content
    reordered: bool = False  # same rows, different order

    @property
    def empty(self) -> bool:
        return not (self.removed or self.added or self.changed or self.reordered)


@dataclass
class RerunReport:
    run_id: str
    run_dir: str
    snapshot_digest: str
    identical: bool  # clusters, pathways, flagged_accounts byte-identical
    detector_changes: list[dict[str, str | None]]  # {"name", "recorded", "current"} where versions differ
    param_changes: list[str]  # sections whose resolved parameters differ today
    diffs: dict[str, SectionDiff]
    recorded_results_sha256: str
    seconds: float

    @property
    def reproduced(self) -> bool:
        """Identical results from the same detector versions and parameters."""
        return self.identical and not self.detector_changes and not self.param_changes

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["reproduced"] = self.reproduced
        d["diffs"] = {
            "clusters": d["diffs"]["clusters"],
            "pathways": d["diffs"]["pathways"],
            "accounts": d["diffs"]["flagged_accounts"],
        }
        return d

    def summary(self) -> list[str]:
        """Human-readable lines: the verdict first, then every difference."""
        lines = [
            f"run {self.run_id}: "
            + ("IDENTICAL" if self.identical else "DIFFERENT")
            + f" results on frozen input {self.snapshot_digest[:16]}… ({self.seconds:.2f}s)"
        ]
        for c in self.detector_changes:
            lines.append(
                f"detector {c['name']}: version {c['recorded'] or '(absent)'} recorded, "
                f"{c['current'] or '(absent)'} now"
            )
        for p in self.param_changes:
            lines.append(f"parameters [{p}]: resolve differently with today's defaults")
        for name, label in (("clusters", "cluster"), ("pathways", "pathway"), ("flagged_accounts", "account")):
            d = self.diffs[name]
            for what, ids in (
                ("only in the recorded run", d.removed),
                ("only in the re-run", d.added),
                ("changed", d.changed),
            ):
                if ids:
                    lines.append(
                        f"{label}s {what} ({len(ids)}): {', '.join(ids[:20])}" + (" …" if len(ids) > 20 else "")
                    )
            if d.reordered:
                lines.append(f"{name}: same rows in a different order")
        return lines


def diff_section(recorded: list[dict[str, Any]], current: list[dict[str, Any]], key: str) -> SectionDiff:
    """Compare two result lists by row id (rows serialised canonically)."""

    def rows(items: list[dict[str, Any]]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for r in items:  # an account may appear once per role: keep every row of an id
            out.setdefault(str(r[key]), []).append(json.dumps(r, sort_keys=True))
        return {k: sorted(v) for k, v in out.items()}

    a, b = rows(recorded), rows(current)
    d = SectionDiff(
        removed=sorted(set(a) - set(b)),
        added=sorted(set(b) - set(a)),
        changed=sorted(k for k in set(a) & set(b) if a[k] != b[k]),
    )
    if not (d.removed or d.added or d.changed):
        d.reordered = [str(r[key]) for r in recorded] != [str(r[key]) for r in current]
    return d


def _recorded_params(rec: dict[str, Any]) -> dict[str, Any]:
    """The run's recorded parameters, resolved by today's detectors; DetectorError naming the
    recorded and current detector versions if they are no longer accepted."""
    try:
        return resolve_params(rec.get("params"))
    except DetectorError as exc:
        versions = ", ".join(f"{d['name']} {d['version']}" for d in rec.get("detectors", []))
        now = ", ".join(f"{d.name} {d.version}" for d in DETECTORS)
        raise DetectorError(
            f"run {rec['run_id']}: its recorded parameters are not accepted by today's detectors "
            f"(recorded: {versions}; now: {now}): {exc}"
        ) from None


def _detector_changes(rec: dict[str, Any]) -> list[dict[str, str | None]]:
    """Detectors whose version differs between the run's record and today (or exist in one only)."""
    recorded_versions = {d["name"]: d["version"] for d in rec.get("detectors", [])}
    current_versions = {d.name: d.version for d in DETECTORS}
    return [
        {"name": n, "recorded": recorded_versions.get(n), "current": current_versions.get(n)}
        for n in sorted(set(recorded_versions) | set(current_versions))
        if recorded_versions.get(n) != current_versions.get(n)
    ]


def rerun(run: str | Path, *, runs_dir: Path | None = None) -> RerunReport:
    """Re-execute run `run` (a run folder, or a run id or `latest` under `runs_dir`) on its frozen
    projection with its recorded parameters and today's detectors. NotFound if the run or its
    frozen projection is missing; DetectorError if the frozen input does not match its digest or
    the recorded parameters are no longer valid."""
    t0 = time.perf_counter()
    rf = read_run(run, runs_dir)
    rec = rf.record
    proj = rf.projection()  # digest-checked: the exact input of the recorded run
    params = _recorded_params(rec)
    recorded_params = rec.get("params") or {}
    param_changes = sorted(k for k in params if recorded_params.get(k) != params[k])
    sections, _ = run_projection(proj, params)
    current = build_results(rec["run_id"], proj, params, sections).model_dump(mode="json")
    diffs = {name: diff_section(rf.results.get(name, []), current[name], key) for name, key in SECTIONS.items()}
    identical = all(canonical_json(rf.results.get(name, [])) == canonical_json(current[name]) for name in SECTIONS)
    logger.info("rerun of %s: %s", rec["run_id"], "identical" if identical else "different")
    return RerunReport(
        run_id=rec["run_id"],
        run_dir=str(rf.run_dir),
        snapshot_digest=proj.digest,
        identical=identical,
        detector_changes=_detector_changes(rec),
        param_changes=param_changes,
        diffs=diffs,
        recorded_results_sha256=rec.get("results_sha256", ""),
        seconds=time.perf_counter() - t0,
    )
