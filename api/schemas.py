"""Request and response models of the API; they are the OpenAPI document (with examples)."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from casework import CaseItemKind, CaseStatus, Role
from detectors.results import (
    CLUSTER_EXAMPLE,
    FLAGGED_ACCOUNT_EXAMPLES,
    PAGED_SECTIONS,
    Cluster,
    FlaggedAccount,
    Pathway,
)
from evidence.selection import Limits

NodeKindName = Literal["account", "content", "url", "hashtag"]
#: the result sections the API pages through (detectors.results.PAGED_SECTIONS, as a query type)
ResultsSection = Literal["pathways", "clusters", "flagged_accounts"]
assert set(get_args(ResultsSection)) == {s.value for s in PAGED_SECTIONS}, "ResultsSection drifted from PAGED_SECTIONS"

MAX_PAGE = 500
MAX_HOPS = 3
MAX_NODES = 2_000

Id = Field(min_length=1, max_length=512)
Note = Field(
    min_length=1,
    max_length=4_000,
    description="Why; every change to a case needs one.",
    examples=["Bridge account confirmed by manual review of the comment thread."],
)


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "https://crumbgraph.example/problems/not-found",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "run 'r-missing' does not exist",
                    "instance": "/runs/r-missing",
                }
            ]
        },
    )
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


class Health(BaseModel):
    status: Literal["ok", "degraded"] = Field(examples=["ok"])
    store: Literal["ok", "unavailable"] = Field(examples=["ok"])


class Me(BaseModel):
    name: str = Field(examples=["alice"])
    role: Role


# -- runs ------------------------------------------------------------------------------
class RunStart(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"params": None}, {"params": {"projection": {"since": "2026-01-01T00:00:00Z"}}}]
        }
    )
    params: dict[str, Any] | None = Field(
        default=None,
        description="Detector parameters by section (`projection`, `navigation`, one per detector); "
        "omitted: the defaults. Unknown sections or fields: 422.",
    )


class JobProgress(BaseModel):
    """The latest progress report of a running job: `done` of `total` units of `stage`."""

    stage: str = Field(examples=["detector pathways"])
    done: float
    total: float | None = Field(description="null while unknown (a CSV file's rows)")
    fraction: float | None = Field(description="done / total in 0..1; null while the total is unknown")


#: what a background job does: a detector run, an ingest, or publishing a run's results into Neo4j
JobKind = Literal["run", "ingest", "publish"]


class Job(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "job_id": "run-3f2a9c0d1e2b",
                    "kind": "run",
                    "status": "succeeded",
                    "submitted_by": "alice",
                    "submitted_at": "2026-03-01T12:00:00Z",
                    "started_at": "2026-03-01T12:00:00Z",
                    "finished_at": "2026-03-01T12:00:42Z",
                    "params": {"params": None},
                    "progress": {"stage": "done", "done": 1.0, "total": 1.0, "fraction": 1.0},
                    "run_id": "run-20260301T120000Z-5d1c0a2e",
                    "report": None,
                    "error": None,
                }
            ]
        }
    )
    job_id: str
    kind: JobKind
    status: Literal["queued", "running", "succeeded", "failed"]
    submitted_by: str
    submitted_at: str
    started_at: str | None = None
    finished_at: str | None = None
    params: dict[str, Any] | None = None
    progress: JobProgress | None = None
    run_id: str | None = None
    report: Any = None
    error: str | None = None


class JobSummary(BaseModel):
    """A job as the shared job list shows it: who started it, its state and progress (never its
    parameters or report, which may name server paths: see /run-jobs/{id} and /ingest/{id})."""

    job_id: str
    kind: JobKind
    status: Literal["queued", "running", "succeeded", "failed"]
    submitted_by: str
    submitted_at: str
    started_at: str | None = None
    finished_at: str | None = None
    progress: JobProgress | None = None
    run_id: str | None = None
    error: str | None = Field(None, description="why it failed (withheld from auditors: it may name ids)")


class JobList(BaseModel):
    """Jobs of this server process, newest first."""

    items: list[JobSummary]
    running: int = Field(description="jobs queued or running now")


class RunRecord(BaseModel):
    """A run record as the runner saved it (run id, parameters, digests, detector versions, ...)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "run_id": "20260301T120000Z-5d1c",
                    "started_at": "2026-03-01T12:00:00Z",
                    "snapshot_digest": "sha256:9b1c...",
                    "params": {"projection": {"since": None}},
                }
            ]
        },
    )
    run_id: str


class RunList(BaseModel):
    items: list[RunRecord]


class ClusterDetail(Cluster):
    model_config = ConfigDict(json_schema_extra={"examples": [{**CLUSTER_EXAMPLE, "entry_pathways": 12}]})
    entry_pathways: int = Field(description="How many pathways of the run reach this cluster.")


class PageInfo(BaseModel):
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    total: int = Field(description="Items matching, over all pages.")


class ResultsPage(PageInfo):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "run_id": "run-20260301T120000Z-5d1c0a2e",
                    "snapshot_digest": "3e3130f4dd4ca0cdb723c05f0a853029d4dcbb678681057aedc3224c6158b8b8",
                    "counts": {"pathways": 811, "clusters": 2, "flagged_accounts": 60},
                    "section": "flagged_accounts",
                    "items": [FLAGGED_ACCOUNT_EXAMPLES[0]],
                    "next_cursor": "YWZ0ZXI6MA",
                    "total": 60,
                }
            ]
        }
    )
    run_id: str
    snapshot_digest: str | None
    counts: dict[str, int]
    section: ResultsSection
    items: list[Pathway] | list[Cluster] | list[FlaggedAccount] = Field(description="Items of `section`, by score.")


class PathwayPage(PageInfo):
    run_id: str
    items: list[Pathway]


class ClusterPage(PageInfo):
    run_id: str
    items: list[Cluster]


class FlaggedPage(PageInfo):
    run_id: str
    items: list[FlaggedAccount]


# -- accounts --------------------------------------------------------------------------
class Account(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account_id": "a0018555",
                    "properties": {"account_id": "a0018555", "age_band": "adult", "status": "active"},
                    "run_id": "run-20260301T120000Z-5d1c0a2e",
                    "flag": FLAGGED_ACCOUNT_EXAMPLES[0],
                    "clusters": [],
                    "pathway_count": 2,
                }
            ]
        }
    )
    account_id: str
    properties: dict[str, Any]
    run_id: str | None
    flag: FlaggedAccount | None
    clusters: list[str]
    pathway_count: int


class Neighbourhood(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account_id": "a-77",
                    "hops": 1,
                    "limit": 100,
                    "nodes": [{"kind": "account", "id": "a-77"}, {"kind": "url", "id": "https://invite.example/x"}],
                    "edges": [
                        {
                            "src_kind": "account",
                            "src_id": "a-77",
                            "type": "BIO_LINK",
                            "kind": "bio",
                            "dst_kind": "url",
                            "dst_id": "https://invite.example/x",
                        }
                    ],
                    "truncated": False,
                }
            ]
        }
    )
    account_id: str
    hops: int
    limit: int
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    truncated: bool


# -- cases -----------------------------------------------------------------------------
class CaseItemRef(BaseModel):
    kind: CaseItemKind = Field(examples=["account"])
    id: str = Field(min_length=1, max_length=512, examples=["a-77"])


class CaseItem(CaseItemRef):
    added_by: str
    added_at: str


class CaseCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Bridge a-77 into cluster k-01",
                    "note": "Opened from the flagged-accounts table.",
                    "items": [{"kind": "account", "id": "a-77"}, {"kind": "pathway", "id": "p-0001"}],
                    "run_id": "20260301T120000Z-5d1c",
                    "assignee": None,
                }
            ]
        }
    )
    title: str = Field(min_length=1, max_length=200)
    note: str = Note
    items: list[CaseItemRef] = Field(default=[], max_length=500)
    run_id: str | None = Field(default=None, max_length=512)
    assignee: str | None = Field(default=None, max_length=64)


class CaseUpdate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "in_progress", "note": "Taking this one; reviewing the comment thread."}]
        }
    )
    note: str = Note
    status: CaseStatus | None = None
    assignee: str | None = Field(default=None, max_length=64)
    unassign: bool = False


class CaseItemsAdd(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"note": "A second trail from the same video.", "items": [{"kind": "pathway", "id": "p-0007"}]}
            ]
        }
    )
    note: str = Note
    items: list[CaseItemRef] = Field(min_length=1, max_length=500)


class CaseNote(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"note": "Comment thread reviewed; bio link confirmed."}]}
    )
    note: str = Note


class CaseShare(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"user_name": "officer-nl", "note": "Referral to the national police, ticket 4411."}]
        }
    )
    user_name: str = Field(min_length=1, max_length=64)
    note: str = Note


class Case(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "case_id": "case-1a2b3c4d5e6f",
                    "title": "Bridge a-77 into cluster k-01",
                    "status": "in_progress",
                    "assignee": "alice",
                    "run_id": "20260301T120000Z-5d1c",
                    "created_by": "alice",
                    "created_at": "2026-03-01T12:05:00Z",
                    "updated_at": "2026-03-01T12:20:00Z",
                    "items": [
                        {"kind": "account", "id": "a-77", "added_by": "alice", "added_at": "2026-03-01T12:05:00Z"}
                    ],
                    "shared_with": ["officer-nl"],
                }
            ]
        }
    )
    case_id: str
    title: str
    status: CaseStatus
    assignee: str | None
    run_id: str | None
    created_by: str
    created_at: str
    updated_at: str
    items: list[CaseItem]
    shared_with: list[str]


class CaseList(BaseModel):
    items: list[Case]


class CaseHistoryEntry(BaseModel):
    seq: int
    at: str
    actor: str
    action: str = Field(examples=["status"])
    detail: dict[str, Any] = Field(examples=[{"from": "open", "to": "in_progress"}])
    note: str


class CaseHistory(BaseModel):
    case_id: str
    items: list[CaseHistoryEntry]


# -- administration --------------------------------------------------------------------
class UserCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "officer-nl", "role": "law_enforcement"}]})
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    role: Role


class User(BaseModel):
    name: str
    role: Role
    key_id: str
    created_at: str
    revoked_at: str | None


class UserCreated(BaseModel):
    user: User
    api_key: str = Field(
        description="Shown once; only its argon2 hash is stored.", examples=["cg_0123456789abcdef_<secret>"]
    )


class UserList(BaseModel):
    items: list[User]


class IngestStart(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"snapshot_dir": "2026-03-01"}]})
    snapshot_dir: str = Field(
        min_length=1,
        max_length=4096,
        description="A snapshot folder below the server's ingest root (CRUMBGRAPH_INGEST_ROOT), relative to it. "
        "The report and quarantine go under the server's state folder.",
    )


class Config(BaseModel):
    model_config = ConfigDict(extra="allow")
    store: str


# -- audit -----------------------------------------------------------------------------
class AuditEntry(BaseModel):
    seq: int
    at: str
    user_name: str | None
    role: str | None
    method: str
    route: str = Field(examples=["/accounts/{account_id}"])
    params: dict[str, Any]
    status: int
    result_count: int | None
    duration_ms: float
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_after: int | None = Field(description="Pass as `after` for the next page; null on the last page.")


class AuditVerification(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ok": False,
                    "entries": 120,
                    "head_seq": 120,
                    "head_hash": "5e0c...",
                    "problem": "edited",
                    "seq": 17,
                    "message": "entry 17 was edited (its hash no longer matches)",
                }
            ]
        }
    )
    ok: bool
    entries: int
    head_seq: int | None
    head_hash: str
    problem: str | None
    seq: int | None
    message: str


# -- evidence and re-runs (issue 6) ------------------------------------------------------------
class PublicKeyInfo(BaseModel):
    """The Ed25519 key that verifies this server's evidence packages (`crumbgraph verify --public-key`)."""

    algorithm: Literal["Ed25519"] = Field(examples=["Ed25519"])
    key_id: str = Field(examples=["5f0c2a9e1b7d4c3a"])
    public_key: str = Field(
        description="base64 of the 32 raw public-key bytes", examples=["q0Jm1S3Xk9yV0b2v8m0X4l2j6w8Hq7y2z4b6d8f0h2A="]
    )


class ExportCreate(Limits):  # the limits' defaults and bounds are evidence.selection.Limits's
    """Limits of data minimisation (see docs/evidence.md); run_id defaults to the case's run."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"hops": 1, "max_nodes": 500, "max_edges": 2000, "max_pathways": 50}]},
    )
    run_id: str | None = Field(default=None, min_length=1, max_length=200)

    def limits(self) -> Limits:
        """The limits alone (without run_id), as the evidence package records them."""
        return Limits.model_validate(self.model_dump(include=set(Limits.model_fields)))


class ExportSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "export_id": "0b7e9c2e-5d7a-4c39-9a55-2f0e4c1d8a10",
                    "case_id": "case-3f2a9c1d0e4b",
                    "run_id": "r-20260301",
                    "snapshot_digest": "sha256:ab12…",
                    "exported_by": "alice",
                    "exported_at": "2026-03-01T12:00:00+00:00",
                    "counts": {"nodes": 42, "edges": 77, "pathways": 3},
                    "truncated": False,
                    "limits": {"hops": 1, "max_nodes": 500, "max_edges": 2000, "max_pathways": 50},
                    "signer": {"algorithm": "Ed25519", "key_id": "5f0c2a9e1b7d4c3a", "public_key": "q0Jm…"},
                    "files": [
                        "case.jsonld",
                        "edges.csv",
                        "nodes.csv",
                        "report.html",
                        "report.pdf",
                        "subgraph.graphml",
                        "subgraph.json",
                    ],
                    "report": {"html": "report.html", "pdf": "report.pdf"},
                }
            ]
        }
    )
    export_id: str
    case_id: str | None
    run_id: str | None
    snapshot_digest: str | None
    exported_by: str | None
    exported_at: str | None
    counts: dict[str, int]
    truncated: bool
    limits: dict[str, int]
    signer: dict[str, str]
    files: list[str]
    report: dict[str, str | None] | None = Field(
        None,
        description="the case report in the package: `html`, `pdf` (null, with `pdf_missing` saying why, "
        "when the server had no chromium); download it from /exports/{export_id}/report",
    )


class UnpublishReport(BaseModel):
    """What DELETE /runs/{run_id}/publish removed from Neo4j (zeros if the run was not published)."""

    run_id: str
    store: str
    clusters: int
    pathways: int
    flags: int
    run_node_deleted: bool


class ExportList(BaseModel):
    """A case's evidence packages, newest first."""

    items: list[ExportSummary]


class RerunReport(BaseModel):
    """A re-run of a run's detectors on its frozen input (auditors: account ids pseudonymised)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "run_id": "r-20260301",
                    "snapshot_digest": "sha256:ab12…",
                    "identical": True,
                    "reproduced": True,
                    "detector_changes": [],
                    "param_changes": [],
                    "diffs": {
                        "clusters": {"removed": [], "added": [], "changed": [], "reordered": False},
                        "pathways": {"removed": [], "added": [], "changed": [], "reordered": False},
                        "accounts": {"removed": [], "added": [], "changed": [], "reordered": False},
                    },
                    "recorded_results_sha256": "9f2c…",
                    "seconds": 0.41,
                    "summary": ["run r-20260301: IDENTICAL results on frozen input sha256:ab12… (0.41s)"],
                }
            ]
        },
    )
    run_id: str
    snapshot_digest: str
    identical: bool
    reproduced: bool
    detector_changes: list[dict[str, Any]]
    param_changes: list[str]
    diffs: dict[str, Any]
    recorded_results_sha256: str
    seconds: float
    summary: list[str]
