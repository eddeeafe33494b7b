"""What an evidence package holds: the selection (ids of one run) and the limits of data
minimisation. The one definition of both: the CLI and the API schema derive from these."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from graph.errors import ConfigError


class Selection(BaseModel):
    """What to put in a package: ids of clusters, accounts and pathways of one run (any mix)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    clusters: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    pathways: tuple[str, ...] = ()
    content: tuple[str, ...] = ()
    case_id: str | None = None  # recorded only; `from_case` turns a case's items into the ids above

    @classmethod
    def from_case(cls, case_id: str, items: list[dict[str, str]]) -> Selection:
        """A case's items ({"kind": account|content|pathway|cluster, "id": ...}) as a selection."""
        by_kind: dict[str, list[str]] = {"account": [], "content": [], "pathway": [], "cluster": []}
        for item in items:
            if item["kind"] not in by_kind:
                raise ConfigError(f"case {case_id}: item kind {item['kind']!r} cannot be exported")
            by_kind[item["kind"]].append(item["id"])
        return cls(
            accounts=tuple(by_kind["account"]),
            content=tuple(by_kind["content"]),
            pathways=tuple(by_kind["pathway"]),
            clusters=tuple(by_kind["cluster"]),
            case_id=case_id,
        )

    @property
    def empty(self) -> bool:
        return not (self.clusters or self.accounts or self.pathways or self.content)


class Limits(BaseModel):
    """Data minimisation: how much context around the selection a package may hold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hops: int = Field(default=1, ge=0, le=3)
    max_nodes: int = Field(default=500, ge=1, le=100_000)
    max_edges: int = Field(default=2_000, ge=0, le=500_000)
    max_pathways: int = Field(default=50, ge=1, le=10_000)

    @classmethod
    def default(cls, name: str) -> int:
        """The default of limit `name` (for command-line options that mirror these fields)."""
        value = cls.model_fields[name].default
        assert isinstance(value, int)
        return value
