"""Storage: SQLAlchemy models, content-addressed code store, queries. Imports nothing from dgm.

    from archive import open_archive
    a = open_archive(".dgm/archive.db")   # or any SQLAlchemy URL
    r = open_reader(".dgm/archive.db")    # browsing only: never writes (archive.sqlite_reader)

The names below are imported on first use: `from archive import ArchiveError` or the info
types must not cost a SQLAlchemy import (the CLI's start-up time depends on it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from archive.errors import ArchiveError, ArchiveFull
    from archive.info import (
        AGENT_STATUSES,
        RUN_STATUSES,
        AgentInfo,
        CandidateStats,
        EvaluationInfo,
        EventInfo,
        LLMCallInfo,
        LLMCallRecord,
        RunInfo,
        RunSummary,
    )
    from archive.lease import LeaseHeld, LeaseInfo, hold_run
    from archive.sqlite_reader import Reader, open_reader
    from archive.store import Archive, open_archive

_HOME = {
    "ArchiveError": "archive.errors",
    "ArchiveFull": "archive.errors",
    "AGENT_STATUSES": "archive.info",
    "RUN_STATUSES": "archive.info",
    "AgentInfo": "archive.info",
    "CandidateStats": "archive.info",
    "EvaluationInfo": "archive.info",
    "EventInfo": "archive.info",
    "LLMCallInfo": "archive.info",
    "LLMCallRecord": "archive.info",
    "RunInfo": "archive.info",
    "RunSummary": "archive.info",
    "LeaseHeld": "archive.lease",
    "LeaseInfo": "archive.lease",
    "hold_run": "archive.lease",
    "Reader": "archive.sqlite_reader",
    "open_reader": "archive.sqlite_reader",
    "Archive": "archive.store",
    "open_archive": "archive.store",
}

__all__ = [
    "AGENT_STATUSES",
    "RUN_STATUSES",
    "AgentInfo",
    "Archive",
    "ArchiveError",
    "ArchiveFull",
    "CandidateStats",
    "EvaluationInfo",
    "EventInfo",
    "LeaseHeld",
    "LeaseInfo",
    "LLMCallInfo",
    "LLMCallRecord",
    "Reader",
    "RunInfo",
    "RunSummary",
    "hold_run",
    "open_archive",
    "open_reader",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'archive' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
