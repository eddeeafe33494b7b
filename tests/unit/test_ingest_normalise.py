"""Normalisation rules: the Python reference functions and the vectorised ones used on batches agree."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from ingest.normalise import (
    json_props,
    normalise_hashtag,
    normalise_hashtags,
    normalise_url,
    normalise_urls,
    parse_numbers,
    parse_timestamps,
    strip,
)

URL_CASES = [
    ("HTTPS://Example.COM:443/A?b=C#frag", ("https://example.com/A?b=C", "example.com")),
    ("http://example.com:80", ("http://example.com", "example.com")),
    ("http://example.com:8080/x", ("http://example.com:8080/x", "example.com")),
    ("https://example.com:80/x", ("https://example.com:80/x", "example.com")),
    ("http://Example.com:/Path", ("http://example.com/Path", "example.com")),
    ("https://User:PW@Host.Example/p?q=1", ("https://User:PW@host.example/p?q=1", "host.example")),
    ("https://[2001:DB8::1]:443/a", ("https://[2001:db8::1]/a", "[2001:db8::1]")),
    ("  https://a.example/b  ", ("https://a.example/b", "a.example")),
    ("ftp://files.example:21/f", ("ftp://files.example/f", "files.example")),
    ("https://a.example/path with space", ("https://a.example/path with space", "a.example")),
    ("example.com/path", None),
    ("http:///nohost", None),
    ("mailto:someone@example.com", None),
    ("https://exa mple.com/", None),
    ("", None),
]


@pytest.mark.parametrize(("raw", "expected"), URL_CASES)
def test_normalise_url_python(raw: str, expected: tuple[str, str] | None) -> None:
    assert normalise_url(raw) == expected


def test_url_vectorised_matches_python() -> None:
    raws = [raw for raw, _ in URL_CASES]
    url, domain = normalise_urls(strip(pa.array(raws)))
    got = {raw: (None if u is None else (u, d)) for raw, u, d in zip(raws, url.to_pylist(), domain.to_pylist())}
    assert got == {raw: expected for raw, expected in URL_CASES}


HASHTAG_CASES = [
    ("#FamilyVlog", "familyvlog"),
    ("  #Summer2026 ", "summer2026"),
    ("##double", "double"),
    ("plain", "plain"),
    ("# spaced", "spaced"),
    ("#", None),
    ("   ", None),
]


@pytest.mark.parametrize(("raw", "expected"), HASHTAG_CASES)
def test_normalise_hashtag_python(raw: str, expected: str | None) -> None:
    assert normalise_hashtag(raw) == expected


def test_hashtag_vectorised_matches_python() -> None:
    raws = [r for r, _ in HASHTAG_CASES]
    assert dict(zip(raws, normalise_hashtags(pa.array(raws)).to_pylist())) == dict(HASHTAG_CASES)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


TS_CASES = [
    ("2026-03-01T12:00:00Z", _utc(2026, 3, 1, 12)),
    ("2026-03-01T12:00:00+02:00", _utc(2026, 3, 1, 10)),
    ("2026-03-01 12:00:00", _utc(2026, 3, 1, 12)),  # no zone: UTC
    ("2026-03-01T12:00:00.250Z", _utc(2026, 3, 1, 12, 0, 0, 250000)),
    ("2026-03-01", _utc(2026, 3, 1)),
    ("2026-03-01T12:00:00.123456789Z", _utc(2026, 3, 1, 12, 0, 0, 123456)),
    ("2026-03-01T12:00:00+0200", _utc(2026, 3, 1, 10)),
    ("2026-03-01T12:00:00-02", _utc(2026, 3, 1, 14)),
    ("1772366400", _utc(2026, 3, 1, 12)),  # Unix seconds
    ("1772366400.5", _utc(2026, 3, 1, 12, 0, 0, 500000)),
    (" 1772366400 ", _utc(2026, 3, 1, 12)),
    ("yesterday", None),
    ("2026-13-01", None),
    ("infinity", None),
    ("", None),
]


def test_parse_timestamps() -> None:
    raws = [r for r, _ in TS_CASES]
    ts, bad, out_of_range = parse_timestamps(strip(pa.array(raws)))
    assert dict(zip(raws, ts.to_pylist())) == dict(TS_CASES)
    assert [r for r, b in zip(raws, bad) if b] == ["yesterday", "2026-13-01", "infinity"]
    assert not out_of_range.any()


def test_a_timestamp_verdict_does_not_depend_on_its_batch() -> None:
    raws = [r for r, _ in TS_CASES if r]
    together = parse_timestamps(strip(pa.array(raws)))[0].to_pylist()
    alone = [parse_timestamps(strip(pa.array([r])))[0].to_pylist()[0] for r in raws]
    assert together == alone


def test_timestamps_out_of_range() -> None:
    raws = ["1969-12-31T23:59:59Z", "2100-01-01", "1772366400000", "-5", "9" * 30, "2099-12-31T23:59:59Z"]
    ts, bad, out_of_range = parse_timestamps(strip(pa.array(raws)))
    assert not bad.any()
    assert out_of_range.tolist() == [True, True, True, True, True, False]


def test_parse_numbers() -> None:
    raws = ["0.5", " 1 ", ".25", "1e-1", "-0", "nan", "inf", "high", "", None]
    values, bad = parse_numbers(strip(pa.array(raws)))
    assert values.to_pylist() == [0.5, 1.0, 0.25, 0.1, -0.0, None, None, None, None, None]
    assert bad.tolist() == [False, False, False, False, False, True, True, True, False, False]


def test_json_props_equals_json_dumps() -> None:
    cols = {
        "zeta": pa.array(["z", "", None, "tab\there"]),
        "Alpha": pa.array(['a"q\\', "", None, "x\ny"]),
        "é": pa.array(["ü", None, None, "\u0001"]),
    }
    got = json_props(cols, 4).to_pylist()
    expected = []
    for i in range(4):
        row = {k: v[i].as_py() for k, v in cols.items() if v[i].as_py() not in (None, "")}
        expected.append(json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":")) if row else None)
    assert got == expected
