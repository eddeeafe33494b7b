"""Normalisation of ingested values: URLs, hashtags, timestamps, enums.

Each rule exists twice, kept equal by tests: a DuckDB SQL expression (used on whole
batches during ingest) and a plain Python function (for callers that normalise one
value, e.g. an API lookup of a URL node).
"""

from __future__ import annotations

import re

#: characters stripped from the ends of enum, timestamp, number and hashtag fields (never from ids)
WHITESPACE = " \t\r\n"

#: an absolute URL: scheme://[userinfo@]host[:port][path?query][#fragment]
#: (one pattern for Python `re` and DuckDB's RE2)
URL_PATTERN = (r"([A-Za-z][A-Za-z0-9+.\-]*)://(?:([^/?#@]*)@)?(\[[0-9A-Fa-f:.]+\]|[^\s/?#@:\[\]]+)"
               r"(?::([0-9]*))?((?:[/?][^#]*)?)(?:#.*)?")
_URL_RE = re.compile(URL_PATTERN, re.DOTALL)

#: ports dropped because they are the scheme's default
DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443", "ftp": "21"}

#: accepted timestamps: 1970-01-01T00:00:00Z <= t < 2100-01-01T00:00:00Z (catches ms-vs-s mix-ups)
TS_MIN = "1970-01-01 00:00:00+00"
TS_MAX = "2100-01-01 00:00:00+00"
UNIX_PATTERN = r"[+-]?[0-9]{1,30}(\.[0-9]*)?"
ISO_PREFIX = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"


# -- Python reference functions ----------------------------------------------------------

def normalise_url(text: str) -> tuple[str, str] | None:
    """(normalised url, domain), or None if `text` is not an absolute URL with a host.

    Scheme and host are lower-cased, a default port (or an empty one) and the fragment are
    dropped; userinfo, path and query keep their case. The domain is the lower-cased host.
    """
    m = _URL_RE.fullmatch(text.strip(WHITESPACE))
    if m is None:
        return None
    scheme, user, host, port, rest = (g or "" for g in m.groups())
    scheme, host = scheme.lower(), host.lower()
    keep_port = port != "" and DEFAULT_PORTS.get(scheme) != port
    url = f"{scheme}://{user + '@' if user else ''}{host}{':' + port if keep_port else ''}{rest}"
    return url, host


def normalise_hashtag(text: str) -> str | None:
    """Lower-cased tag without leading '#' and surrounding whitespace, or None if empty."""
    tag = text.strip(WHITESPACE).lstrip("#").strip(WHITESPACE).lower()
    return tag or None


# -- DuckDB SQL expressions --------------------------------------------------------------
# Each takes the SQL of a VARCHAR expression and returns the SQL of the normalised value.

_WS_SQL = "chr(32) || chr(9) || chr(13) || chr(10)"


def sql_str(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_blank(expr: str) -> str:
    """NULL for an empty string, else the value unchanged."""
    return f"nullif({expr}, '')"


def sql_strip(expr: str) -> str:
    """Whitespace stripped; NULL if nothing is left."""
    return f"nullif(trim({expr}, {_WS_SQL}), '')"


def sql_lower(expr: str) -> str:
    return f"lower({sql_strip(expr)})"


def sql_timestamp(stripped: str) -> str:
    """Parse a stripped value as Unix seconds or ISO-8601 (zone optional, UTC assumed) to
    TIMESTAMPTZ; NULL when it is neither (the caller tells empty from bad)."""
    return (
        f"CASE WHEN {stripped} IS NULL THEN NULL "
        f"WHEN regexp_full_match({stripped}, {sql_str(UNIX_PATTERN)}) THEN "
        f"(CASE WHEN abs(CAST({stripped} AS DECIMAL(38, 6))) < 1e12 "
        f"THEN make_timestamp(CAST(round(CAST({stripped} AS DECIMAL(38, 6)) * 1000000) AS BIGINT))::TIMESTAMPTZ "
        f"ELSE TIMESTAMPTZ '9999-12-31 00:00:00+00' END) "  # far too big: report it as out of range
        f"WHEN regexp_matches({stripped}, {sql_str(ISO_PREFIX)}) THEN TRY_CAST({stripped} AS TIMESTAMPTZ) "
        f"END"
    )


def sql_ts_out_of_range(parsed: str) -> str:
    return f"({parsed} < TIMESTAMPTZ {sql_str(TS_MIN)} OR {parsed} >= TIMESTAMPTZ {sql_str(TS_MAX)})"


def sql_url_parts(stripped: str) -> str:
    """A struct {scheme, user, host, port, rest} of an absolute URL, or NULL if it is not one."""
    groups = "['scheme', 'user', 'host', 'port', 'rest']"
    return (f"CASE WHEN regexp_full_match({stripped}, {sql_str(URL_PATTERN)}, 's') "
            f"THEN regexp_extract({stripped}, {sql_str('^' + URL_PATTERN + '$')}, {groups}, 's') END")


def sql_url_normalised(parts: str) -> str:
    default = " ".join(f"WHEN {sql_str(s)} THEN {sql_str(p)}" for s, p in DEFAULT_PORTS.items())
    scheme = f"lower({parts}.scheme)"
    port = (f"CASE WHEN {parts}.port = '' OR {parts}.port = (CASE {scheme} {default} END) "
            f"THEN '' ELSE ':' || {parts}.port END")
    user = f"CASE WHEN {parts}.user = '' THEN '' ELSE {parts}.user || '@' END"
    return f"({scheme} || '://' || {user} || lower({parts}.host) || {port} || {parts}.rest)"


def sql_hashtag(expr: str) -> str:
    return f"lower(nullif(trim(ltrim(trim({expr}, {_WS_SQL}), '#'), {_WS_SQL}), ''))"
