"""Vectorised formatting: ISO timestamps, ids, made-up words and code decoding."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from graph.model import AgeBand, ContentLabel
from synth.strings import account_ids, decode, ids, iso, words


def test_iso_matches_the_standard_library():
    seconds = np.random.default_rng(0).integers(0, 4_102_444_800, 2000)  # 1970-2100
    seconds[:3] = [0, 951_782_400, 1_767_225_599]  # epoch, 2000-02-29, the last second of 2025
    want = [datetime.fromtimestamp(int(s), UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for s in seconds]
    assert iso(seconds).to_pylist() == want


def test_ids_are_zero_padded_and_account_ids_grow_past_seven_digits():
    assert ids("c", np.array([0, 5, 12_345_678]), 8).to_pylist() == ["c00000000", "c00000005", "c12345678"]
    assert ids("/p/", np.array([42]), 7).to_pylist() == ["/p/0000042"]
    assert account_ids(3).to_pylist() == ["a0000000", "a0000001", "a0000002"]


def test_words_are_distinct_and_pronounceable():
    mat = words(np.random.default_rng(0), 5000, 6)
    text = [bytes(row).decode() for row in mat]
    assert len(set(text)) == 5000
    assert all(w[0] not in "aeiou" and w[1] in "aeiou" for w in text)


def test_decode_uses_the_code_table_and_nulls_negative_codes():
    codes = np.array([AgeBand.MINOR.code, AgeBand.ADULT.code, AgeBand.UNKNOWN.code, -1])
    assert decode(AgeBand.code_table(), codes).to_pylist() == ["minor", "adult", "unknown", None]
    labels = np.array([m.code for m in ContentLabel])
    assert decode(ContentLabel.code_table(), labels).to_pylist() == [m.value for m in ContentLabel]
