"""Evidence and re-runs: the public key that verifies packages, signed exports of a case (law
enforcement: only exports of cases shared with it), and auditors' re-runs on frozen inputs.
A server without a signing key answers 409 naming `crumbgraph keys init`."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response

from api import exports as E
from api.auth import AUDITOR, LAW_ENFORCEMENT, Principal
from api.deps import PrincipalDep, ServicesDep, audited, counted
from api.schemas import ExportCreate, ExportList, ExportSummary, PublicKeyInfo, RerunReport

router = APIRouter(tags=["evidence"])
_DEFAULT_LIMITS = ExportCreate()  # the body is optional: no body = the case's run, default limits


def _viewer(principal: Principal) -> str | None:
    return principal.name if principal.role == LAW_ENFORCEMENT else None


@router.get(
    "/keys/public",
    response_model=PublicKeyInfo,
    summary="The Ed25519 public key that verifies this server's evidence packages",
)
def get_public_key(services: ServicesDep) -> PublicKeyInfo:
    return PublicKeyInfo.model_validate(E.key_info(services.settings))


@router.post(
    "/cases/{case_id}/exports",
    response_model=ExportSummary,
    status_code=201,
    summary="Write a signed evidence package of a case's items (409 without a signing key)",
)
def create_export(
    request: Request, case_id: str, services: ServicesDep, principal: PrincipalDep, body: ExportCreate = _DEFAULT_LIMITS
) -> ExportSummary:
    export = E.create_case_export(
        services.settings,
        services.cases,
        case_id,
        actor=principal.name,
        run_id=body.run_id,
        limits=body.limits(),
    )
    audited(request, export_id=export.export_id, case_id=case_id)
    counted(request, export.manifest["counts"]["nodes"])
    return ExportSummary.model_validate(export.summary())


@router.get("/exports/{export_id}", response_model=ExportSummary, summary="An export's manifest summary")
def get_export(request: Request, export_id: str, services: ServicesDep, principal: PrincipalDep) -> ExportSummary:
    export = E.get_export(services.settings, services.cases, export_id, viewer=_viewer(principal))
    audited(request, export_id=export.export_id)
    return ExportSummary.model_validate(export.summary())


@router.get(
    "/exports/{export_id}/package",
    response_class=Response,
    responses={
        200: {"content": {"application/zip": {}}, "description": "The package directory as a deterministic zip"}
    },
    summary="Download an export (zip of the package; verify with `crumbgraph verify`)",
)
def download_export(request: Request, export_id: str, services: ServicesDep, principal: PrincipalDep) -> Response:
    export = E.get_export(services.settings, services.cases, export_id, viewer=_viewer(principal))
    data = E.package_zip(export)
    audited(request, export_id=export.export_id)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="evidence-{export.export_id}.zip"'},
    )


@router.get(
    "/cases/{case_id}/exports",
    response_model=ExportList,
    summary="A case's evidence packages, newest first (law enforcement: cases shared with them)",
)
def list_case_exports(request: Request, case_id: str, services: ServicesDep, principal: PrincipalDep) -> ExportList:
    exports = E.case_export_list(services.settings, services.cases, case_id, viewer=_viewer(principal))
    counted(request, len(exports))
    return ExportList(items=[ExportSummary.model_validate(e.summary()) for e in exports])


@router.get(
    "/exports/{export_id}/report",
    response_class=Response,
    responses={
        200: {
            "content": {"application/pdf": {}, "text/html": {}},
            "description": "The case report of the package (PDF by default; `format=html` for the printable page)",
        }
    },
    summary="Download an export's case report (the same file the signed package holds)",
)
def download_report(
    request: Request,
    export_id: str,
    services: ServicesDep,
    principal: PrincipalDep,
    format: Literal["pdf", "html"] = "pdf",
) -> Response:
    export = E.get_export(services.settings, services.cases, export_id, viewer=_viewer(principal))
    data, media = E.report_file(export, format)
    audited(request, export_id=export.export_id)
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="case-report-{export.export_id}.{format}"'},
    )


@router.post(
    "/runs/{run_id}/rerun",
    response_model=RerunReport,
    summary="Re-run a run's detectors on its frozen input and report any difference",
)
def rerun_run(run_id: str, services: ServicesDep, principal: PrincipalDep) -> RerunReport:
    secret = services.pseudonym_secret if principal.role == AUDITOR else None
    # a re-run needs only the runs folder: the store, if it is up, says which run `latest` is
    store = services.stores.opened
    return RerunReport.model_validate(E.rerun_report(services.settings, run_id, secret, store=store))
