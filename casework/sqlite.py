"""The SQLite backend of casework: users, cases and the audit log in one file (WAL) under the
state directory, `crumbgraph-state.sqlite` (the schema every existing state directory has).
One connection per process, guarded by a lock: SQLite serialises writes anyway, and the audit
chain needs each append to see the previous hash."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from casework.audit import chain, note_result, pending_audit, utc_now
from casework.interface import AuditLog, CaseStore, Casework, UserStore
from casework.model import CaseItemKind, CaseStatus, Role, User
from casework.workflow import CaseWorkflow
from graph.errors import Conflict, NotFound

logger = logging.getLogger(__name__)

STATE_FILE = "crumbgraph-state.sqlite"

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


def private(path: Path, mode: int) -> None:
    """chmod `path` to `mode` (0600 files, 0700 folders) where the platform has modes."""
    if os.name == "posix":
        os.chmod(path, mode)


def insert_audit_row(c: sqlite3.Connection, entry: dict[str, Any]) -> int:
    """Chain `entry` after the last stored one and insert it (inside the caller's transaction)."""
    last = c.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    row = chain(entry, None if last is None else (last["seq"], last["hash"]))
    c.execute(
        "INSERT INTO audit_log VALUES (:seq,:at,:user_name,:role,:method,:route,:params,:status,"
        ":result_count,:duration_ms,:prev_hash,:hash)",
        row,
    )
    seq: int = row["seq"]
    return seq


class StateFile:
    """The state file and its one connection."""

    def __init__(self, state_dir: Path) -> None:
        state_dir = Path(state_dir)
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        private(state_dir, 0o700)
        self.path = state_dir / STATE_FILE
        # SQLite gives the -wal and -shm files the mode of the database file: 0600 for all three
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        private(self.path, 0o600)
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
    def tx(self, *, audited: bool = True) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: takes the write lock up front, across processes too. With
        `audited`, the request's pending audit entry (casework.audit.bound_audit), if not written
        yet, is appended inside it: the change and its audit row commit together or not at all."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                pending = pending_audit() if audited else None
                seq = None if pending is None else insert_audit_row(self._conn, pending.entry())
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            if pending is not None:
                pending.seq = seq

    def one(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._conn.execute(sql, args).fetchone()
            return row

    def all(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()


def _user(row: sqlite3.Row) -> User:
    return User(**{**dict(row), "role": Role(row["role"])})


class SQLiteUserStore(UserStore):
    def __init__(self, db: StateFile) -> None:
        self._db = db

    def _add_user(self, name: str, role: Role, key_id: str, key_hash: str) -> User:
        with self._db.tx() as c:
            if c.execute("SELECT 1 FROM users WHERE name=?", (name,)).fetchone():
                raise Conflict(f"user {name!r} already exists")
            c.execute("INSERT INTO users VALUES (?,?,?,?,?,NULL)", (name, role.value, key_id, key_hash, utc_now()))
        return self.get_user(name)

    def find_user(self, name: str) -> User | None:
        row = self._db.one("SELECT * FROM users WHERE name=?", (name,))
        return None if row is None else _user(row)

    def user_by_key_id(self, key_id: str) -> User | None:
        row = self._db.one("SELECT * FROM users WHERE key_id=?", (key_id,))
        return None if row is None else _user(row)

    def list_users(self) -> list[User]:
        return [_user(r) for r in self._db.all("SELECT * FROM users ORDER BY name")]

    def revoke_user(self, name: str) -> User:
        with self._db.tx() as c:
            row = c.execute("SELECT revoked_at FROM users WHERE name=?", (name,)).fetchone()
            if row is None:
                raise NotFound(f"user {name!r} does not exist")
            if row["revoked_at"] is not None:
                raise Conflict(f"user {name!r} is already revoked")
            c.execute("UPDATE users SET revoked_at=? WHERE name=?", (utc_now(), name))
        return self.get_user(name)


def _history(c: sqlite3.Connection, case_id: str, at: str, actor: str, action: str, detail: Any, note: str) -> None:
    c.execute(
        "INSERT INTO case_history (case_id, at, actor, action, detail, note) VALUES (?,?,?,?,?,?)",
        (case_id, at, actor, action, json.dumps(detail), note),
    )


def _need_case(c: sqlite3.Connection, case_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = c.execute("SELECT * FROM cases WHERE case_id=?", (case_id,)).fetchone()
    if row is None:
        raise NotFound(f"case {case_id!r} does not exist")
    return row


def _insert_items(
    c: sqlite3.Connection, case_id: str, items: list[tuple[CaseItemKind, str]], actor: str, at: str
) -> int:
    added = 0
    for kind, item_id in items:
        row = (case_id, kind.value, item_id, actor, at)
        added += c.execute("INSERT OR IGNORE INTO case_items VALUES (?,?,?,?,?)", row).rowcount
    return added


class SQLiteCaseStore(CaseStore):
    def __init__(self, db: StateFile) -> None:
        self._db = db

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
        now = utc_now()
        note_result(case_id=case_id)
        with self._db.tx() as c:
            c.execute(
                "INSERT INTO cases VALUES (?,?,?,?,?,?,?,?)",
                (case_id, title, CaseStatus.OPEN.value, assignee, run_id, actor, now, now),
            )
            _history(c, case_id, now, actor, "created", {"title": title, "assignee": assignee}, note)
            _insert_items(c, case_id, items, actor, now)

    def load_case(self, case_id: str) -> dict[str, Any]:
        row = self._db.one("SELECT * FROM cases WHERE case_id=?", (case_id,))
        if row is None:
            raise NotFound(f"case {case_id!r} does not exist")
        case = dict(row)
        case["items"] = [
            {"kind": r["kind"], "id": r["item_id"], "added_by": r["added_by"], "added_at": r["added_at"]}
            for r in self._db.all("SELECT * FROM case_items WHERE case_id=? ORDER BY kind, item_id", (case_id,))
        ]
        case["shared_with"] = [
            r["user_name"]
            for r in self._db.all("SELECT user_name FROM case_shares WHERE case_id=? ORDER BY user_name", (case_id,))
        ]
        return case

    def case_ids(self, *, shared_with: str | None = None, status: CaseStatus | None = None) -> list[str]:
        sql, args, where = "SELECT c.case_id FROM cases c", [], []
        if shared_with is not None:
            sql += " JOIN case_shares s ON s.case_id = c.case_id"
            where.append("s.user_name = ?")
            args.append(shared_with)
        if status is not None:
            where.append("c.status = ?")
            args.append(status.value)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY c.created_at DESC, c.case_id"
        return [r["case_id"] for r in self._db.all(sql, tuple(args))]

    def change_case(
        self,
        case_id: str,
        *,
        actor: str,
        note: str,
        status: tuple[CaseStatus, CaseStatus] | None = None,
        assignee: tuple[str | None, str | None] | None = None,
    ) -> None:
        now = utc_now()
        with self._db.tx() as c:
            if status is not None:
                old, new = status
                sql = "UPDATE cases SET status=?, updated_at=? WHERE case_id=? AND status=?"
                if c.execute(sql, (new.value, now, case_id, old.value)).rowcount != 1:
                    _need_case(c, case_id)
                    raise Conflict(f"case {case_id}: its status changed meanwhile; reload it and try again")
                _history(c, case_id, now, actor, "status", {"from": old.value, "to": new.value}, note)
            if assignee is not None:
                c.execute("UPDATE cases SET assignee=?, updated_at=? WHERE case_id=?", (assignee[1], now, case_id))
                _history(c, case_id, now, actor, "assignee", {"from": assignee[0], "to": assignee[1]}, note)

    def add_items(self, case_id: str, *, actor: str, note: str, items: list[tuple[CaseItemKind, str]]) -> int:
        now = utc_now()
        with self._db.tx() as c:
            _need_case(c, case_id)
            added = _insert_items(c, case_id, items, actor, now)
            c.execute("UPDATE cases SET updated_at=? WHERE case_id=?", (now, case_id))
            listed = [{"kind": kind.value, "id": item_id} for kind, item_id in items]
            _history(c, case_id, now, actor, "items", {"added": listed, "new": added}, note)
        return added

    def add_note(self, case_id: str, *, actor: str, note: str) -> None:
        with self._db.tx() as c:
            _need_case(c, case_id)
            _history(c, case_id, utc_now(), actor, "note", {}, note)

    def add_share(self, case_id: str, user_name: str, *, actor: str, note: str) -> None:
        now = utc_now()
        with self._db.tx() as c:
            _need_case(c, case_id)
            if c.execute("SELECT 1 FROM case_shares WHERE case_id=? AND user_name=?", (case_id, user_name)).fetchone():
                raise Conflict(f"case {case_id} is already shared with {user_name!r}")
            c.execute("INSERT INTO case_shares VALUES (?,?,?,?)", (case_id, user_name, actor, now))
            _history(c, case_id, now, actor, "shared", {"with": user_name}, note)

    def remove_share(self, case_id: str, user_name: str, *, actor: str, note: str) -> None:
        with self._db.tx() as c:
            _need_case(c, case_id)
            cur = c.execute("DELETE FROM case_shares WHERE case_id=? AND user_name=?", (case_id, user_name))
            if cur.rowcount == 0:
                raise NotFound(f"case {case_id} is not shared with {user_name!r}")
            _history(c, case_id, utc_now(), actor, "unshared", {"with": user_name}, note)

    def history(self, case_id: str) -> list[dict[str, Any]]:
        return [
            {
                "seq": r["seq"],
                "at": r["at"],
                "actor": r["actor"],
                "action": r["action"],
                "detail": json.loads(r["detail"]),
                "note": r["note"],
            }
            for r in self._db.all("SELECT * FROM case_history WHERE case_id=? ORDER BY seq", (case_id,))
        ]


class SQLiteAuditLog(AuditLog):
    def __init__(self, db: StateFile) -> None:
        self._db = db

    def _append(self, entry: dict[str, Any]) -> int:
        with self._db.tx(audited=False) as c:
            return insert_audit_row(c, entry)

    def entries(self, *, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._db.all("SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))
        return [{**dict(r), "params": json.loads(r["params"])} for r in rows]

    def _rows(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._db.all("SELECT * FROM audit_log ORDER BY seq")]

    def _hash_of(self, seq: int) -> str | None:
        row = self._db.one("SELECT hash FROM audit_log WHERE seq = ?", (seq,))
        return None if row is None else str(row["hash"])


def open_casework(state_dir: Path) -> Casework:
    """The casework of `state_dir` (created if missing), all three stores over its one SQLite file."""
    db = StateFile(state_dir)
    users, cases = SQLiteUserStore(db), SQLiteCaseStore(db)
    logger.debug("casework state at %s", db.path)
    workflow = CaseWorkflow(cases, users)
    return Casework(users=users, cases=workflow, audit=SQLiteAuditLog(db), path=db.path, _close=db.close)
