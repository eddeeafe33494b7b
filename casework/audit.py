"""The audit log's hash chain as pure functions: the canonical form and hash of an entry, and
the walk that names the first edited, inserted or deleted entry; and the pending entry of a
request in flight, which the state store writes inside the request's own write transaction.
Stores only keep the rows."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from casework.model import AuditFinding

GENESIS_HASH = "0" * 64

#: what an entry's hash covers (seq excluded: the chain, not the numbering, fixes the order)
HASHED_FIELDS = (
    "at",
    "user_name",
    "role",
    "method",
    "route",
    "params",
    "status",
    "result_count",
    "duration_ms",
    "prev_hash",
)


def utc_now() -> str:
    """The timestamp format of every casework record: UTC, microseconds, `Z`."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def audit_entry_hash(entry: dict[str, Any]) -> str:
    """sha256 over an entry's content and its prev_hash (canonical JSON)."""
    body = {k: entry[k] for k in HASHED_FIELDS}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def chain(entry: dict[str, Any], last: tuple[int, str] | None) -> dict[str, Any]:
    """`entry` linked after the last stored entry `(seq, hash)` (None: the log is empty)."""
    seq, prev_hash = (0, GENESIS_HASH) if last is None else last
    linked = {**entry, "prev_hash": prev_hash}
    return {"seq": seq + 1, **linked, "hash": audit_entry_hash(linked)}


def verify_chain(rows: list[dict[str, Any]]) -> AuditFinding:
    """Walk stored entries in seq order; name the first edited, inserted or deleted one.

    A pure hash chain cannot notice entries cut off the end (or a forged tail appended by
    someone who recomputes hashes); compare `head_seq`/`head_hash` with a copy kept elsewhere.
    """
    hashes = [GENESIS_HASH] + [r["hash"] for r in rows]  # hashes[i] = hash the i-th row should chain to
    prev_seq = 0
    for i, row in enumerate(rows):
        self_ok = audit_entry_hash(row) == row["hash"]
        link_ok = row["prev_hash"] == hashes[i]
        if link_ok and self_ok:
            prev_seq = row["seq"]
            continue
        return _name_break(rows, hashes, i, prev_seq, self_ok=self_ok, link_ok=link_ok)
    return AuditFinding(
        ok=True,
        entries=len(rows),
        head_seq=rows[-1]["seq"] if rows else None,
        head_hash=hashes[-1],
        message=f"{len(rows)} entries, chain intact",
    )


def _name_break(
    rows: list[dict[str, Any]], hashes: list[str], i: int, prev_seq: int, *, self_ok: bool, link_ok: bool
) -> AuditFinding:
    """What happened at row `i`, the first that does not verify."""
    row = rows[i]
    if link_ok:
        return _finding(rows, "edited", row["seq"], f"entry {row['seq']} was edited (its hash no longer matches)")
    nxt = rows[i + 1] if i + 1 < len(rows) else None
    if i >= 1 and row["prev_hash"] == hashes[i - 1]:
        # This entry chains to the one two back: the one in between was slipped in.
        seq = rows[i - 1]["seq"]
        return _finding(rows, "inserted", seq, f"entry {seq} was inserted (the chain skips it)")
    if nxt is not None and nxt["prev_hash"] == hashes[i]:
        return _finding(rows, "inserted", row["seq"], f"entry {row['seq']} was inserted (the chain skips it)")
    if row["seq"] != prev_seq + 1:
        missing = prev_seq + 1
        return _finding(
            rows, "deleted", missing, f"entry {missing} was deleted (entries {missing}..{row['seq'] - 1} are missing)"
        )
    if not self_ok:
        return _finding(rows, "edited", row["seq"], f"entry {row['seq']} was edited")
    # Self-consistent but not chained: the entry before was rewritten with a fresh hash
    # (or entries before this one were deleted and the rest renumbered).
    return _finding(
        rows,
        "edited",
        prev_seq,
        f"entry {prev_seq} was rewritten with a recomputed hash (entry {row['seq']} no longer "
        f"chains to it), or entries after {prev_seq} were deleted and the rest renumbered",
    )


def _finding(rows: list[dict[str, Any]], problem: str, seq: int, message: str) -> AuditFinding:
    return AuditFinding(
        ok=False,
        entries=len(rows),
        head_seq=rows[-1]["seq"] if rows else None,
        head_hash=rows[-1]["hash"] if rows else GENESIS_HASH,
        problem=problem,
        seq=seq,
        message=message,
    )


def parse_head(head: str) -> tuple[int, str] | None:
    """`SEQ:HASH` as printed by `audit verify`, or None if it is not that."""
    seq_text, _, want = head.partition(":")
    if not seq_text.isdigit() or len(want) != 64:
        return None
    return int(seq_text), want


# -- an action's audit entry, written in the action's own transaction ---------------------
@dataclass
class PendingAudit:
    """The audit entry of a request in flight. While it is bound (`bound_audit`), the first
    write transaction of the state store appends it inside that same transaction, so a state
    change and its audit row commit together or not at all ("no audit row, no action"). Fields
    are those of `AuditLog.append`; `status` is what the action answers when it succeeds."""

    user_name: str | None
    role: str | None
    method: str
    route: str
    params: dict[str, Any]
    status: int
    result_count: int | None = None
    started: float = field(default_factory=time.perf_counter)
    seq: int | None = None  # set once written

    def entry(self) -> dict[str, Any]:
        """The row to store (casework.interface.AuditLog.entry's form), timed now."""
        return audit_entry(
            user_name=self.user_name,
            role=self.role,
            method=self.method,
            route=self.route,
            params=self.params,
            status=self.status,
            result_count=self.result_count,
            duration_ms=(time.perf_counter() - self.started) * 1000.0,
        )

    def note_result(self, **ids: str) -> None:
        """Record ids the action created (a case id) in the entry, before it is written."""
        if self.seq is None:
            self.params = {**self.params, "result": {**self.params.get("result", {}), **ids}}


_PENDING: ContextVar[PendingAudit | None] = ContextVar("crumbgraph_pending_audit", default=None)


@contextmanager
def bound_audit(pending: PendingAudit) -> Iterator[PendingAudit]:
    """Bind `pending` to the current context (threads started from it by anyio/starlette see it)."""
    token = _PENDING.set(pending)
    try:
        yield pending
    finally:
        _PENDING.reset(token)


def pending_audit() -> PendingAudit | None:
    """The bound entry not yet written, if any."""
    pending = _PENDING.get()
    return pending if pending is not None and pending.seq is None else None


def note_result(**ids: str) -> None:
    """`PendingAudit.note_result` on the bound entry, if any (stores call it as they create ids)."""
    pending = pending_audit()
    if pending is not None:
        pending.note_result(**ids)


def audit_entry(
    *,
    user_name: str | None,
    role: str | None,
    method: str,
    route: str,
    params: dict[str, Any],
    status: int,
    result_count: int | None,
    duration_ms: float,
) -> dict[str, Any]:
    """An entry as stored, before it is chained: params as canonical JSON text, stamped now."""
    return {
        "at": utc_now(),
        "user_name": user_name,
        "role": None if role is None else str(role),
        "method": method,
        "route": route,
        "params": json.dumps(params, sort_keys=True, separators=(",", ":"), default=str),
        "status": int(status),
        "result_count": result_count,
        "duration_ms": round(float(duration_ms), 3),
    }
