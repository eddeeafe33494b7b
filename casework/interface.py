"""The three stores of casework, each behind its own small interface (after ThreatExchange/HMA's
`OpenMediaMatch/storage/interface.py`): users, cases, the audit log. One backend may implement
all three over one file (casework.sqlite); the case workflow's rules live in casework.workflow,
not in any store.

Every store raises only crumbgraph errors: NotFound for a missing record, Conflict for a write
that contradicts what is stored, InvalidRequest for a value the interface refuses.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, final

from casework.audit import audit_entry, parse_head, verify_chain
from casework.model import AuditFinding, CaseItemKind, CaseStatus, Role, User, one_of
from graph.errors import InvalidRequest, NotFound

if TYPE_CHECKING:
    from collections.abc import Callable

    from casework.workflow import CaseWorkflow


def _valid_user_name(name: str) -> bool:
    return bool(name) and len(name) <= 64 and all(c.isalnum() or c in "-_.@" for c in name)


class UserStore(ABC):
    """Users and the argon2 hashes of their API keys (never a key).

    A user's name and key id are unique; a revoked user stays (revocation is one-way) so that
    names in case histories and the audit log keep meaning one person. Reads see writes made by
    other processes at once: a revocation by `crumbgraph users revoke` stops a running server's
    next request.
    """

    @final
    def add_user(self, name: str, role: str, key_id: str, key_hash: str) -> User:
        """Add a user. InvalidRequest for an unknown role or a name that is not 1-64 letters,
        digits or -_.@; Conflict if the name exists."""
        try:
            valid_role = Role(role)
        except ValueError:
            raise InvalidRequest(f"role {role!r}: expected one of {one_of(Role)}") from None
        if not _valid_user_name(name):
            raise InvalidRequest(f"user name {name!r}: 1-64 letters, digits or -_.@")
        return self._add_user(name, valid_role, key_id, key_hash)

    @abstractmethod
    def _add_user(self, name: str, role: Role, key_id: str, key_hash: str) -> User:
        """Insert the (validated) user, created now; Conflict if the name exists."""

    @abstractmethod
    def find_user(self, name: str) -> User | None:
        """The user called `name`, or None."""

    @final
    def get_user(self, name: str) -> User:
        """The user called `name`; NotFound if there is none."""
        user = self.find_user(name)
        if user is None:
            raise NotFound(f"user {name!r} does not exist")
        return user

    @abstractmethod
    def user_by_key_id(self, key_id: str) -> User | None:
        """The user holding the key with this id (revoked ones too), or None."""

    @abstractmethod
    def list_users(self) -> list[User]:
        """Every user, by name."""

    @abstractmethod
    def revoke_user(self, name: str) -> User:
        """Revoke a user's key now; NotFound if there is no such user, Conflict if already revoked."""


class CaseStore(ABC):
    """Cases, the items they hold, who they are shared with, and their history.

    Persistence only: what may change is decided by the workflow (casework.workflow) before it
    calls. Each change method applies its change and appends its history entry (actor, action,
    detail, note, time) in one transaction, and stamps the case's `updated_at`; history is
    append-only. A case is a dict: case_id, title, status, assignee, run_id, created_by,
    created_at, updated_at, items [{kind, id, added_by, added_at}] and shared_with [names].
    Methods naming a case_id that does not exist raise NotFound.
    """

    @abstractmethod
    def insert_case(
        self,
        case_id: str,
        *,
        title: str,
        run_id: str | None,
        assignee: str | None,
        actor: str,
        note: str,
        items: list[tuple[CaseItemKind, str]],
    ) -> None:
        """A new case, status open, with its items and a `created` history entry."""

    @abstractmethod
    def load_case(self, case_id: str) -> dict[str, Any]:
        """The case with its items (by kind, id) and shares (by name)."""

    @abstractmethod
    def case_ids(self, *, shared_with: str | None = None, status: CaseStatus | None = None) -> list[str]:
        """Ids of cases (only those shared with `shared_with`, of `status`), newest first."""

    @abstractmethod
    def change_case(
        self,
        case_id: str,
        *,
        actor: str,
        note: str,
        status: tuple[CaseStatus, CaseStatus] | None = None,
        assignee: tuple[str | None, str | None] | None = None,
    ) -> None:
        """Move the status (from, to) and/or the assignee (from, to), one history entry each,
        together. Conflict if the stored status is no longer `from` (another writer moved it)."""

    @abstractmethod
    def add_items(self, case_id: str, *, actor: str, note: str, items: list[tuple[CaseItemKind, str]]) -> int:
        """Add items (ones already held are kept as they are); returns how many were new."""

    @abstractmethod
    def add_note(self, case_id: str, *, actor: str, note: str) -> None:
        """A history entry that only carries a note."""

    @abstractmethod
    def add_share(self, case_id: str, user_name: str, *, actor: str, note: str) -> None:
        """Share the case with `user_name`; Conflict if it already is."""

    @abstractmethod
    def remove_share(self, case_id: str, user_name: str, *, actor: str, note: str) -> None:
        """Stop sharing the case with `user_name`; NotFound if it was not shared."""

    @abstractmethod
    def history(self, case_id: str) -> list[dict[str, Any]]:
        """Every change in order: {seq, at, actor, action, detail, note}."""


class AuditLog(ABC):
    """The append-only, hash-chained log of every request and recorded command.

    Each entry holds the sha256 of its content and of the previous entry's hash
    (casework.audit), so an edited, inserted or deleted entry breaks the chain. Appends are
    serialised (across processes too): each sees the entry before it. Entries never hold a
    secret: callers pass parameters already redacted, and never a key.
    """

    @final
    def append(
        self,
        *,
        user_name: str | None,
        role: str | None,
        method: str,
        route: str,
        params: dict[str, Any],
        status: int,
        result_count: int | None,
        duration_ms: float,
    ) -> int:
        """Append one entry chained to the previous one; returns its sequence number."""
        entry = audit_entry(
            user_name=user_name,
            role=role,
            method=method,
            route=route,
            params=params,
            status=status,
            result_count=result_count,
            duration_ms=duration_ms,
        )
        return self._append(entry)

    @abstractmethod
    def _append(self, entry: dict[str, Any]) -> int:
        """Store `entry` linked after the last one (casework.audit.chain), atomically."""

    @abstractmethod
    def entries(self, *, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """Entries with seq > `after`, in order, at most `limit`; `params` decoded."""

    @abstractmethod
    def _rows(self) -> list[dict[str, Any]]:
        """Every entry as stored (params still JSON text), in seq order."""

    @abstractmethod
    def _hash_of(self, seq: int) -> str | None:
        """The stored hash of entry `seq`, or None if there is no such entry."""

    @final
    def verify(self, head: str | None = None) -> AuditFinding:
        """Walk the chain; with `head` (a `SEQ:HASH` recorded earlier), also check that entry is
        still there, unchanged, which a bare chain cannot (entries cut off the end)."""
        finding = verify_chain(self._rows())
        if not finding.ok or head is None:
            return finding
        ok, message = self.check_head(head)
        return replace(finding, ok=ok, message=message, problem=None if ok else "cut")

    @final
    def check_head(self, head: str) -> tuple[bool, str]:
        """Compare with a head `SEQ:HASH` recorded earlier: that entry must still be there, unchanged."""
        parsed = parse_head(head)
        if parsed is None:
            raise InvalidRequest(f"head {head!r}: expected SEQ:HASH as printed by `audit verify`")
        seq, want = parsed
        stored = self._hash_of(seq)
        if stored is None:
            return False, f"entry {seq} is missing: the log was cut off after entry {seq - 1} or earlier"
        if stored != want:
            return False, f"entry {seq} differs from the recorded head"
        return True, f"recorded head {seq} still present"


@dataclass(frozen=True)
class Casework:
    """The stores of one state directory and the case workflow over them; close it (or use it
    as a context manager) when done."""

    users: UserStore
    cases: CaseWorkflow
    audit: AuditLog
    path: Path  # where the state is kept
    _close: Callable[[], None] = field(repr=False)

    def close(self) -> None:
        self._close()

    def __enter__(self) -> Casework:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
