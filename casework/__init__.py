"""Casework kept apart from the graph: users and their keys, cases and their workflow, the audit log."""

from casework.interface import AuditLog, CaseStore, Casework, UserStore
from casework.model import TRANSITIONS, AuditFinding, CaseItemKind, CaseStatus, Role, User
from casework.sqlite import STATE_FILE, open_casework
from casework.workflow import CaseWorkflow, case_viewer

__all__ = [
    "STATE_FILE",
    "TRANSITIONS",
    "AuditFinding",
    "AuditLog",
    "CaseItemKind",
    "CaseStatus",
    "CaseStore",
    "CaseWorkflow",
    "Casework",
    "Role",
    "User",
    "UserStore",
    "case_viewer",
    "open_casework",
]
