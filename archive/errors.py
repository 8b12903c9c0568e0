"""The archive's exception types. Their message is a single line a person can act on."""

from __future__ import annotations


class ArchiveError(Exception):
    """Bad input to the archive or an archive that cannot be used (missing, corrupt, newer)."""


class ArchiveFull(ArchiveError):
    """A write failed because the archive's disk is full; the archive is intact (the write
    was rolled back) and takes writes again once there is room."""
