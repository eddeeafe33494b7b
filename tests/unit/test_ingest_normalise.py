"""Normalisation rules: the Python reference functions and the DuckDB SQL used on batches agree."""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb
import pytest

from ingest.normalise import (
    normalise_hashtag,
    normalise_url,
    sql_hashtag,
    sql_strip,
    sql_timestamp,
    sql_url_normalised,
    sql_url_parts,
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


def test_url_sql_matches_python() -> None:
    con = duckdb.connect()
    raws = [raw for raw, _ in URL_CASES]
    rows = con.execute(
        f"SELECT raw, CASE WHEN p IS NULL THEN NULL ELSE {sql_url_normalised('p')} END, lower(p.host) "
        f"FROM (SELECT raw, {sql_url_parts(sql_strip('raw'))} AS p FROM unnest(?) AS t(raw))",
        [raws]).fetchall()
    got = {raw: (None if url is None else (url, host)) for raw, url, host in rows}
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


def test_hashtag_sql_matches_python() -> None:
    con = duckdb.connect()
    rows = con.execute(f"SELECT raw, {sql_hashtag('raw')} FROM unnest(?) AS t(raw)",
                       [[r for r, _ in HASHTAG_CASES]]).fetchall()
    assert dict(rows) == dict(HASHTAG_CASES)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


TS_CASES = [
    ("2026-03-01T12:00:00Z", _utc(2026, 3, 1, 12)),
    ("2026-03-01T12:00:00+02:00", _utc(2026, 3, 1, 10)),
    ("2026-03-01 12:00:00", _utc(2026, 3, 1, 12)),            # no zone: UTC
    ("2026-03-01T12:00:00.250Z", _utc(2026, 3, 1, 12, 0, 0, 250000)),
    ("2026-03-01", _utc(2026, 3, 1)),
    ("1772366400", _utc(2026, 3, 1, 12)),                      # Unix seconds
    ("1772366400.5", _utc(2026, 3, 1, 12, 0, 0, 500000)),
    (" 1772366400 ", _utc(2026, 3, 1, 12)),
    ("yesterday", None),
    ("2026-13-01", None),
    ("infinity", None),
    ("", None),
]


def test_timestamp_sql() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows = con.execute(f"SELECT raw, {sql_timestamp(sql_strip('raw'))} FROM unnest(?) AS t(raw)",
                       [[r for r, _ in TS_CASES]]).fetchall()
    assert dict(rows) == dict(TS_CASES)
