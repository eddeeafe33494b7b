"""The results format (results.json, format 1) as one typed model: what the detectors produce,
the runner serialises, the API serves and docs/results.md documents.

The fields of /work/shared/spec/results-format.md are required; the rest are optional so that a
document carrying only the spec's fields still reads. An optional field left out (None) is never
written: which keys an item has (content nodes' `content_kind`, each role's own fields) is part
of the byte-identical output: any `model_dump(mode="json")` leaves them out.
Fields are declared in the order they are written. Floats are rounded by the detectors (`rnd`).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic.config import JsonDict

from graph.model import Direction, NodeKind, RelType

#: version of the results format; bumped when a field changes meaning or disappears
RESULTS_FORMAT = 1


class Section(StrEnum):
    """The result lists of results.json, in the order they are written."""

    CLUSTERS = "clusters"
    PATHWAYS = "pathways"
    FLAGGED_ACCOUNTS = "flagged_accounts"
    EXPOSURE = "exposure"


#: the sections the API pages through (exposure is read whole, from results.json)
PAGED_SECTIONS: tuple[Section, ...] = (Section.PATHWAYS, Section.CLUSTERS, Section.FLAGGED_ACCOUNTS)


class Role(StrEnum):
    """Why an account is flagged (the spec's vocabulary; `relay` and `recreation` are reserved:
    no built-in detector emits them yet)."""

    BRIDGE = "bridge"
    RELAY = "relay"
    CLUSTER_MEMBER = "cluster_member"
    SUSPICIOUS_CONTACT = "suspicious_contact"
    RECREATION = "recreation"


# Examples (the OpenAPI document shows them): real detector output, lists shortened; a test
# checks that each has exactly the keys the detectors write for it.
CLUSTER_EXAMPLE: JsonDict = {
    "cluster_id": "cluster-570833d25358",
    "accounts": ["a0000575", "a0000839", "a0000878"],
    "content": ["c0000469", "c0000698", "c0000875"],
    "urls": ["https://ligexax.example/join/panaca"],
    "hashtags": ["cejicu", "pudumu", "rafuka"],
    "score": 95.229,
    "labelled_accounts": 2,
    "unlabelled_accounts": 1,
}
PATHWAY_EXAMPLE: JsonDict = {
    "pathway_id": "pw-2a97421b5d40a62a",
    "source": {"kind": "content", "id": "c0053288"},
    "cluster_id": "cluster-33841b348272",
    "nodes": [
        {"kind": "content", "id": "c0053288", "content_kind": "post"},
        {"kind": "content", "id": "c0032281", "content_kind": "comment"},
        {"kind": "account", "id": "a0016634"},
        {"kind": "url", "id": "https://sehocil.example/join/gotufo"},
    ],
    "edges": ["REPLY_TO", "POSTED", "BIO_LINK"],
    "directions": ["backward", "backward", "forward"],
    "hop_probabilities": [0.25, 0.5, 0.05],
    "created_at": ["2025-01-10T17:46:07Z", "2025-01-10T17:46:07Z", "2025-08-16T03:49:58Z"],
    "created_by": ["a0016634", "a0016634", "a0016634"],
    "bridges": ["a0016634"],
    "score": 0.00625,
}
FLAGGED_ACCOUNT_EXAMPLES: list[JsonValue] = [
    {
        "account_id": "a0018555",
        "score": 0.17705982039,
        "role": "bridge",
        "pathways": ["pw-10eff323e039f244", "pw-180bf7daa90cdce4"],
    },
    {
        "account_id": "a0009963",
        "score": 2.7,
        "role": "cluster_member",
        "cluster_id": "cluster-570833d25358",
        "pathways": ["pw-3fb342d1584b50d7"],
    },
    {
        "account_id": "a0005939",
        "score": 22.4710613151,
        "role": "suspicious_contact",
        "pathways": [],
        "minors": 25,
        "largest_connected_share": 0.04,
        "density": 0.0,
        "engaged_share": 0.88,
        "cluster_reach": 0.00214118779577,
        "followed_minors": 23,
        "addressed_minors": 24,
        "minor_groups": 25,
    },
]
EXPOSURE_EXAMPLE: JsonDict = {"content_id": "c0041472", "probability": 0.154819559627}


def _absent(value: object) -> bool:
    return value is None


def optional(description: str) -> Any:
    """An optional field: None means absent, and an absent field is not written."""
    return Field(None, exclude_if=_absent, description=description)


class ResultModel(BaseModel):
    """Base of every results model: immutable; keys other producers add are ignored on reading."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class NodeRef(ResultModel):
    """A node of the graph by kind and external id."""

    kind: NodeKind = Field(description="account, content, url or hashtag")
    id: str = Field(description="the node's external id (a URL or hashtag is its normalised text)")
    content_kind: str | None = optional("content nodes of `Pathway.nodes` only: the item's kind (post, video, …)")


class Cluster(ResultModel):
    """An abusive cluster: accounts that vouch for each other around abusive-labelled content."""

    model_config = ConfigDict(json_schema_extra={"examples": [CLUSTER_EXAMPLE]})

    cluster_id: str = Field(description="`cluster-` + 12 hex digits of sha256 over the sorted member ids")
    accounts: list[str] = Field(description="member account ids, sorted")
    content: list[str] = Field(description="content ids the cluster owns (its members' content), sorted")
    urls: list[str] | None = optional("URLs the cluster owns (its invite links), sorted")
    hashtags: list[str] | None = optional("hashtags the cluster owns (its coded tags), sorted")
    score: float = Field(description="the members' total abusive-label mass (sum of label confidences)")
    labelled_accounts: int | None = optional("members with abusive-label mass")
    unlabelled_accounts: int | None = optional("members without (vouched for by the labelled ones)")


class Pathway(ResultModel):
    """A breadcrumb pathway: a real walk from child-oriented content into an abusive cluster."""

    model_config = ConfigDict(json_schema_extra={"examples": [PATHWAY_EXAMPLE]})

    pathway_id: str = Field(description="`pw-` + 16 hex digits of sha256 over the cluster and the nodes")
    source: NodeRef = Field(description="the child-oriented content item the walk starts at")
    cluster_id: str = Field(description="the abusive cluster it reaches")
    nodes: list[NodeRef] = Field(description="the walk, source first, the cluster's node last")
    edges: list[RelType] = Field(description="stored relationship type of each hop")
    directions: list[Direction] | None = optional("each hop walks its relationship forward or backward")
    hop_probabilities: list[float] | None = optional("click probability of each hop")
    created_at: list[str | None] | None = optional("when each hop's relationship was created (ISO-8601 UTC)")
    created_by: list[str | None] | None = optional("the account that created each hop's reference")
    bridges: list[str] | None = optional("accounts laying crumbs on this walk (not members, not the source's)")
    score: float = Field(description="the walk's probability: the product of its hop probabilities")


class FlaggedAccount(ResultModel):
    """An account flagged by a detector, with the fields of its role."""

    model_config = ConfigDict(json_schema_extra={"examples": FLAGGED_ACCOUNT_EXAMPLES})

    account_id: str = Field(description="the account's external id")
    score: float = Field(description="the ranking within the role (see docs/results.md)")
    role: Role = Field(description="why it is flagged")
    cluster_id: str | None = optional("cluster_member: the cluster it belongs to")
    pathways: list[str] = Field(description="bridge: pathways it lays crumbs on; cluster_member: pathways ending at it")
    minors: int | None = optional("suspicious_contact: distinct minors it contacts")
    largest_connected_share: float | None = optional("suspicious_contact: share of those minors in their largest group")
    density: float | None = optional("suspicious_contact: share of the minors' pairs that follow each other")
    engaged_share: float | None = optional("suspicious_contact: share of those minors it both follows and addresses")
    cluster_reach: float | None = optional("suspicious_contact: probability of reaching a cluster from the account")
    followed_minors: int | None = optional("suspicious_contact: how many of those minors it follows")
    addressed_minors: int | None = optional(
        "suspicious_contact: how many of those minors it addresses (mentions, comments under their content)"
    )
    minor_groups: int | None = optional(
        "suspicious_contact: connected groups those minors form among themselves (a class is one)"
    )


class ExposureEntry(ResultModel):
    """How exposed a child-oriented item is: the chance a click-walk from it enters a cluster."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXPOSURE_EXAMPLE]})

    content_id: str = Field(description="a child-oriented content item no cluster owns")
    probability: float = Field(description="P(a uniform click-walk from it enters any cluster within the hop limit)")


class DetectorRef(ResultModel):
    """A detector that ran, by stable name and version."""

    name: str = Field(description="the detector's stable name")
    version: str = Field(description="bumped when its output for the same input can change")


class RankedResults(ResultModel):
    """results.json without `exposure`: the header and the ranked lists the API pages through
    (what it parses, so that it never validates the long exposure list)."""

    run_id: str = Field(description="the run")
    results_format: int | None = optional("version of this format (1)")
    snapshot_digest: str = Field(description="sha256 of the exact input the detectors saw (the projection's digest)")
    detectors: list[DetectorRef] | None = optional("the detectors that ran, in order")
    params: dict[str, Any] | None = optional("every parameter of the run, defaults filled in")
    clusters: list[Cluster] = Field(description="abusive clusters, highest score first")
    pathways: list[Pathway] = Field(description="breadcrumb pathways, highest score first")
    flagged_accounts: list[FlaggedAccount] = Field(description="flagged accounts, highest score first")


class Results(RankedResults):
    """One detector run's results (results.json): RankedResults' fields, then `exposure`."""

    exposure: list[ExposureEntry] | None = optional("exposed child-oriented items, most exposed first")


#: each section's canonical order (highest score first, ties by id; accounts also by role)
_SORT_KEYS: dict[Section, Callable[[Any], tuple[Any, ...]]] = {
    Section.CLUSTERS: lambda c: (-c.score, c.cluster_id),
    Section.PATHWAYS: lambda p: (-p.score, p.pathway_id),
    Section.FLAGGED_ACCOUNTS: lambda a: (-a.score, a.account_id, a.role),
}


class Sections(BaseModel):
    """The result lists one detector (or the merge of all of them) produced: one field per
    `Section`, in its order. Mutable: a detector fills it, the runner merges and sorts."""

    clusters: list[Cluster] = Field(default_factory=list)
    pathways: list[Pathway] = Field(default_factory=list)
    flagged_accounts: list[FlaggedAccount] = Field(default_factory=list)
    exposure: list[ExposureEntry] = Field(default_factory=list)

    def rows(self, section: Section) -> list[Any]:
        items: list[Any] = getattr(self, section.value)
        return items

    def extend(self, other: Sections) -> None:
        for section in Section:
            self.rows(section).extend(other.rows(section))

    def sort(self) -> None:
        """Put clusters, pathways and flagged accounts in their canonical order (exposure is
        ordered by the detector that produces it)."""
        for section, key in _SORT_KEYS.items():
            self.rows(section).sort(key=key)
