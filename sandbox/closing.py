"""`with x:` closes `x`: one home for that, for the sandboxes and backends and for the
classes built on them elsewhere (executors, servers). The archive, which imports nothing
from sandbox, has its own in archive/browsing.py."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Self


class Closing(ABC):
    """A resource that `with` closes when the block ends, however it ends."""

    @abstractmethod
    def close(self) -> None:
        """Release what it holds. Idempotent."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
