"""The graph model shared by ingest, both stores and the projections: node kinds,
relationship types and the Arrow schemas of normalised rows (see docs/graph-model.md)."""

from __future__ import annotations

from enum import StrEnum

import pyarrow as pa


class NodeKind(StrEnum):
    """Node kinds; the value is the `kind` used in ids and specs, `.label` the Neo4j label."""

    ACCOUNT = "account"
    CONTENT = "content"
    URL = "url"
    HASHTAG = "hashtag"

    @property
    def label(self) -> str:
        return {"account": "Account", "content": "Content", "url": "Url", "hashtag": "Hashtag"}[self.value]

    @property
    def key(self) -> str:
        """Name of the identifying property of this kind."""
        return {"account": "account_id", "content": "content_id", "url": "url", "hashtag": "tag"}[self.value]


class RelType(StrEnum):
    """Relationship types. Structural ones come from the tables, the rest from `links.kind`."""

    FOLLOWS = "FOLLOWS"  # account -> account (follows table)
    POSTED = "POSTED"  # account -> content (content.account_id)
    REPLY_TO = "REPLY_TO"  # content -> content (content.parent_id: comment -> what it is under)
    MENTIONS = "MENTIONS"  # links kind=mention
    LINKS_TO = "LINKS_TO"  # links kind=url
    BIO_LINK = "BIO_LINK"  # links kind=bio
    TAGGED = "TAGGED"  # links kind=hashtag
    SHARES = "SHARES"  # links kind=share
    REPLIES = "REPLIES"  # links kind=reply
    RECOMMENDS = "RECOMMENDS"  # links kind=recommendation
    REFERENCES = "REFERENCES"  # links of any other kind (the kind is kept on the edge)


class Direction(StrEnum):
    """Which way a walk follows a stored relationship (navigation steps, pathway hops)."""

    FORWARD = "forward"  # src -> dst, the stored direction
    BACKWARD = "backward"  # dst -> src


#: links.kind -> relationship type; anything else maps to REFERENCES.
LINK_KIND_TO_REL: dict[str, RelType] = {
    "mention": RelType.MENTIONS,
    "url": RelType.LINKS_TO,
    "bio": RelType.BIO_LINK,
    "hashtag": RelType.TAGGED,
    "share": RelType.SHARES,
    "reply": RelType.REPLIES,
    "recommendation": RelType.RECOMMENDS,
}

#: `kind` value given to structural edges (links keep their own kind, default "reference").
STRUCTURAL_KIND: dict[RelType, str] = {
    RelType.FOLLOWS: "follow",
    RelType.POSTED: "posted",
    RelType.REPLY_TO: "parent",
}


def rel_type_for_link_kind(kind: str | None) -> RelType:
    return LINK_KIND_TO_REL.get((kind or "").strip().lower(), RelType.REFERENCES)


class CodedEnum(StrEnum):
    """A closed vocabulary whose members also carry a small integer code. Members are declared in
    the order the ingest format lists them (what error messages show); the code is explicit and
    part of the frozen-input format (the projection, frozen runs and the generator store codes):
    never renumber, only add. Code 0 is the default a missing or unknown value decodes to."""

    code: int

    def __new__(cls, value: str, code: int) -> CodedEnum:
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.code = code
        return obj

    @classmethod
    def values(cls) -> tuple[str, ...]:
        """Every value in declaration (ingest-format) order."""
        return tuple(m.value for m in cls)

    @classmethod
    def code_table(cls) -> tuple[str, ...]:
        """Every value by code (index = code): the decode table of int8 code columns."""
        return tuple(m.value for m in sorted(cls, key=lambda m: m.code))

    @classmethod
    def from_code(cls, code: int) -> CodedEnum:
        return next(m for m in cls if m.code == int(code))


def _check_codes(enum: type[CodedEnum]) -> type[CodedEnum]:
    codes = sorted(m.code for m in enum)
    assert codes == list(range(len(codes))), f"{enum.__name__}: codes must be 0..n-1, got {codes}"
    return enum


@_check_codes
class AgeBand(CodedEnum):
    """Declared or estimated age band of an account (accounts.age_band)."""

    MINOR = ("minor", 1)
    ADULT = ("adult", 2)
    UNKNOWN = ("unknown", 0)


@_check_codes
class AccountStatus(CodedEnum):
    """Platform status of an account (accounts.status)."""

    ACTIVE = ("active", 0)
    SUSPENDED = ("suspended", 1)
    DELETED = ("deleted", 2)


@_check_codes
class ContentLabel(CodedEnum):
    """Label the platform supplied for a content item (content.label)."""

    CHILD_ORIENTED = ("child_oriented", 1)
    ABUSIVE = ("abusive", 2)
    NONE = ("none", 0)


#: allowed values in ingest-format order (derived from the enums above; never spelled out again)
AGE_BANDS: tuple[str, ...] = AgeBand.values()
STATUSES: tuple[str, ...] = AccountStatus.values()
LABELS: tuple[str, ...] = ContentLabel.values()
LINK_SRC_KINDS = ("account", "content")
LINK_DST_KINDS = ("account", "content", "url", "hashtag")

TS = pa.timestamp("us", tz="UTC")

# Normalised row schemas: what ingest hands to GraphStore.upsert_* and what the stores give back.
# `props` is a JSON object (sorted keys) of the extra columns, or null; `bare` marks a node created
# only because something referenced it (a later full row clears it).
ACCOUNT_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        ("created_at", TS),
        ("age_band", pa.string()),
        ("status", pa.string()),
        ("props", pa.string()),
        ("bare", pa.bool_()),
    ]
)
CONTENT_SCHEMA = pa.schema(
    [
        ("content_id", pa.string()),
        ("account_id", pa.string()),
        ("created_at", TS),
        ("kind", pa.string()),
        ("parent_id", pa.string()),
        ("label", pa.string()),
        ("label_source", pa.string()),
        ("label_confidence", pa.float64()),
        ("props", pa.string()),
        ("bare", pa.bool_()),
    ]
)
URL_SCHEMA = pa.schema([("url", pa.string()), ("domain", pa.string())])
HASHTAG_SCHEMA = pa.schema([("tag", pa.string())])
# Every relationship, structural or link, in one shape. Identity of an edge:
# (src_kind, src_id, type, kind, dst_kind, dst_id); a later row with the same identity updates it.
EDGE_SCHEMA = pa.schema(
    [
        ("src_kind", pa.string()),
        ("src_id", pa.string()),
        ("type", pa.string()),
        ("kind", pa.string()),
        ("dst_kind", pa.string()),
        ("dst_id", pa.string()),
        ("created_at", TS),
        ("props", pa.string()),
    ]
)
EDGE_KEY = ("src_kind", "src_id", "type", "kind", "dst_kind", "dst_id")

NODE_SCHEMAS: dict[NodeKind, pa.Schema] = {
    NodeKind.ACCOUNT: ACCOUNT_SCHEMA,
    NodeKind.CONTENT: CONTENT_SCHEMA,
    NodeKind.URL: URL_SCHEMA,
    NodeKind.HASHTAG: HASHTAG_SCHEMA,
}


class ResultLabel(StrEnum):
    """Labels of the result nodes `crumbgraph publish` writes beside the graph (docs/neo4j.md).
    `Run` is the label the Neo4j store already gives its run records: a published run is the
    same node."""

    RUN = "Run"
    CLUSTER = "Cluster"
    PATHWAY = "Pathway"


class ResultRel(StrEnum):
    """Relationship types of published results (docs/neo4j.md)."""

    FOUND_IN = "FOUND_IN"  # (:Cluster|:Pathway)-[:FOUND_IN]->(:Run)
    MEMBER_OF = "MEMBER_OF"  # (:Account)-[:MEMBER_OF]->(:Cluster)
    OWNS = "OWNS"  # (:Cluster)-[:OWNS]->(:Content|:Url|:Hashtag)
    FLAGGED_IN = "FLAGGED_IN"  # (:Account)-[:FLAGGED_IN {role, score}]->(:Run)
    EXPOSED_IN = "EXPOSED_IN"  # (:Content)-[:EXPOSED_IN {probability}]->(:Run)
    STEP = "STEP"  # (:Pathway)-[:STEP {i}]->(node), i = 0 for the source
    REACHES = "REACHES"  # (:Pathway)-[:REACHES]->(:Cluster)
