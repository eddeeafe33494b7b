"""The typed results model (detectors/results.py) without running detectors: the shared spec's
fields are required, a spec-only document round-trips unchanged, the examples are valid and
shaped like real output, sections agree, and docs/results.md documents every field."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from api.schemas import ResultsSection
from detectors.results import (
    CLUSTER_EXAMPLE,
    EXPOSURE_EXAMPLE,
    FLAGGED_ACCOUNT_EXAMPLES,
    PAGED_SECTIONS,
    PATHWAY_EXAMPLE,
    Cluster,
    DetectorRef,
    ExposureEntry,
    FlaggedAccount,
    NodeRef,
    Pathway,
    RankedResults,
    Results,
    Role,
    Section,
    Sections,
)
from tests.api_support import results_doc

DOCS = Path(__file__).resolve().parents[2] / "docs" / "results.md"
MODELS: tuple[type[BaseModel], ...] = (Results, DetectorRef, Cluster, Pathway, NodeRef, FlaggedAccount, ExposureEntry)

#: what shared/spec/results-format.md requires of every producer
SPEC_REQUIRED = {
    Results: {"run_id", "snapshot_digest", "clusters", "pathways", "flagged_accounts"},
    Cluster: {"cluster_id", "accounts", "content", "score"},
    Pathway: {"pathway_id", "source", "cluster_id", "nodes", "edges", "score"},
    NodeRef: {"kind", "id"},
    FlaggedAccount: {"account_id", "score", "role", "pathways"},
}


def _required(model: type[BaseModel]) -> set[str]:
    return {name for name, f in model.model_fields.items() if f.is_required()}


@pytest.mark.parametrize("model", list(SPEC_REQUIRED), ids=lambda m: m.__name__)
def test_spec_fields_are_exactly_the_required_ones(model: type[BaseModel]) -> None:
    assert _required(model) == SPEC_REQUIRED[model]


def test_roles_are_the_spec_vocabulary() -> None:
    assert {r.value for r in Role} == {"bridge", "relay", "cluster_member", "suspicious_contact", "recreation"}


def test_a_spec_only_document_reads_and_dumps_unchanged() -> None:
    doc = results_doc("x", "r")
    assert Results.model_validate(doc).model_dump(mode="json") == doc
    assert "null" not in json.dumps(Results.model_validate(doc).model_dump(mode="json"))


def test_missing_spec_field_or_unknown_role_is_rejected() -> None:
    doc = results_doc("x", "r")
    del doc["pathways"][0]["cluster_id"]
    with pytest.raises(ValidationError):
        Results.model_validate(doc)
    with pytest.raises(ValidationError):
        FlaggedAccount.model_validate({"account_id": "a", "score": 1.0, "role": "villain", "pathways": []})


def test_optional_fields_left_out_not_null() -> None:
    ref = NodeRef.model_validate({"kind": "account", "id": "a1"})
    assert ref.model_dump(mode="json") == {"kind": "account", "id": "a1"}
    assert json.loads(ref.model_dump_json()) == {"kind": "account", "id": "a1"}
    relay = FlaggedAccount.model_validate(FLAGGED_ACCOUNT_EXAMPLES[1])
    assert list(relay.model_dump(mode="json")) == ["account_id", "score", "role", "pathways", "sources", "shapes"]


def test_unknown_keys_of_other_producers_are_ignored() -> None:
    item = ExposureEntry.model_validate({**EXPOSURE_EXAMPLE, "note": "from elsewhere"})
    assert item.model_dump(mode="json") == EXPOSURE_EXAMPLE


@pytest.mark.parametrize(
    ("model", "example"),
    [(Cluster, CLUSTER_EXAMPLE), (Pathway, PATHWAY_EXAMPLE), (ExposureEntry, EXPOSURE_EXAMPLE)]
    + [(FlaggedAccount, e) for e in FLAGGED_ACCOUNT_EXAMPLES],
    ids=lambda x: getattr(x, "__name__", None) or x.get("role", ""),
)
def test_examples_are_valid_and_in_written_key_order(model: type[BaseModel], example: dict) -> None:
    assert json.dumps(model.model_validate(example).model_dump(mode="json")) == json.dumps(example)


def test_examples_use_the_real_id_shapes() -> None:
    assert re.fullmatch(r"cluster-[0-9a-f]{12}", CLUSTER_EXAMPLE["cluster_id"])
    assert re.fullmatch(r"pw-[0-9a-f]{16}", PATHWAY_EXAMPLE["pathway_id"])
    assert re.fullmatch(r"cluster-[0-9a-f]{12}", PATHWAY_EXAMPLE["cluster_id"])
    assert all(re.fullmatch(r"pw-[0-9a-f]{16}", p) for e in FLAGGED_ACCOUNT_EXAMPLES for p in e["pathways"])
    assert {e["role"] for e in FLAGGED_ACCOUNT_EXAMPLES} == {"bridge", "relay", "cluster_member", "suspicious_contact"}


def test_sections_agree_everywhere() -> None:
    names = [s.value for s in Section]
    assert list(Sections.model_fields) == names
    assert [f for f in Results.model_fields if f in names] == names
    assert [*RankedResults.model_fields, "exposure"] == list(Results.model_fields)
    assert set(ResultsSection.__args__) == {s.value for s in PAGED_SECTIONS}


def test_sections_sort_in_canonical_order() -> None:
    a = FlaggedAccount(account_id="b", score=1.0, role=Role.BRIDGE, pathways=[])
    b = FlaggedAccount(account_id="a", score=1.0, role=Role.SUSPICIOUS_CONTACT, pathways=[])
    c = FlaggedAccount(account_id="a", score=1.0, role=Role.CLUSTER_MEMBER, cluster_id="k", pathways=[])
    d = FlaggedAccount(account_id="z", score=2.0, role=Role.BRIDGE, pathways=[])
    s = Sections(flagged_accounts=[a, b, c, d])
    s.sort()
    assert s.flagged_accounts == [d, c, b, a]


def _documented_fields(text: str, model: str) -> list[str]:
    match = re.search(rf"^## {model}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"docs/results.md has no section '## {model}'"
    return re.findall(r"^\| `([a-z_]+)` \|", match.group(1), re.M)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_docs_document_every_field_in_written_order(model: type[BaseModel]) -> None:
    assert _documented_fields(DOCS.read_text(), model.__name__) == list(model.model_fields)
