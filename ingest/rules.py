"""Every validation rule and normalisation of ingest format v1, defined once as data, and the
compiler that turns them into SQL for an engine: DuckDB (used by ingest/validate.py) and Spark
SQL (text only, for the Spark engine of issue 14; nothing here imports pyspark).

A rule is a SQL boolean template over one column ("true" = the row breaks it) with a stable
name and a reason; a normalisation is a SQL value template. Templates name *fragments*
(`{raw}`, `{stripped}`, `{lowered}`, ...) that a `Dialect` renders, so the rule text is the same
for every engine and only a handful of functions differ. Rules SQL cannot state exactly
(timestamp parsing, URL canonicalisation, the props JSON) are listed in the same tables with
`engine="arrow"`: a vectorised pyarrow function (ingest/normalise.py) computes a helper column
`__cg_<what>_<field>` before the SQL runs, and the SQL reads that column.
"""

from __future__ import annotations

from dataclasses import dataclass

from graph.model import AGE_BANDS, LABELS, LINK_DST_KINDS, LINK_KIND_TO_REL, LINK_SRC_KINDS, STATUSES, RelType

#: characters stripped from the ends of enum, timestamp, number and hashtag fields (never from ids)
WHITESPACE = " \t\r\n"

#: a decimal number as label_confidence accepts it (the common subset of RE2 and Java regex)
NUMBER_PATTERN = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"

#: prefix of the helper columns the arrow-engine rules add to a batch
HELPER_PREFIX = "__cg_"


@dataclass(frozen=True)
class Column:
    """A column of the format. `kind` picks its rules and normalisation (RULES_BY_KIND,
    NORMALISE_BY_KIND): id, text, lower, enum, timestamp, confidence, or dst (links.dst_id,
    whose rule depends on dst_kind)."""

    name: str
    kind: str
    required: bool = False
    choices: tuple[str, ...] = ()
    default: str | None = None


#: the columns of each table, in the order their rules are checked
COLUMNS: dict[str, tuple[Column, ...]] = {
    "accounts": (
        Column("account_id", "id", required=True),
        Column("created_at", "timestamp"),
        Column("age_band", "enum", choices=AGE_BANDS, default="unknown"),
        Column("status", "enum", choices=STATUSES, default="active"),
    ),
    "content": (
        Column("content_id", "id", required=True),
        Column("account_id", "id", required=True),
        Column("created_at", "timestamp"),
        Column("kind", "lower"),
        Column("parent_id", "id"),
        Column("label", "enum", choices=LABELS, default="none"),
        Column("label_source", "text"),
        Column("label_confidence", "confidence", default="1.0"),
    ),
    "follows": (
        Column("follower_id", "id", required=True),
        Column("followee_id", "id", required=True),
        Column("created_at", "timestamp"),
    ),
    "links": (
        Column("src_kind", "enum", required=True, choices=LINK_SRC_KINDS),
        Column("src_id", "id", required=True),
        Column("dst_kind", "enum", required=True, choices=LINK_DST_KINDS),
        Column("dst_id", "dst", required=True),
        Column("kind", "lower", default="reference"),
        Column("created_at", "timestamp"),
    ),
}


@dataclass(frozen=True)
class Rule:
    """One validation rule: `broken` is a SQL boolean template, true when the value breaks it
    (never NULL: templates guard their own nulls). `engine` says who computes what the template
    reads: "sql" = the template alone, "arrow" = it reads a helper column that a pyarrow
    function filled (named in `arrow`)."""

    name: str
    broken: str
    reason: str
    engine: str = "sql"
    arrow: str = ""


#: the generic rules, checked first on every column (extra columns get only `too_long`)
REQUIRED = Rule("required", "{stripped} IS NULL", "required field is empty")
TOO_LONG = Rule("too_long", "coalesce({length} > {limit}, false)", "longer than {limit} characters")

#: the rules of each column kind after `required` and `too_long`, in the order they are checked
RULES_BY_KIND: dict[str, tuple[Rule, ...]] = {
    "id": (),
    "text": (),
    "lower": (),
    "enum": (Rule("enum", "({lowered} IS NOT NULL AND {lowered} NOT IN ({choices}))", "not one of {choices_text}"),),
    "timestamp": (
        Rule(
            "timestamp",
            "{helper_ts_bad}",
            "not an ISO-8601 timestamp or Unix seconds",
            engine="arrow",
            arrow="ingest.normalise.parse_timestamps",
        ),
        Rule(
            "timestamp_range",
            "{helper_ts_range}",
            "outside 1970-01-01 .. 2100-01-01 (UTC)",
            engine="arrow",
            arrow="ingest.normalise.parse_timestamps",
        ),
    ),
    "confidence": (
        Rule("number", "({stripped} IS NOT NULL AND NOT {number_ok})", "not a number"),
        # a number too large for a double (1e999) is out of range, never silently the default
        Rule(
            "range",
            "({stripped} IS NOT NULL AND {number_ok} AND NOT coalesce({finite} AND {number} >= 0 AND {number} <= 1,"
            " false))",
            "outside 0..1",
        ),
    ),
    "dst": (
        Rule(
            "url",
            "({dst_kind} = 'url' AND {helper_url} IS NULL)",
            "not an absolute URL (scheme://host/...)",
            engine="arrow",
            arrow="ingest.normalise.normalise_urls",
        ),
        Rule("hashtag", "({dst_kind} = 'hashtag' AND {hashtag} IS NULL)", "hashtag is empty"),
    ),
}


@dataclass(frozen=True)
class Normalisation:
    """How a column kind becomes its staged value: a SQL value template, `engine` as for Rule."""

    sql: str
    engine: str = "sql"
    arrow: str = ""


#: whitespace stripped, NULL when nothing is left: the `stripped` fragment every non-text column
#: has (SQL `nullif(trim(raw, WHITESPACE), '')`; on DuckDB a pyarrow helper, see Dialect.arrow_strip)
STRIP = Normalisation("nullif(trim({raw}, WHITESPACE), '')", engine="arrow", arrow="ingest.normalise.strip")

#: the staged value of each column kind
NORMALISE_BY_KIND: dict[str, Normalisation] = {
    "id": Normalisation("CASE WHEN {stripped} IS NULL THEN NULL ELSE {raw} END"),
    "text": Normalisation("nullif({raw}, '')"),
    "lower": Normalisation("{lowered_or_default}"),
    "enum": Normalisation("{lowered_or_default}"),
    "timestamp": Normalisation("{helper_ts}", engine="arrow", arrow="ingest.normalise.parse_timestamps"),
    # + 0.0 turns -0.0 into 0.0
    "confidence": Normalisation("coalesce(CASE WHEN {number_ok} THEN {number} + 0.0 END, {default})"),
    "dst": Normalisation(
        "CASE {dst_kind} WHEN 'url' THEN {helper_url} WHEN 'hashtag' THEN {hashtag}"
        " ELSE CASE WHEN {stripped} IS NULL THEN NULL ELSE {raw} END END",
        engine="arrow",
        arrow="ingest.normalise.normalise_urls",
    ),
}

#: columns derived from others (links only), as (name, normalisation)
DERIVED: dict[str, tuple[tuple[str, Normalisation], ...]] = {
    "links": (
        ("type", Normalisation("CASE {kind} {link_types} ELSE '" + RelType.REFERENCES.value + "' END")),
        (
            "domain",
            Normalisation(
                "CASE WHEN {dst_kind} = 'url' THEN {helper_domain} END",
                engine="arrow",
                arrow="ingest.normalise.normalise_urls",
            ),
        ),
    ),
}

#: extra columns: length-checked (TOO_LONG), kept as one sorted JSON object per row
PROPS = Normalisation("{helper_props}", engine="arrow", arrow="ingest.normalise.json_props")


@dataclass(frozen=True)
class FieldRule:
    """A rule bound to a table and field: the rows of the rule table (RULES)."""

    table: str
    field: str
    rule: Rule

    @property
    def reason(self) -> str:
        return _reason(self.rule, self.table, self.field)


def _reason(rule: Rule, table: str, field: str, limit: int | None = None) -> str:
    col = next((c for c in COLUMNS[table] if c.name == field), None)
    choices = ", ".join(col.choices) if col is not None else ""
    return rule.reason.format(limit="{limit}" if limit is None else limit, choices_text=choices)


def strip_helpers(table: str) -> tuple[str, ...]:
    """The columns of `table` whose `stripped` fragment a DuckDB batch carries as a helper."""
    return tuple(c.name for c in COLUMNS[table] if c.kind != "text")


def column_rules(table: str, column: Column) -> tuple[Rule, ...]:
    """The rules of one column of the format, in the order they are checked."""
    return ((REQUIRED,) if column.required else ()) + (TOO_LONG,) + RULES_BY_KIND[column.kind]


#: the rule table: every (table, field, rule) of the format, in check order (extras: too_long)
RULES: tuple[FieldRule, ...] = tuple(
    FieldRule(t, c.name, r) for t, cols in COLUMNS.items() for c in cols for r in column_rules(t, c)
)


# -- compiling ------------------------------------------------------------------------------


class Dialect:
    """How one engine spells the few functions the templates need (DuckDB is the base)."""

    name = "duckdb"
    #: the `stripped` fragment comes from a helper column filled by pyarrow (ingest.normalise.strip):
    #: DuckDB's trim(x, characters) costs ~180 ns a value, pyarrow's utf8_trim ~10
    arrow_strip = True

    def ident(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def literal(self, text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    def chars(self, text: str) -> str:
        """A string literal of characters that may be control characters."""
        return " || ".join(self.literal(ch) if ch.isprintable() else f"chr({ord(ch)})" for ch in text)

    def trim(self, expr: str, chars: str) -> str:
        return f"trim({expr}, {chars})"

    def ltrim(self, expr: str, chars: str) -> str:
        return f"ltrim({expr}, {chars})"

    def length(self, expr: str) -> str:
        return f"length({expr})"

    def byte_length(self, expr: str) -> str:
        return f"strlen({expr})"

    def full_match(self, expr: str, pattern: str) -> str:
        return f"regexp_full_match({expr}, {self.literal(pattern)})"

    def to_double(self, expr: str) -> str:
        return f"TRY_CAST({expr} AS DOUBLE)"

    def to_text(self, expr: str) -> str:
        return f"CAST({expr} AS VARCHAR)"

    def is_finite(self, expr: str) -> str:
        return f"isfinite({expr})"


class SparkDialect(Dialect):
    """Spark SQL (3.x/4.x): text only, for the Spark engine (issue 14)."""

    name = "spark"
    arrow_strip = False

    def ident(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def literal(self, text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def chars(self, text: str) -> str:
        parts = [self.literal(ch) if ch.isprintable() else f"char({ord(ch)})" for ch in text]
        return f"concat({', '.join(parts)})" if len(parts) > 1 else parts[0]

    def trim(self, expr: str, chars: str) -> str:
        return f"trim(BOTH {chars} FROM {expr})"

    def ltrim(self, expr: str, chars: str) -> str:
        return f"trim(LEADING {chars} FROM {expr})"

    def length(self, expr: str) -> str:
        return f"char_length({expr})"

    def byte_length(self, expr: str) -> str:
        return f"octet_length({expr})"

    def full_match(self, expr: str, pattern: str) -> str:
        anchored = "^(" + pattern + r")\z"  # \z: Java's $ would also match before a final newline
        return f"({expr} RLIKE {self.literal(anchored)})"

    def to_double(self, expr: str) -> str:
        return f"try_cast({expr} AS DOUBLE)"

    def to_text(self, expr: str) -> str:
        return f"CAST({expr} AS STRING)"

    def is_finite(self, expr: str) -> str:
        return f"(NOT isnan({expr}) AND abs({expr}) != double('Infinity'))"


DIALECTS: dict[str, Dialect] = {"duckdb": Dialect(), "spark": SparkDialect()}


def helper(what: str, field: str) -> str:
    """Name of the helper column an arrow-engine rule adds for `field` (`__cg_ts_created_at`)."""
    return f"{HELPER_PREFIX}{what}_{field}"


class Fragments(dict[str, str]):
    """The fragments of one column for one dialect (what templates may name). Values used more
    than once (the stripped, lower-cased and numeric forms) are computed once per row, as
    columns of inner projections (`inner`: level 1, then level 2), and named here."""

    def __init__(self, d: Dialect, table: str, raw: str, field: str, limit: int, column: Column | None) -> None:
        super().__init__()
        ws = d.chars(WHITESPACE)
        default = column.default if column is not None else None
        stripped, lowered = d.ident(helper("s", field)), d.ident(helper("l", field))
        number_ok, number = d.ident(helper("nok", field)), d.ident(helper("n", field))
        self.inner: tuple[dict[str, str], dict[str, str]] = ({}, {})
        if column is not None and column.kind != "text":
            if not d.arrow_strip:
                self.inner[0][helper("s", field)] = f"nullif({d.trim(raw, ws)}, '')"
            if column.kind in ("enum", "lower") or field == "dst_kind":
                self.inner[1][helper("l", field)] = f"lower({stripped})"
            if column.kind == "confidence":
                self.inner[1][helper("nok", field)] = f"coalesce({d.full_match(stripped, NUMBER_PATTERN)}, false)"
                self.inner[1][helper("n", field)] = f"CASE WHEN {number_ok} THEN {d.to_double(stripped)} END"
        self.update(
            raw=raw,
            stripped=stripped,
            lowered=lowered,
            lowered_or_default=f"coalesce({lowered}, {d.literal(default)})" if default else lowered,
            # the byte length first: cheap, and never below the character count
            length=f"CASE WHEN {d.byte_length(raw)} > {int(limit)} THEN {d.length(raw)} ELSE 0 END",
            limit=str(int(limit)),
            choices=", ".join(d.literal(c) for c in (column.choices if column else ())),
            number_ok=number_ok,
            number=number,
            finite=d.is_finite(number),
            default=default if default is not None else "NULL",
            hashtag=f"lower(nullif({d.trim(d.ltrim(stripped, d.literal('#')), ws)}, ''))",
            helper_ts=d.ident(helper("ts", field)),
            helper_ts_bad=d.ident(helper("ts_bad", field)),
            helper_ts_range=d.ident(helper("ts_range", field)),
            helper_url=d.ident(helper("url", field)),
            helper_domain=d.ident(helper("url_domain", "dst_id")),
            helper_props=d.ident(helper("props", "row")),
        )
        if table == "links":
            self["dst_kind"] = d.ident(helper("l", "dst_kind"))
            self["kind"] = "{kind_norm}"
            self["link_types"] = " ".join(
                f"WHEN {d.literal(k)} THEN {d.literal(t.value)}" for k, t in LINK_KIND_TO_REL.items()
            )


def render(template: str, fragments: dict[str, str]) -> str:
    """Fill a template's fragments (twice: fragments may name the links' cross-column ones)."""
    return template.format_map(fragments)


#: a compiled check: (field, rule name, reason, SQL boolean)
CompiledCheck = tuple[str, str, str, str]


@dataclass(frozen=True)
class Compiled:
    """One table's rules compiled for one dialect, given the file's raw column names.

    `checks` are (field, rule, reason, SQL boolean) in check order; `values` the staged
    columns as (name, SQL value) in the staged schema's order (without props)."""

    checks: tuple[CompiledCheck, ...]
    values: tuple[tuple[str, str], ...]
    inner: tuple[tuple[tuple[str, str], ...], ...]
    dialect: str = "duckdb"

    def select(self, src: str, extra: str = "") -> str:
        """SQL: every staged value (as its name) and `__cg_check` (first_broken) of each row of
        `src`, plus `extra` output columns, through the inner projections of the fragments."""
        d = DIALECTS[self.dialect]
        rel = src
        for level in self.inner:
            if level:
                cols = ", ".join(f"{sql} AS {d.ident(name)}" for name, sql in level)
                rel = f"(SELECT *, {cols} FROM {rel})"
        values = ", ".join(f"{sql} AS {d.ident(name)}" for name, sql in self.values)
        return f"SELECT {values}{extra}, {self.first_broken()} AS __cg_check FROM {rel}"

    def first_broken(self) -> str:
        """SQL: the index of the first broken check of a row, NULL when none is broken."""
        if not self.checks:
            return "CAST(NULL AS INTEGER)"
        whens = " ".join(f"WHEN {sql} THEN {i}" for i, (_, _, _, sql) in enumerate(self.checks))
        return f"CASE {whens} END"


def compile_table(
    table: str,
    mapping: dict[str, str],
    extras: list[str],
    *,
    limit: int,
    dialect: str = "duckdb",
) -> Compiled:
    """Compile every rule and normalisation of `table` for a batch whose file names the format's
    columns as in `mapping` (format name -> file name; absent = NULL) and has `extras`."""
    d = DIALECTS[dialect]
    checks: list[CompiledCheck] = []
    values: list[tuple[str, str]] = []
    cross: dict[str, str] = {}
    inner: tuple[dict[str, str], dict[str, str]] = ({}, {})
    for c in COLUMNS[table]:
        frags = Fragments(d, table, _raw(d, mapping, c.name), c.name, limit, c)
        for level, more in zip(inner, frags.inner, strict=True):
            level.update(more)
        for r in column_rules(table, c):
            sql = render(render(r.broken, frags), _Cross(cross))
            checks.append((c.name, r.name, _reason(r, table, c.name, limit), sql))
        values.append((c.name, render(render(NORMALISE_BY_KIND[c.kind].sql, frags), _Cross(cross))))
        if c.name == "kind" and table == "links":
            cross["kind_norm"] = values[-1][1]
    for x in extras:
        frags = Fragments(d, table, d.ident(x), x, limit, None)
        checks.append((x, TOO_LONG.name, _reason(TOO_LONG, table, x, limit), render(TOO_LONG.broken, frags)))
    for name, norm in DERIVED.get(table, ()):
        frags = Fragments(d, table, "NULL", name, limit, None)
        values.append((name, render(render(norm.sql, frags), _Cross(cross))))
    levels = tuple(tuple(level.items()) for level in inner)
    return Compiled(tuple(checks), tuple(values), levels, dialect)


class _Cross(dict[str, str]):
    """Second-pass fragments (other columns of the row); unknown names stay as they are."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _raw(d: Dialect, mapping: dict[str, str], name: str) -> str:
    return d.to_text(d.ident(mapping[name]) if name in mapping else "NULL")
