"""Normalisation of ingested values: URLs, hashtags, timestamps, numbers, extra columns.

Each rule exists twice, kept equal by tests: a vectorised pyarrow function (used on whole
batches during ingest) and, for URLs and hashtags, a plain Python function (for callers
that normalise one value, e.g. an API lookup of a URL node).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: characters stripped from the ends of enum, timestamp, number and hashtag fields (never from ids)
WHITESPACE = " \t\r\n"

#: an absolute URL: scheme://[userinfo@]host[:port][/path][?query][#fragment]
URL_PATTERN = (
    r"(?s)^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?:(?P<user>[^/?#@]*)@)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s/?#@:\[\]]+)(?::(?P<port>[0-9]*))?"
    r"(?P<rest>(?:[/?][^#]*)?)(?:#.*)?$"
)
_URL_RE = re.compile(URL_PATTERN)

#: ports dropped because they are the scheme's default
DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443", "ftp": "21"}

#: accepted timestamps: 1970-01-01T00:00:00Z <= t < 2100-01-01T00:00:00Z (catches ms-vs-s mix-ups)
TS_MIN_US = 0
TS_MAX_US = 4_102_444_800 * 1_000_000
_UNIX = r"^(?P<sign>[+-]?)(?P<int>[0-9]{1,30})(?:\.(?P<frac>[0-9]*))?$"
#: looks like a date-time with a zone: tried with Arrow's zoned parser, the rest with the naive one
_ZONED = r"[T ][0-9].*(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)$"
_ZONED_RE = re.compile(_ZONED)
_INT_RE = re.compile(r"^-?[0-9]{1,12}$")
_NUMBER = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"

UTC_US = pa.timestamp("us", "UTC")


# -- Python reference functions ----------------------------------------------------------


def normalise_url(text: str) -> tuple[str, str] | None:
    """(normalised url, domain), or None if `text` is not an absolute URL with a host.

    Scheme and host are lower-cased, a default port (or an empty one) and the fragment are
    dropped; userinfo, path and query keep their case. The domain is the lower-cased host.
    """
    m = _URL_RE.match(text.strip(WHITESPACE))
    if m is None:
        return None
    scheme, user, host, port, rest = (g or "" for g in m.group("scheme", "user", "host", "port", "rest"))
    scheme, host = scheme.lower(), host.lower()
    keep_port = port != "" and DEFAULT_PORTS.get(scheme) != port
    url = f"{scheme}://{user + '@' if user else ''}{host}{':' + port if keep_port else ''}{rest}"
    return url, host


def normalise_hashtag(text: str) -> str | None:
    """Lower-cased tag without leading '#' and surrounding whitespace, or None if empty."""
    tag = text.strip(WHITESPACE).lstrip("#").strip(WHITESPACE).lower()
    return tag or None


# -- vectorised (pyarrow) ----------------------------------------------------------------


def mask(arr: pa.Array) -> np.ndarray:
    """A boolean Arrow array as a numpy bool array, null = False."""
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), bool)


def blank_to_null(arr: pa.Array) -> pa.Array:
    """NULL for an empty string, else the value unchanged."""
    if arr.null_count == len(arr):
        return arr
    empty = pc.equal(pc.binary_length(arr), 0)
    return pc.if_else(empty, pa.scalar(None, arr.type), arr) if pc.any(empty).as_py() else arr


def strip(arr: pa.Array) -> pa.Array:
    """Whitespace stripped; NULL if nothing is left."""
    return blank_to_null(pc.utf8_trim(arr, WHITESPACE))


def _scatter(n: int, where: np.ndarray, values: pa.Array, typ: pa.DataType) -> pa.Array:
    """An array of length n, `values` at the positions `where` is true, null elsewhere."""
    if not where.any():
        return pa.nulls(n, typ)
    base = pa.nulls(n, typ)
    return pc.replace_with_mask(base, pa.array(where), values.cast(typ))


def _cast_each(arr: pa.Array, typ: pa.DataType) -> tuple[np.ndarray, np.ndarray]:
    """Cast `arr` to timestamp `typ` -> (int64 microseconds, ok mask). A cast that fails as a
    whole is split in halves until the bad values are isolated (only on the error path)."""
    try:
        return pc.cast(pc.cast(arr, typ), pa.int64()).to_numpy(zero_copy_only=False), np.ones(len(arr), bool)
    except pa.ArrowInvalid:
        if len(arr) == 1:
            return np.zeros(1, np.int64), np.zeros(1, bool)
        half = len(arr) // 2
        v1, ok1 = _cast_each(arr.slice(0, half), typ)
        v2, ok2 = _cast_each(arr.slice(half), typ)
        return np.concatenate([v1, v2]), np.concatenate([ok1, ok2])


def parse_timestamps(stripped: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Unix seconds or ISO-8601 -> (timestamp[us, UTC] array, bad mask, out-of-range mask).

    A value is accepted when it is Unix seconds (digits, optional fraction, cut to
    microseconds) or when Arrow's ISO-8601 parser reads it: with a zone (`Z`, `+HH`,
    `+HHMM`, `+HH:MM`) it is converted to UTC, without one it is taken as UTC. Fractions
    beyond microseconds are cut. Nulls stay null and are not bad. The common case, a batch
    of zoned ISO strings, is one cast; otherwise values are classified and cast per class,
    and a failing cast is bisected down to its bad values, so the verdict on a value never
    depends on its neighbours.
    """
    n = len(stripped)
    present = mask(pc.is_valid(stripped))
    # Fast paths, chosen from a sample because a failing Arrow cast costs microseconds per bad value.
    sample = [v for v in stripped.slice(0, 64).to_pylist() if v is not None][:8]
    us = None
    if sample and all(_ZONED_RE.search(v) for v in sample):
        try:
            ts = pc.cast(stripped, UTC_US)
            us = pc.fill_null(pc.cast(ts, pa.int64()), 0).to_numpy(zero_copy_only=False)
            ok = present
        except pa.ArrowInvalid:
            us = None
    if (
        us is None
        and sample
        and all(_INT_RE.match(v) for v in sample)
        and pc.all(pc.match_substring_regex(stripped, _INT_RE.pattern)).as_py()
    ):
        # whole seconds only (a Parquet integer column): one cast
        us = pc.fill_null(pc.cast(stripped, pa.int64()), 0).to_numpy(zero_copy_only=False) * 1_000_000
        ok = present
    if us is None:
        us = np.zeros(n, np.int64)
        ok = np.zeros(n, bool)
        unix = mask(pc.match_substring_regex(stripped, _UNIX))
        zoned = mask(pc.match_substring_regex(stripped, _ZONED)) & ~unix
        naive = present & ~unix & ~zoned
        if unix.any():
            idx = np.flatnonzero(unix)
            parts = pc.extract_regex(stripped.take(pa.array(idx)), _UNIX)
            digits = parts.field("int")
            too_big = mask(pc.greater(pc.binary_length(digits), 12))
            whole = pc.cast(pc.if_else(pa.array(too_big), "0", digits), pa.int64()).to_numpy(zero_copy_only=False)
            frac = pc.utf8_rpad(pc.utf8_slice_codeunits(parts.field("frac"), 0, 6), 6, "0")
            micros = pc.cast(frac, pa.int64()).to_numpy(zero_copy_only=False)
            sign = np.where(mask(pc.equal(parts.field("sign"), "-")), -1, 1)
            us[idx] = sign * (whole * 1_000_000 + micros)
            us[idx[too_big]] = np.iinfo(np.int64).max  # reported as out of range
            ok[idx] = True
        for where, typ in ((zoned, UTC_US), (naive, pa.timestamp("us"))):
            if where.any():
                idx = np.flatnonzero(where)
                subset = pc.replace_substring_regex(stripped.take(pa.array(idx)), r"(\.[0-9]{6})[0-9]+", r"\1")
                values, good = _cast_each(subset, typ)
                us[idx] = values
                ok[idx] = good
    bad = present & ~ok
    out_of_range = ok & ((us < TS_MIN_US) | (us >= TS_MAX_US))
    arr = pa.array(us, pa.int64(), mask=~ok).cast(UTC_US)
    return arr, bad, out_of_range


def parse_numbers(stripped: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Decimal numbers -> (float64 array, bad mask). Nulls stay null and are not bad."""
    n = len(stripped)
    good = mask(pc.match_substring_regex(stripped, _NUMBER))
    bad = mask(pc.is_valid(stripped)) & ~good
    if not good.any():
        return pa.nulls(n, pa.float64()), bad
    values = pc.cast(stripped.filter(pa.array(good)), pa.float64())
    return _scatter(n, good, values, pa.float64()), bad


def normalise_urls(stripped: pa.Array) -> tuple[pa.Array, pa.Array]:
    """normalise_url over an array -> (url, domain), both null where the value is no URL."""
    parts = pc.extract_regex(stripped, URL_PATTERN)
    scheme = pc.utf8_lower(parts.field("scheme"))
    host = pc.utf8_lower(parts.field("host"))
    user, port, rest = parts.field("user"), parts.field("port"), parts.field("rest")
    default = pc.take(
        pa.array([*DEFAULT_PORTS.values(), ""]),
        pc.fill_null(pc.index_in(scheme, value_set=pa.array(list(DEFAULT_PORTS))), len(DEFAULT_PORTS)),
    )
    drop_port = pc.or_(pc.equal(port, ""), pc.equal(port, default))
    port_part = pc.if_else(drop_port, "", pc.binary_join_element_wise(":", port, ""))
    user_part = pc.if_else(pc.equal(user, ""), "", pc.binary_join_element_wise(user, "@", ""))
    url = pc.binary_join_element_wise(scheme, "://", user_part, host, port_part, rest, "")
    valid = pc.is_valid(parts)
    return pc.if_else(valid, url, pa.scalar(None, pa.string())), pc.if_else(valid, host, pa.scalar(None, pa.string()))


def normalise_hashtags(arr: pa.Array) -> pa.Array:
    """normalise_hashtag over an array."""
    return pc.utf8_lower(strip(pc.utf8_ltrim(pc.utf8_trim(arr, WHITESPACE), "#")))


_NEEDS_JSON = r"[\x00-\x1f]"


def json_props(columns: dict[str, pa.Array], n: int) -> pa.Array:
    """Extra columns as one JSON object per row: sorted keys, string values, empty and null
    values left out, NULL when nothing is left (the same text json.dumps(sort_keys=True,
    ensure_ascii=False, separators=(",", ":")) gives)."""
    if not columns:
        return pa.nulls(n, pa.string())
    parts = []
    for name in sorted(columns):
        v = blank_to_null(columns[name])
        key = json.dumps(name, ensure_ascii=False)
        odd = mask(pc.match_substring_regex(v, _NEEDS_JSON))
        esc = pc.replace_substring(pc.replace_substring(v, "\\", "\\\\"), '"', '\\"')
        part = pc.binary_join_element_wise("," + key + ':"', esc, '"', "")
        if odd.any():  # control characters: let json do the escaping, row by row (rare)
            idx = np.flatnonzero(odd)
            exact = pa.array(
                ["," + key + ":" + json.dumps(s, ensure_ascii=False) for s in v.take(pa.array(idx)).to_pylist()]
            )
            part = pc.replace_with_mask(part, pa.array(odd), exact)
        parts.append(part)
    # (null_handling="skip" is avoided: in pyarrow 26 it drops rows whose inputs are all null)
    body = pc.binary_join_element_wise(*parts, "", null_handling="replace", null_replacement="")
    obj = pc.binary_join_element_wise("{", pc.utf8_slice_codeunits(body, 1), "}", "")
    return pc.if_else(pc.equal(body, ""), pa.scalar(None, pa.string()), obj)
