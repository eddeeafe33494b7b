"""The vocabulary of casework: roles, case statuses and case item kinds (the one definition of
each; the API's schemas and permission table derive from these), the case workflow's
transitions, and the records the stores return."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class Role(StrEnum):
    """What a user may do; the API's permission table grants routes to roles."""

    INVESTIGATOR = "investigator"
    LAW_ENFORCEMENT = "law_enforcement"  # reads only the cases shared with them
    AUDITOR = "auditor"  # run records and the audit log, account ids pseudonymised
    ADMIN = "admin"


class CaseStatus(StrEnum):
    """Where a case is in its workflow: open -> in_progress -> confirmed or dismissed (open may be
    dismissed at once, in_progress may go back to open); confirmed and dismissed are final."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


#: case status -> statuses it may move to; confirmed and dismissed are final
TRANSITIONS: Mapping[CaseStatus, tuple[CaseStatus, ...]] = MappingProxyType(
    {
        CaseStatus.OPEN: (CaseStatus.IN_PROGRESS, CaseStatus.DISMISSED),
        CaseStatus.IN_PROGRESS: (CaseStatus.CONFIRMED, CaseStatus.DISMISSED, CaseStatus.OPEN),
        CaseStatus.CONFIRMED: (),
        CaseStatus.DISMISSED: (),
    }
)


class CaseItemKind(StrEnum):
    """What a case may hold: graph nodes, and pathways and clusters of a run."""

    ACCOUNT = "account"
    CONTENT = "content"
    PATHWAY = "pathway"
    CLUSTER = "cluster"


def one_of(enum: type[StrEnum]) -> str:
    """`a, b, c`: the values of `enum`, for messages."""
    return ", ".join(m.value for m in enum)


@dataclass(frozen=True)
class User:
    """A user and the argon2 hash of their one API key (never the key)."""

    name: str
    role: Role
    key_id: str
    key_hash: str
    created_at: str
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def public(self) -> dict[str, Any]:
        """Everything but the key hash."""
        return {
            "name": self.name,
            "role": self.role.value,
            "key_id": self.key_id,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


@dataclass(frozen=True)
class AuditFinding:
    """The outcome of walking the audit chain."""

    ok: bool
    entries: int
    head_seq: int | None
    head_hash: str
    problem: str | None = None  # "edited" | "inserted" | "deleted" | "cut" (a recorded head is gone)
    seq: int | None = None  # the entry named
    message: str = ""
