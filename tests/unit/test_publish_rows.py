"""publish's FLAGGED_IN properties follow the results model: every role field an account has is
published, including fields added after publish was written (no hand-kept list to forget)."""

from __future__ import annotations

from detectors import results as R
from publish.rows import publish_rows


def _results(*flagged: R.FlaggedAccount) -> R.Results:
    return R.Results(run_id="run-1", snapshot_digest="d" * 64, clusters=[], pathways=[], flagged_accounts=list(flagged))


def test_every_role_field_of_a_flagged_account_is_published() -> None:
    contact = R.FlaggedAccount(
        account_id="a1",
        score=3.5,
        role=R.Role.SUSPICIOUS_CONTACT,
        pathways=[],
        minors=14,
        followed_minors=12,
        addressed_minors=10,
        minor_groups=13,
        engaged_share=0.7,
    )
    bridge = R.FlaggedAccount(
        account_id="b1",
        score=2.0,
        role=R.Role.BRIDGE,
        pathways=["pw-1", "pw-2"],
        sources=2,
        shapes=[R.CrumbShape("bio_link")],
        tied=True,
    )
    rows = publish_rows(_results(contact, bridge), {"run_id": "run-1"}).flagged
    by_id = {r["id"]: r for r in rows}
    assert by_id["a1"]["role"] == "suspicious_contact"
    assert by_id["a1"]["props"] == {
        "score": 3.5,
        "rank": 1,
        "pathways": 0,
        "minors": 14,
        "followed_minors": 12,
        "addressed_minors": 10,
        "minor_groups": 13,
        "engaged_share": 0.7,
    }
    assert by_id["b1"]["props"] == {
        "score": 2.0,
        "rank": 2,
        "pathways": 2,
        "sources": 2,
        "shapes": ["bio_link"],
        "tied": True,
    }
    for row in rows:  # Neo4j property values: scalars or lists of scalars, never maps
        assert all(not isinstance(v, dict) for v in row["props"].values())
