"""Evidence exports and re-runs for the API: build a signed package of a case (stored under
`exports_dir/<export_id>/`), find one for a caller (law enforcement: only exports of cases shared
with it), pack it as a deterministic zip, serve the public key, re-run a run. The routes in
api/routers/evidence.py only parse, call one function here, and format."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.auth import pseudonym
from api.results import resolve_run_id
from api.settings import Settings
from casework import CaseWorkflow
from detectors.results import SECTION_MODELS, Section, names_accounts
from detectors.runfolder import LATEST
from evidence.manifest import MANIFEST
from evidence.package import build_package
from evidence.report import REPORT_HTML, REPORT_PDF, ReportRequest
from evidence.selection import Limits, Selection
from evidence.signing import (
    ALGORITHM,
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    PublicKey,
    SigningKey,
    load_public_key,
    load_signing_key,
)
from graph.errors import CrumbgraphError, NotFound, StoreError
from graph.store import GraphStore

#: export ids are the package ids build_package makes (uuid4); anything else is never a path
_EXPORT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: fixed timestamp of every zip entry, so one package always zips to the same bytes
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class SigningKeyMissing(CrumbgraphError):
    """The server has no evidence signing key yet (HTTP 409: the request is fine, the server's
    state is not; an operator runs `crumbgraph keys init`, then the same request succeeds)."""

    exit_code = 2
    http_status = 409


class ExportRefused(CrumbgraphError):
    """A case cannot be exported as asked (no run to export from, nothing exportable): HTTP 409."""

    exit_code = 2
    http_status = 409


def _need_key(keys_dir: Path) -> None:
    if not (Path(keys_dir) / PRIVATE_KEY_FILE).exists() and not (Path(keys_dir) / PUBLIC_KEY_FILE).exists():
        raise SigningKeyMissing(
            "this server has no evidence signing key: an operator must run "
            "`crumbgraph keys init` (CRUMBGRAPH_KEYS_DIR) first"
        )


def public_key(settings: Settings) -> PublicKey:
    """The public key officers verify packages with."""
    _need_key(settings.keys_dir)
    return load_public_key(settings.keys_dir)


def signing_key(settings: Settings) -> SigningKey:
    _need_key(settings.keys_dir)
    if not (Path(settings.keys_dir) / PRIVATE_KEY_FILE).exists():
        raise SigningKeyMissing(
            f"only the public key is in {settings.keys_dir}: this server cannot sign; "
            "run `crumbgraph keys init` where exports are made"
        )
    return load_signing_key(settings.keys_dir)


def key_info(settings: Settings) -> dict[str, str]:
    pub = public_key(settings)
    return {"algorithm": ALGORITHM, "key_id": pub.key_id, "public_key": pub.b64}


@dataclass
class Export:
    export_id: str
    path: Path
    manifest: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        m = self.manifest
        return {
            "export_id": self.export_id,
            "case_id": (m.get("selection") or {}).get("case_id"),
            "run_id": m.get("run_id"),
            "snapshot_digest": m.get("snapshot_digest"),
            "exported_by": m.get("exported_by"),
            "exported_at": m.get("exported_at"),
            "counts": m.get("counts", {}),
            "truncated": bool(m.get("truncated")),
            "limits": m.get("limits", {}),
            "signer": m.get("signer", {}),
            "files": sorted(m.get("files", {})),
            "report": m.get("report"),
        }


def create_case_export(
    settings: Settings,
    state: CaseWorkflow,
    case_id: str,
    *,
    actor: str,
    limits: Limits | None = None,
    run_id: str | None = None,
) -> Export:
    """Export case `case_id`'s items from `run_id` (default: the case's run) as a signed package
    under `settings.exports_dir/<export_id>/`; the export id is the package id."""
    case = state.get_case(case_id)
    key = signing_key(settings)
    run = run_id or case.get("run_id")
    if not run:
        raise ExportRefused(f"case {case_id} names no run: pass run_id to export its items from a run")
    exportable = [{"kind": i["kind"], "id": i["id"]} for i in case["items"]]
    if not exportable:
        raise ExportRefused(f"case {case_id} has no items to export")
    selection = Selection.from_case(case_id, exportable)
    exports_dir = exports_folder(settings)
    held = [export_id for export_id, _, _ in _case_packages(exports_dir, case_id)]
    if len(held) >= settings.api_exports_per_case:
        raise ExportRefused(
            f"case {case_id} already has {len(held)} exports (the cap, CRUMBGRAPH_API_EXPORTS_PER_CASE): "
            "download one of them instead, or ask an operator to archive old ones"
        )
    tmp = exports_dir / f"{_TMP_PREFIX}{uuid.uuid4().hex}"
    try:
        report = ReportRequest(case=case, history=state.case_history(case_id), chromium=settings.chromium)
        pkg = build_package(
            run,
            tmp,
            selection,
            key,
            limits=limits or Limits(),
            runs_dir=settings.runs_dir,
            exported_by=actor,
            report=report,
        )
        export_id = pkg.manifest["package_id"]
        final = exports_dir / export_id
        _make_private(tmp)
        tmp.rename(final)  # whole packages only: a reader never sees one half-written
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return Export(export_id, final, pkg.manifest)


_TMP_PREFIX = ".tmp-"
_STALE_SECONDS = 3600.0


def exports_folder(settings: Settings) -> Path:
    """The exports folder (created 0700), cleared of half-written packages older than an hour
    (left by a process that died while writing one)."""
    exports_dir = Path(settings.exports_dir)
    exports_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix":
        os.chmod(exports_dir, 0o700)
    now = time.time()
    for stale in exports_dir.glob(f"{_TMP_PREFIX}*"):
        if stale.is_dir() and now - stale.stat().st_mtime > _STALE_SECONDS:
            shutil.rmtree(stale, ignore_errors=True)
    return exports_dir


def _case_packages(exports_dir: Path, case_id: str) -> Iterator[tuple[str, Path, dict[str, Any]]]:
    """(export id, folder, manifest) of every well-formed package of `case_id` in `exports_dir`."""
    for manifest in sorted(exports_dir.glob(f"*/{MANIFEST}")):
        if not _EXPORT_ID.fullmatch(manifest.parent.name):
            continue
        try:
            data = json.loads(manifest.read_bytes())
        except ValueError:
            continue
        if (data.get("selection") or {}).get("case_id") == case_id:
            yield manifest.parent.name, manifest.parent, data


def _make_private(folder: Path) -> None:
    """A package readable by the server's user only: folders 0700, files 0600."""
    if os.name != "posix":
        return
    for p in [folder, *folder.rglob("*")]:
        os.chmod(p, 0o700 if p.is_dir() else 0o600)


def get_export(settings: Settings, state: CaseWorkflow, export_id: str, *, viewer: str | None = None) -> Export:
    """An export by id. `viewer` (a law-enforcement user) sees it only if its case is shared with
    them; otherwise NotFound, as for a case not shared."""
    path = Path(settings.exports_dir) / export_id
    if not _EXPORT_ID.fullmatch(export_id) or not (path / MANIFEST).is_file():
        raise NotFound(f"export {export_id!r} does not exist")
    manifest = json.loads((path / MANIFEST).read_bytes())
    if viewer is not None:
        case_id = (manifest.get("selection") or {}).get("case_id")
        if not case_id:
            raise NotFound(f"export {export_id!r} does not exist")
        try:
            state.get_case(case_id, viewer=viewer)
        except NotFound:
            raise NotFound(f"export {export_id!r} does not exist") from None
    return Export(export_id, path, manifest)


def case_export_list(
    settings: Settings, state: CaseWorkflow, case_id: str, *, viewer: str | None = None
) -> list[Export]:
    """The exports of case `case_id`, newest first (`viewer`: a law-enforcement user, who sees
    them only if the case is shared with them; otherwise NotFound, as for the case)."""
    state.get_case(case_id, viewer=viewer)
    out = [Export(*package) for package in _case_packages(Path(settings.exports_dir), case_id)]
    return sorted(out, key=lambda e: (str(e.manifest.get("exported_at")), e.export_id), reverse=True)


def report_file(export: Export, fmt: str) -> tuple[bytes, str]:
    """The case report of an export as (bytes, media type): `pdf` or `html`. NotFound if the
    package has none in that format (e.g. made where no chromium was at hand)."""
    name, media = (REPORT_PDF, "application/pdf") if fmt == "pdf" else (REPORT_HTML, "text/html; charset=utf-8")
    listed = name in (export.manifest.get("files") or {})
    if not listed or not (export.path / name).is_file():
        why = (export.manifest.get("report") or {}).get("pdf_missing", "it was made before case reports existed")
        raise NotFound(f"export {export.export_id} has no {name} ({why})")
    return (export.path / name).read_bytes(), media


def package_zip(export: Export) -> bytes:
    """The package as a zip: one folder `<export_id>/`, entries sorted, fixed timestamps and
    modes, so the same package always gives the same bytes. Unzip and run `crumbgraph verify`."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(x for x in export.path.rglob("*") if x.is_file()):
            info = zipfile.ZipInfo(f"{export.export_id}/{p.relative_to(export.path).as_posix()}", _ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            zf.writestr(info, p.read_bytes())
    return buf.getvalue()


def rerun_report(
    settings: Settings, run_id: str, secret: bytes | None = None, *, store: GraphStore | None = None
) -> dict[str, Any]:
    """detectors.rerun.rerun on a run under `settings.runs_dir`, as a dict; with `secret`, the
    account ids in it are pseudonymised (what auditors see) and the server's folder is left out.
    `latest` names the run it names on every other route (the store's newest run with results),
    or, if the store has none, the newest run folder."""
    from detectors.rerun import SECTIONS, rerun

    if run_id == LATEST and store is not None:
        try:
            run_id = resolve_run_id(store, run_id)
        except (NotFound, StoreError):
            pass
    report = rerun(run_id, runs_dir=settings.runs_dir)
    if secret is not None:  # the ids of a section's rows, where its schema says they name accounts
        for name, key in SECTIONS.items():
            if names_accounts(SECTION_MODELS[Section(name)], key):
                d = report.diffs[name]
                d.removed, d.added, d.changed = (
                    [pseudonym(secret, a) for a in ids] for ids in (d.removed, d.added, d.changed)
                )
    out = report.to_dict()
    out.pop("run_dir", None)
    out["summary"] = report.summary()
    return out
