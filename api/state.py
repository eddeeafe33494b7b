"""API state kept apart from the graph: users and API-key hashes, cases with their history
and shares, and the hash-chained audit log, in one SQLite file (WAL) under `state_dir`.

Keeping this out of the GraphStore lets the API run unchanged over Neo4j and the embedded store.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from graph.errors import CrumbgraphError, NotFound

STATE_FILE = "crumbgraph-state.sqlite"
GENESIS_HASH = "0" * 64

ROLES = ("investigator", "law_enforcement", "auditor", "admin")

#: case status -> statuses it may move to
CASE_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("in_progress", "dismissed"),
    "in_progress": ("confirmed", "dismissed", "open"),
    "confirmed": (),
    "dismissed": (),
}
CASE_ITEM_KINDS = ("account", "content", "pathway", "cluster")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, key_id TEXT NOT NULL UNIQUE, key_hash TEXT NOT NULL,
    created_at TEXT NOT NULL, revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS cases (
    case_id TEXT PRIMARY KEY, title TEXT NOT NULL, status TEXT NOT NULL, assignee TEXT,
    run_id TEXT, created_by TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS case_items (
    case_id TEXT NOT NULL REFERENCES cases(case_id), kind TEXT NOT NULL, item_id TEXT NOT NULL,
    added_by TEXT NOT NULL, added_at TEXT NOT NULL, PRIMARY KEY (case_id, kind, item_id)
);
CREATE TABLE IF NOT EXISTS case_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, case_id TEXT NOT NULL REFERENCES cases(case_id),
    at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL, note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS case_shares (
    case_id TEXT NOT NULL REFERENCES cases(case_id), user_name TEXT NOT NULL REFERENCES users(name),
    shared_by TEXT NOT NULL, shared_at TEXT NOT NULL, PRIMARY KEY (case_id, user_name)
);
CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, user_name TEXT, role TEXT, method TEXT NOT NULL,
    route TEXT NOT NULL, params TEXT NOT NULL, status INTEGER NOT NULL, result_count INTEGER,
    duration_ms REAL NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
);
"""


class StateError(CrumbgraphError):
    """A request on API state that conflicts with what is stored (HTTP 409)."""

    exit_code = 2
    http_status = 409


class InvalidRequest(CrumbgraphError):
    """A request on API state with an invalid value (HTTP 400)."""

    exit_code = 2
    http_status = 400


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class User:
    name: str
    role: str
    key_id: str
    key_hash: str
    created_at: str
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "key_id": self.key_id,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


def audit_entry_hash(entry: dict[str, Any]) -> str:
    """sha256 over an entry's content and its prev_hash (canonical JSON; seq excluded, so the
    chain, not the numbering, fixes the order)."""
    body = {
        k: entry[k]
        for k in (
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
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class AuditFinding:
    ok: bool
    entries: int
    head_seq: int | None
    head_hash: str
    problem: str | None = None  # "edited" | "inserted" | "deleted" | "broken"
    seq: int | None = None  # the entry named
    message: str = ""


class StateDB:
    """The SQLite state file. One connection guarded by a lock: SQLite serialises writes anyway,
    and the audit chain needs each append to see the previous hash."""

    def __init__(self, state_dir: Path) -> None:
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / STATE_FILE
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: takes the write lock up front, across processes too."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _one(self, sql: str, args: tuple = ()) -> sqlite3.Row | None:
        with self._lock:
            return self._conn.execute(sql, args).fetchone()

    def _all(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    # -- users -----------------------------------------------------------------------
    def add_user(self, name: str, role: str, key_id: str, key_hash: str) -> User:
        if role not in ROLES:
            raise InvalidRequest(f"role {role!r}: expected one of {', '.join(ROLES)}")
        if not name or len(name) > 64 or not all(c.isalnum() or c in "-_.@" for c in name):
            raise InvalidRequest(f"user name {name!r}: 1-64 letters, digits or -_.@")
        with self._tx() as c:
            if c.execute("SELECT 1 FROM users WHERE name=?", (name,)).fetchone():
                raise StateError(f"user {name!r} already exists")
            c.execute("INSERT INTO users VALUES (?,?,?,?,?,NULL)", (name, role, key_id, key_hash, _now()))
        return self.get_user(name)

    def get_user(self, name: str) -> User:
        row = self._one("SELECT * FROM users WHERE name=?", (name,))
        if row is None:
            raise NotFound(f"user {name!r} does not exist")
        return User(**dict(row))

    def user_by_key_id(self, key_id: str) -> User | None:
        row = self._one("SELECT * FROM users WHERE key_id=?", (key_id,))
        return None if row is None else User(**dict(row))

    def list_users(self) -> list[User]:
        return [User(**dict(r)) for r in self._all("SELECT * FROM users ORDER BY name")]

    def revoke_user(self, name: str) -> User:
        with self._tx() as c:
            row = c.execute("SELECT revoked_at FROM users WHERE name=?", (name,)).fetchone()
            if row is None:
                raise NotFound(f"user {name!r} does not exist")
            if row["revoked_at"] is not None:
                raise StateError(f"user {name!r} is already revoked")
            c.execute("UPDATE users SET revoked_at=? WHERE name=?", (_now(), name))
        return self.get_user(name)

    # -- cases -----------------------------------------------------------------------
    def _case_row(self, case_id: str) -> sqlite3.Row:
        row = self._one("SELECT * FROM cases WHERE case_id=?", (case_id,))
        if row is None:
            raise NotFound(f"case {case_id!r} does not exist")
        return row

    def _visible(self, case_id: str, viewer: str | None) -> None:
        """NotFound (not 403) when a restricted viewer asks for a case not shared with it:
        the existence of other cases is not theirs to learn."""
        self._case_row(case_id)
        if (
            viewer is not None
            and self._one("SELECT 1 FROM case_shares WHERE case_id=? AND user_name=?", (case_id, viewer)) is None
        ):
            raise NotFound(f"case {case_id!r} does not exist")

    def create_case(
        self,
        *,
        title: str,
        actor: str,
        note: str,
        items: list[dict[str, str]],
        run_id: str | None = None,
        assignee: str | None = None,
    ) -> dict[str, Any]:
        _need_note(note)
        if assignee is not None:
            self._assignable(assignee)
        case_id = "case-" + uuid.uuid4().hex[:12]
        now = _now()
        with self._tx() as c:
            c.execute(
                "INSERT INTO cases VALUES (?,?,?,?,?,?,?,?)",
                (case_id, title, "open", assignee, run_id, actor, now, now),
            )
            c.execute(
                "INSERT INTO case_history (case_id, at, actor, action, detail, note) VALUES (?,?,?,?,?,?)",
                (case_id, now, actor, "created", json.dumps({"title": title, "assignee": assignee}), note),
            )
            self._insert_items(c, case_id, items, actor, now)
        return self.get_case(case_id)

    def _insert_items(
        self, c: sqlite3.Connection, case_id: str, items: list[dict[str, str]], actor: str, now: str
    ) -> int:
        added = 0
        for item in items:
            if item["kind"] not in CASE_ITEM_KINDS:
                raise InvalidRequest(f"case item kind {item['kind']!r}: expected one of {', '.join(CASE_ITEM_KINDS)}")
            cur = c.execute(
                "INSERT OR IGNORE INTO case_items VALUES (?,?,?,?,?)", (case_id, item["kind"], item["id"], actor, now)
            )
            added += cur.rowcount
        return added

    def _assignable(self, name: str) -> None:
        user = self.get_user(name) if self._one("SELECT 1 FROM users WHERE name=?", (name,)) else None
        if user is None or not user.active or user.role != "investigator":
            raise InvalidRequest(f"assignee {name!r} is not an active investigator")

    def get_case(self, case_id: str, *, viewer: str | None = None) -> dict[str, Any]:
        self._visible(case_id, viewer)
        case = dict(self._case_row(case_id))
        case["items"] = [
            {"kind": r["kind"], "id": r["item_id"], "added_by": r["added_by"], "added_at": r["added_at"]}
            for r in self._all("SELECT * FROM case_items WHERE case_id=? ORDER BY kind, item_id", (case_id,))
        ]
        case["shared_with"] = [
            r["user_name"]
            for r in self._all("SELECT user_name FROM case_shares WHERE case_id=? ORDER BY user_name", (case_id,))
        ]
        return case

    def list_cases(self, *, viewer: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT c.case_id FROM cases c", []
        where = []
        if viewer is not None:
            sql += " JOIN case_shares s ON s.case_id = c.case_id"
            where.append("s.user_name = ?")
            args.append(viewer)
        if status is not None:
            where.append("c.status = ?")
            args.append(status)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY c.created_at DESC, c.case_id"
        return [self.get_case(r["case_id"]) for r in self._all(sql, tuple(args))]

    def update_case(
        self,
        case_id: str,
        *,
        actor: str,
        note: str,
        status: str | None = None,
        assignee: str | None = None,
        unassign: bool = False,
    ) -> dict[str, Any]:
        """Change status and/or assignee; each change is one history entry carrying the note."""
        _need_note(note)
        case = self._case_row(case_id)
        if status is None and assignee is None and not unassign:
            raise InvalidRequest("nothing to change: give status and/or assignee")
        if status is not None:
            if status not in CASE_TRANSITIONS:
                raise InvalidRequest(f"status {status!r}: expected one of {', '.join(CASE_TRANSITIONS)}")
            allowed = CASE_TRANSITIONS[case["status"]]
            if status not in allowed:
                raise StateError(
                    f"case {case_id}: cannot move from {case['status']!r} to {status!r} "
                    f"(allowed: {', '.join(allowed) or 'none, the case is closed'})"
                )
        if assignee is not None:
            self._assignable(assignee)
        now = _now()
        with self._tx() as c:
            if status is not None:
                c.execute("UPDATE cases SET status=?, updated_at=? WHERE case_id=?", (status, now, case_id))
                c.execute(
                    "INSERT INTO case_history (case_id, at, actor, action, detail, note) VALUES (?,?,?,?,?,?)",
                    (case_id, now, actor, "status", json.dumps({"from": case["status"], "to": status}), note),
                )
            if assignee is not None or unassign:
                c.execute("UPDATE cases SET assignee=?, updated_at=? WHERE case_id=?", (assignee, now, case_id))
                c.execute(
                    "INSERT INTO case_history (case_id, at, actor, action, detail, note) VALUES (?,?,?,?,?,?)",
                    (case_id, now, actor, "assignee", json.dumps({"from": case["assignee"], "to": assignee}), note),
                )
        return self.get_case(case_id)

    def add_case_items(self, case_id: str, *, actor: str, note: str, items: list[dict[str, str]]) -> dict[str, Any]:
        _need_note(note)
        self._case_row(case_id)
        now = _now()
        with self._tx() as c:
            added = self._insert_items(c, case_id, items, actor, now)
            c.execute("UPDATE cases SET updated_at=? WHERE case_id=?", (now, case_id))
            c.execute(
                "INSERT INTO case_history (case_id, at, actor, action, detail, note) VALUES (?,?,?,?,?,?)",
                (case_id, now, actor, "items", json.dumps({"added": items, "new": added}), note),
            )
        return self.get_case(case_id)

    def add_case_note(self, case_id: str, *, actor: str, note: str) -> dict[str, Any]:
        _need_note(note)
        self._case_row(case_id)
        with self._tx() as c:
            c.execute(
                "INSERT INTO case_history (case_id, at, actor, action, detail, note) VALUES (?,?,?,?,?,?)",
                (case_id, _now(), actor, "note", "{}", note),
            )
        return self.get_case(case_id)

    def share_case(self, case_id: str, *, actor: str, note: str, user_name: str) -> dict[str, Any]:
        _need_note(note)
        self._case_row(case_id)
        row = self._one("SELECT role, revoked_at FROM users WHERE name=?", (user_name,))
        if row is None or row["role"] != "law_enforcement" or row["revoked_at"] is not None:
            raise InvalidRequest(f"{user_name!r} is not an active law_enforcement user")
        now = _now()
        with self._tx() as c:
            if c.execute("SELECT 1 FROM case_shares WHERE case_id=? AND user_name=?", (case_id, user_name)).fetchone():
                raise StateError(f"case {case_id} is already shared with {user_name!r}")
            c.execute("INSERT INTO case_shares VALUES (?,?,?,?)", (case_id, user_name, actor, now))
            c.execute(
                "INSERT INTO case_history (case_id, at, actor, action, detail, note) VALUES (?,?,?,?,?,?)",
                (case_id, now, actor, "shared", json.dumps({"with": user_name}), note),
            )
        return self.get_case(case_id)

    def unshare_case(self, case_id: str, *, actor: str, note: str, user_name: str) -> dict[str, Any]:
        _need_note(note)
        self._case_row(case_id)
        with self._tx() as c:
            cur = c.execute("DELETE FROM case_shares WHERE case_id=? AND user_name=?", (case_id, user_name))
            if cur.rowcount == 0:
                raise NotFound(f"case {case_id} is not shared with {user_name!r}")
            c.execute(
                "INSERT INTO case_history (case_id, at, actor, action, detail, note) VALUES (?,?,?,?,?,?)",
                (case_id, _now(), actor, "unshared", json.dumps({"with": user_name}), note),
            )
        return self.get_case(case_id)

    def case_history(self, case_id: str, *, viewer: str | None = None) -> list[dict[str, Any]]:
        self._visible(case_id, viewer)
        return [
            {
                "seq": r["seq"],
                "at": r["at"],
                "actor": r["actor"],
                "action": r["action"],
                "detail": json.loads(r["detail"]),
                "note": r["note"],
            }
            for r in self._all("SELECT * FROM case_history WHERE case_id=? ORDER BY seq", (case_id,))
        ]

    # -- audit log -------------------------------------------------------------------
    def append_audit(
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
        entry = {
            "at": _now(),
            "user_name": user_name,
            "role": role,
            "method": method,
            "route": route,
            "params": json.dumps(params, sort_keys=True, separators=(",", ":"), default=str),
            "status": int(status),
            "result_count": result_count,
            "duration_ms": round(float(duration_ms), 3),
        }
        with self._tx() as c:
            last = c.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
            seq = 1 if last is None else last["seq"] + 1
            entry["prev_hash"] = GENESIS_HASH if last is None else last["hash"]
            entry["hash"] = audit_entry_hash(entry)
            c.execute(
                "INSERT INTO audit_log VALUES (:seq,:at,:user_name,:role,:method,:route,:params,:status,"
                ":result_count,:duration_ms,:prev_hash,:hash)",
                {"seq": seq, **entry},
            )
        return seq

    def audit_entries(self, *, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._all("SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))
        out = []
        for r in rows:
            d = dict(r)
            d["params"] = json.loads(d["params"])
            out.append(d)
        return out

    def verify_audit(self) -> AuditFinding:
        """Walk the chain; name the first edited, inserted or deleted entry by sequence number.

        A pure hash chain cannot notice entries cut off the end (or a forged tail appended by
        someone who recomputes hashes); compare `head_seq`/`head_hash` with a copy kept elsewhere.
        """
        with self._lock:
            rows = [dict(r) for r in self._conn.execute("SELECT * FROM audit_log ORDER BY seq")]
        hashes = [GENESIS_HASH] + [r["hash"] for r in rows]  # hashes[i] = hash the i-th row should chain to
        prev_seq = 0
        for i, row in enumerate(rows):
            self_ok = audit_entry_hash(row) == row["hash"]
            link_ok = row["prev_hash"] == hashes[i]
            if link_ok and self_ok:
                prev_seq = row["seq"]
                continue
            if link_ok:
                return _finding(
                    rows, "edited", row["seq"], f"entry {row['seq']} was edited (its hash no longer matches)"
                )
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
                    rows,
                    "deleted",
                    missing,
                    f"entry {missing} was deleted (entries {missing}..{row['seq'] - 1} are missing)",
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
        return AuditFinding(
            ok=True,
            entries=len(rows),
            head_seq=rows[-1]["seq"] if rows else None,
            head_hash=hashes[-1],
            message=f"{len(rows)} entries, chain intact",
        )

    def check_head(self, head: str) -> tuple[bool, str]:
        """Compare with a head `SEQ:HASH` recorded earlier: that entry must still be there, unchanged."""
        seq_text, _, want = head.partition(":")
        if not seq_text.isdigit() or len(want) != 64:
            raise InvalidRequest(f"head {head!r}: expected SEQ:HASH as printed by `audit verify`")
        row = self._one("SELECT hash FROM audit_log WHERE seq = ?", (int(seq_text),))
        if row is None:
            return False, f"entry {seq_text} is missing: the log was cut off after entry {int(seq_text) - 1} or earlier"
        if row["hash"] != want:
            return False, f"entry {seq_text} differs from the recorded head"
        return True, f"recorded head {seq_text} still present"


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


def _need_note(note: str | None) -> None:
    if note is None or not note.strip():
        raise InvalidRequest("every change to a case needs a note")
