"""The rows being generated: content indices, relabelling across chunks, handing the columns over."""

from __future__ import annotations

import numpy as np

from synth.codes import ABUSIVE, CLASSIFIER, COMMENT, NO_LABEL, POST
from synth.rows import CONTENT_COLUMNS, Rows


def test_content_indices_follow_the_order_of_adding_and_scalars_broadcast():
    rows = Rows()
    a = rows.add_content([4, 5], [10, 11], POST)
    empty = rows.add_content(np.array([], np.int64), np.array([], np.int64), POST)
    b = rows.add_content([6], [12], COMMENT, parent=int(a[1]))
    assert (a.tolist(), empty.tolist(), b.tolist()) == ([0, 1], [], [2])
    assert rows.column("kind").tolist() == [POST, POST, COMMENT]
    assert rows.column("parent").tolist() == [-1, -1, 1]
    assert rows.column("label").tolist() == [NO_LABEL] * 3 and np.isnan(rows.column("conf")).all()


def test_relabel_finds_the_item_across_chunks_and_after_an_empty_one():
    rows = Rows()
    rows.add_content([4, 5], [10, 11], POST)
    rows.add_content(np.array([], np.int64), np.array([], np.int64), POST)
    rows.add_content([6, 7], [12, 13], POST)
    rows.relabel(1, ABUSIVE, CLASSIFIER, 0.7)
    rows.relabel(2, ABUSIVE, CLASSIFIER, 0.65)
    assert rows.column("label").tolist() == [NO_LABEL, ABUSIVE, ABUSIVE, NO_LABEL]
    assert rows.column("source").tolist() == [-1, CLASSIFIER, CLASSIFIER, -1]
    assert rows.column("conf")[1:3].tolist() == [0.7, 0.65]


def test_take_content_hands_over_every_column_and_keeps_no_copy():
    rows = Rows()
    rows.add_content([4, 5], [10, 11], POST)
    rows.add_content([6], [12], COMMENT, parent=0)
    columns = rows.take_content()
    assert tuple(columns) == CONTENT_COLUMNS
    assert columns["author"].tolist() == [4, 5, 6] and columns["parent"].tolist() == [-1, -1, 0]
    assert rows.content == [] and rows.n_content == 3


def test_url_links_and_unlinked_groups_are_kept_for_the_tables():
    rows = Rows()
    rows.add_links(0, np.array([], np.int64), 0, np.array([], np.int64), "mention", np.array([], np.int64))
    assert rows.links == []  # empty blocks are dropped
    rows.add_url_link(0, 3, "https://x.example/a", 5)
    rows.keep_unlinked(np.array([1, 2]))
    assert [(u.src, u.url) for u in rows.url_links] == [(3, "https://x.example/a")]
    assert rows.unlinked[0].tolist() == [1, 2]
