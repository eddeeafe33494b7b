"""Paging a run's results for the API (api/results.py): score order, cursors and filters."""

from __future__ import annotations

import pytest

from api.results import RunIndex, decode_cursor, query_pathways
from graph.errors import InvalidRequest
from tests.api_support import results_doc


def test_pathway_pages_follow_score_order_and_filters():
    index = RunIndex.build("r", results_doc("x", "r"))
    first = query_pathways(index, limit=2)
    assert [p.pathway_id for p in first.items] == ["xp1", "xp2"] and first.total == 3
    rest = query_pathways(index, limit=2, cursor=first.next_cursor)
    assert [p.pathway_id for p in rest.items] == ["xp3"] and rest.next_cursor is None
    assert [p.pathway_id for p in query_pathways(index, source_id="xc1").items] == ["xp1", "xp2"]
    assert [p.pathway_id for p in query_pathways(index, account_id="xa4").items] == ["xp3"]
    assert query_pathways(index, source_id="xc1", account_id="xa4").items == []
    with pytest.raises(InvalidRequest):
        decode_cursor("not-a-cursor")
