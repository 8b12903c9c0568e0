"""Storage: SQLAlchemy models, content-addressed code store, queries. Imports nothing from dgm.

    from archive import open_archive
    a = open_archive(".dgm/archive.db")   # or any SQLAlchemy URL
"""

from archive.errors import ArchiveError
from archive.info import (
    AGENT_STATUSES,
    RUN_STATUSES,
    AgentInfo,
    CandidateStats,
    EvaluationInfo,
    EventInfo,
    LLMCallInfo,
    RunInfo,
    RunSummary,
)
from archive.lease import LeaseHeld, LeaseInfo, hold_run
from archive.store import Archive, open_archive

__all__ = [
    "AGENT_STATUSES",
    "RUN_STATUSES",
    "AgentInfo",
    "Archive",
    "ArchiveError",
    "CandidateStats",
    "EvaluationInfo",
    "EventInfo",
    "LeaseHeld",
    "LeaseInfo",
    "LLMCallInfo",
    "RunInfo",
    "RunSummary",
    "hold_run",
    "open_archive",
]
