"""The results format (results.json, format 1) as one typed model: what the detectors produce,
the runner serialises, the API serves and docs/results.md documents.

The fields of /work/shared/spec/results-format.md are required; the rest are optional so that a
document carrying only the spec's fields still reads. An optional field left out (None) is never
written: which keys an item has (content nodes' `content_kind`, each role's own fields) is part
of the byte-identical output: any `model_dump(mode="json")` leaves them out.
Fields are declared in the order they are written. Floats are rounded by the detectors (`rnd`).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Annotated, Any, Union, get_args, get_origin

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
    """Why an account is flagged (the spec's vocabulary; `recreation` is reserved: no built-in
    detector emits it yet)."""

    BRIDGE = "bridge"
    RELAY = "relay"
    CLUSTER_MEMBER = "cluster_member"
    SUSPICIOUS_CONTACT = "suspicious_contact"
    RECREATION = "recreation"


class CrumbShape(StrEnum):
    """The kind of breadcrumb a pathway follows into its cluster (docs/detectors.md#crumb-attribution).
    The first six are laid by an account (the bridge); the rest are not crumbs anyone laid."""

    COMMENT_MENTION = "comment_mention"  # a comment (or post) mentions a member
    BIO_LINK = "bio_link"  # an account's bio links a URL the cluster owns (its invite)
    CODED_HASHTAG = "coded_hashtag"  # a comment or re-share carries a hashtag the cluster owns
    URL_LINK = "url_link"  # a comment or post links a URL the cluster owns
    RESHARE = "reshare"  # a share of cluster content, or a share of the child item into the cluster's group
    RELAY = "relay"  # a mention of a relay: an account outside the cluster whose own posts share its content
    RECOMMENDATION = "recommendation"  # the platform recommends cluster content from the child item: no bridge
    FOLLOW = "follow"  # only an account's follow of a member leads in (a follow is no crumb a viewer sees)
    MEMBER_CONTENT = "member_content"  # a member's own comment on, or share of, the child item
    INCIDENTAL = "incidental"  # a walk through members' ordinary lives that nobody laid


#: pathway tiers (`Pathway.tier`), highest first: the integer part of the queue score
TIER_LAID, TIER_RECOMMENDED, TIER_CONTACT, TIER_INCIDENTAL = 3, 2, 1, 0


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
    "pathway_id": "pw-434c7d4d2726db05",
    "source": {"kind": "content", "id": "c0046034"},
    "cluster_id": "cluster-aa2ecd7dc4f8",
    "nodes": [
        {"kind": "content", "id": "c0046034", "content_kind": "video"},
        {"kind": "content", "id": "c0002598", "content_kind": "comment"},
        {"kind": "account", "id": "a0010285"},
        {"kind": "content", "id": "c0043750", "content_kind": "post"},
        {"kind": "content", "id": "c0022534", "content_kind": "post"},
    ],
    "edges": ["REPLY_TO", "MENTIONS", "POSTED", "SHARES"],
    "directions": ["backward", "forward", "forward", "forward"],
    "hop_probabilities": [0.142857142857, 0.333333333333, 0.047619047619, 0.5],
    "created_at": ["2025-09-18T00:25:25Z", "2025-09-18T00:25:25Z", "2025-05-28T13:12:09Z", "2025-05-28T13:12:09Z"],
    "created_by": ["a0013041", "a0013041", "a0010285", "a0010285"],
    "bridges": ["a0010285", "a0013041"],
    "probability": 0.00113378684807,
    "shape": "relay",
    "laid_by": ["a0013041"],
    "relays": ["a0010285"],
    "crumbs": [1],
    "tier": 3,
    "evidence": 23.180548063,
    "evidence_terms": {
        "sources": 9.40087943628,
        "laid": 2.0,
        "anchored": 3.0,
        "pointer": 3.0,
        "tied": 2.0,
        "owned_token": 0.0,
        "surprise": 3.77966862721,
    },
    "trail": "pw-434c7d4d2726db05",
    "duplicates": 4,
    "score": 3.62887011944,
}
FLAGGED_ACCOUNT_EXAMPLES: list[JsonValue] = [
    {
        "account_id": "a0013041",
        "score": 24.790176521,
        "role": "bridge",
        "pathways": ["pw-35f29de380d16925", "pw-434c7d4d2726db05", "pw-76f95bb3e45c92a5"],
        "sources": 6,
        "shapes": ["bio_link", "coded_hashtag", "comment_mention", "relay", "reshare"],
        "tied": True,
    },
    {
        "account_id": "a0010285",
        "score": 23.180548063,
        "role": "relay",
        "pathways": ["pw-434c7d4d2726db05", "pw-a0c502b13fff2493"],
        "sources": 1,
        "shapes": ["relay"],
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


# -- what a string field holds: the marks auditors' pseudonyms are made from ---------------
@dataclass(frozen=True)
class IdMark:
    """Field metadata saying whether a string names an account. `when` (a sibling field and
    a value): an account id only when that field has that value (a node of kind account)."""

    account: bool
    when: tuple[str, str] | None = None


ACCOUNT = IdMark(account=True)
NOT_ACCOUNT = IdMark(account=False)
#: an account's external id: pseudonymised wherever an auditor can read it
AccountId = Annotated[str, ACCOUNT, Field(json_schema_extra={"x-account-id": True})]
#: a node's external id: an account id when the node's `kind` is account
NodeId = Annotated[
    str, IdMark(account=True, when=("kind", "account")), Field(json_schema_extra={"x-account-id": "kind"})
]
#: a string that never names an account (ids of runs, clusters, pathways, content; URLs,
#: hashtags, timestamps, digests). An unmarked string is treated as an account id (fail closed).
Text = Annotated[str, NOT_ACCOUNT]


def id_mark(metadata: list[Any] | tuple[Any, ...]) -> IdMark | None:
    return next((m for m in metadata if isinstance(m, IdMark)), None)


def map_account_ids(model: BaseModel, fn: Callable[[str], str]) -> BaseModel:
    """A copy of `model` with `fn` applied to every account id it holds, found by the marks of
    its fields (at any depth: lists, optionals, nested models). A string field without a mark
    is mapped too, so that a new field cannot leak account ids by default."""
    updates: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        mark = id_mark(info.metadata)
        if mark is not None and isinstance(value, str):
            new = fn(value) if _applies(mark, model) else value
        else:
            new = _map(value, info.annotation, fn, model)
        if new is not value:
            updates[name] = new
    return model.model_copy(update=updates) if updates else model


def _applies(mark: IdMark, owner: BaseModel) -> bool:
    if not mark.account:
        return False
    return mark.when is None or str(getattr(owner, mark.when[0], None)) == mark.when[1]


def _map(value: Any, tp: Any, fn: Callable[[str], str], owner: BaseModel) -> Any:
    """`value` (of annotation `tp`) with its account ids mapped."""
    if value is None:
        return None
    origin = get_origin(tp)
    if origin is Annotated:
        base, *meta = get_args(tp)
        mark = id_mark(meta)
        if mark is not None and isinstance(value, str):
            return fn(value) if _applies(mark, owner) else value
        return _map(value, base, fn, owner)
    if origin in (Union, types.UnionType):
        arms = [a for a in get_args(tp) if a is not type(None)]
        arm = next((a for a in arms if _fits(value, a)), None)
        return value if arm is None else _map(value, arm, fn, owner)
    if origin is list and isinstance(value, list):
        (item,) = get_args(tp)
        mapped = [_map(v, item, fn, owner) for v in value]
        return value if all(a is b for a, b in zip(mapped, value, strict=True)) else mapped
    if origin is dict and isinstance(value, dict):
        mapped_values = {k: _map(v, get_args(tp)[1], fn, owner) for k, v in value.items()}
        return value if all(mapped_values[k] is v for k, v in value.items()) else mapped_values
    if isinstance(value, BaseModel):
        return map_account_ids(value, fn)
    if tp is str and isinstance(value, str) and not isinstance(value, Enum):
        return fn(value)  # unmarked: fail closed
    return value


def _fits(value: Any, tp: Any) -> bool:
    origin = get_origin(tp)
    if origin is Annotated:
        return _fits(value, get_args(tp)[0])
    if origin is not None:
        return isinstance(value, origin)
    return isinstance(tp, type) and isinstance(value, tp)


def names_accounts(model: type[BaseModel], field: str) -> bool:
    """Does `model.field` (a string) hold account ids? Unmarked strings do (fail closed)."""
    info = model.model_fields[field]
    mark = id_mark(info.metadata)
    return mark is None or mark.account


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
    id: NodeId = Field(description="the node's external id (a URL or hashtag is its normalised text)")
    content_kind: Text | None = optional("content nodes of `Pathway.nodes` only: the item's kind (post, video, …)")


class Cluster(ResultModel):
    """An abusive cluster: accounts that vouch for each other around abusive-labelled content."""

    model_config = ConfigDict(json_schema_extra={"examples": [CLUSTER_EXAMPLE]})

    cluster_id: Text = Field(description="`cluster-` + 12 hex digits of sha256 over the sorted member ids")
    accounts: list[AccountId] = Field(description="member account ids, sorted")
    content: list[Text] = Field(description="content ids the cluster owns (its members' content), sorted")
    urls: list[Text] | None = optional("URLs the cluster owns (its invite links), sorted")
    hashtags: list[Text] | None = optional("hashtags the cluster owns (its coded tags), sorted")
    score: float = Field(description="the members' total abusive-label mass (sum of label confidences)")
    labelled_accounts: int | None = optional("members with abusive-label mass")
    unlabelled_accounts: int | None = optional("members without (vouched for by the labelled ones)")


class Pathway(ResultModel):
    """A breadcrumb pathway: a real walk from child-oriented content into an abusive cluster."""

    model_config = ConfigDict(json_schema_extra={"examples": [PATHWAY_EXAMPLE]})

    pathway_id: Text = Field(description="`pw-` + 16 hex digits of sha256 over the cluster and the nodes")
    source: NodeRef = Field(description="the child-oriented content item the walk starts at")
    cluster_id: Text = Field(description="the abusive cluster it reaches")
    nodes: list[NodeRef] = Field(description="the walk, source first, the cluster's node last")
    edges: list[RelType] = Field(description="stored relationship type of each hop")
    directions: list[Direction] | None = optional("each hop walks its relationship forward or backward")
    hop_probabilities: list[float] | None = optional("click probability of each hop")
    created_at: list[Text | None] | None = optional("when each hop's relationship was created (ISO-8601 UTC)")
    created_by: list[AccountId | None] | None = optional("the account that created each hop's reference")
    bridges: list[AccountId] | None = optional("accounts laying crumbs on this walk (not members, not the source's)")
    probability: float | None = optional("the walk's click probability: the product of its hop probabilities")
    shape: CrumbShape | None = optional("the kind of breadcrumb the walk follows into the cluster")
    laid_by: list[AccountId] | None = optional("the account that laid that crumb (empty: nobody laid it)")
    relays: list[AccountId] | None = optional("relay accounts the crumb points at (shape `relay`)")
    crumbs: list[int] | None = optional("indexes of the hops whose reference the crumb's layer created")
    tier: int | None = optional("3 laid crumb, 2 platform recommendation, 1 follow or member content, 0 incidental")
    evidence: float | None = optional("the trail's evidence E: the sum of `evidence_terms`")
    evidence_terms: dict[str, float] | None = optional("each term of the evidence (docs/detectors.md#the-queue)")
    trail: Text | None = optional("pathway_id of the trail's representative (itself on a representative)")
    duplicates: int | None = optional("other pathways of the same trail (same source, crumb layer and cluster)")
    score: float = Field(description="the queue order: tier + 0.9·E/(E+10) + 0.1·probability (the trail's)")


class FlaggedAccount(ResultModel):
    """An account flagged by a detector, with the fields of its role."""

    model_config = ConfigDict(json_schema_extra={"examples": FLAGGED_ACCOUNT_EXAMPLES})

    account_id: AccountId = Field(description="the account's external id")
    score: float = Field(description="the ranking within the role (see docs/results.md)")
    role: Role = Field(description="why it is flagged")
    cluster_id: Text | None = optional("cluster_member: the cluster it belongs to")
    pathways: list[Text] = Field(
        description="bridge: pathways whose crumb it laid; relay: pathways through it; "
        "cluster_member: pathways ending at it"
    )
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
    sources: int | None = optional("bridge, relay: distinct child-oriented items its crumbs start from")
    shapes: list[CrumbShape] | None = optional("bridge, relay: the crumb shapes of its pathways")
    tied: bool | None = optional("bridge: it also follows or mentions members of a cluster it leads to")


class ExposureEntry(ResultModel):
    """How exposed a child-oriented item is: the chance a click-walk from it enters a cluster."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXPOSURE_EXAMPLE]})

    content_id: Text = Field(description="a child-oriented content item no cluster owns")
    probability: float = Field(description="P(a uniform click-walk from it enters any cluster within the hop limit)")


class DetectorRef(ResultModel):
    """A detector that ran, by stable name and version."""

    name: Text = Field(description="the detector's stable name")
    version: Text = Field(description="bumped when its output for the same input can change")


#: the model of each section's items
SECTION_MODELS: dict[Section, type[ResultModel]] = {
    Section.CLUSTERS: Cluster,
    Section.PATHWAYS: Pathway,
    Section.FLAGGED_ACCOUNTS: FlaggedAccount,
    Section.EXPOSURE: ExposureEntry,
}


class RankedResults(ResultModel):
    """results.json without `exposure`: the header and the ranked lists the API pages through
    (what it parses, so that it never validates the long exposure list)."""

    run_id: Text = Field(description="the run")
    results_format: int | None = optional("version of this format (1)")
    snapshot_digest: Text = Field(description="sha256 of the exact input the detectors saw (the projection's digest)")
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
