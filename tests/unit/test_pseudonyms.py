"""Auditors' pseudonyms come from the results schema: every string field of every results
model says whether it names an account (detectors.results.AccountId / NodeId / Text), and the
mapping follows those marks at any depth; an unmarked string is pseudonymised (fail closed)."""

from __future__ import annotations

import inspect
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel

import detectors.results as R
from api.auth import pseudonym, pseudonymise_result


def _models() -> list[type[BaseModel]]:
    return [
        m
        for _, m in inspect.getmembers(R, inspect.isclass)
        if issubclass(m, R.ResultModel) and m.__module__ == R.__name__
    ]


def _unmarked_strings(tp: Any, marked: bool) -> bool:
    """Does annotation `tp` contain a `str` that no IdMark covers?"""
    if get_origin(tp) is Annotated:
        base, *meta = get_args(tp)
        return _unmarked_strings(base, marked or R.id_mark(meta) is not None)
    if tp is str:
        return not marked
    if get_origin(tp) is dict:  # keys name things (parameters, terms); values are walked
        return _unmarked_strings(get_args(tp)[1], marked)
    return any(_unmarked_strings(arg, marked) for arg in get_args(tp))


def test_every_string_field_of_the_results_schema_says_whether_it_names_an_account():
    unmarked = [
        f"{model.__name__}.{name}"
        for model in _models()
        for name, info in model.model_fields.items()
        if _unmarked_strings(info.annotation, R.id_mark(info.metadata) is not None)
    ]
    assert unmarked == [], (
        "mark these fields in detectors/results.py: AccountId if they hold account ids, "
        "NodeId for a node's id, Text if they never do"
    )


def test_account_fields_are_marked_as_such():
    accounts = {
        (m.__name__, n)
        for m in _models()
        for n, info in m.model_fields.items()
        if "x-account-id" in str(m.model_json_schema()["properties"][n])
    }
    assert {("Cluster", "accounts"), ("Pathway", "created_by"), ("Pathway", "bridges")} <= accounts
    assert ("FlaggedAccount", "account_id") in accounts and ("NodeRef", "id") in accounts


def test_every_account_id_of_a_pathway_is_pseudonymised_and_nothing_else():
    secret = b"s"
    p = R.Pathway.model_validate(R.PATHWAY_EXAMPLE)
    seen = pseudonymise_result(p, secret).model_dump(mode="json")
    raw = p.model_dump(mode="json")
    accounts = {n["id"] for n in raw["nodes"] if n["kind"] == "account"} | set(raw["created_by"])
    assert len(accounts) >= 2
    for field in ("created_by", "bridges", "laid_by", "relays"):
        assert seen[field] == [pseudonym(secret, a) for a in raw[field]], field
    assert [n["id"] for n in seen["nodes"]] == [
        pseudonym(secret, n["id"]) if n["kind"] == "account" else n["id"] for n in raw["nodes"]
    ]
    assert seen["pathway_id"] == p.pathway_id and seen["created_at"] == p.created_at
    assert seen["trail"] == raw["trail"] and seen["cluster_id"] == raw["cluster_id"]
    assert not any(a in str(seen) for a in accounts)


def test_an_unmarked_string_field_is_pseudonymised_by_default():
    class Future(R.ResultModel):
        laid_by: list[str]
        trail: R.Text
        note: str | None = None

    seen = pseudonymise_result(Future(laid_by=["a1"], trail="pw-1", note="a2"), b"s")
    assert seen.model_dump() == {"laid_by": [pseudonym(b"s", "a1")], "trail": "pw-1", "note": pseudonym(b"s", "a2")}
