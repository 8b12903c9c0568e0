"""`replay:RUN`: answer every request with the response run RUN got for it, byte for byte.

A request is matched in two ways, in this order:

1. By request key (sha256 of the canonical request): a request RUN made, byte for byte.
   A request RUN made several times gets RUN's answers in the order RUN got them (the
   last one again once they run out).
2. By position, for requests that differ between two runs of the same thing (an agent's
   prompt can hold ids, paths or timings of its own run): the n-th call with a given
   purpose that the agent at position p of the run (its index in creation order: the
   seed is 0) made for task t gets the response of the n-th such call of RUN's agent at
   position p for task t. Calls without an agent or task match with those left empty.
   This needs the caller's attribution: the gateway gives it (`complete_for`).

Only successful calls are replayed. A request matched neither way is an error of kind
`replay_miss`, never a guess. The served model name is the one RUN used, so keys match.
On a single-worker run the positions follow the same order as RUN's, so replaying
RUN's configuration rebuilds RUN's archive at no cost.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any, Protocol

from dgm.errors import UserError
from dgm.llm.errors import LLMError
from dgm.llm.provider import Completion
from dgm.llm.wire import usage_of

if TYPE_CHECKING:
    from archive import Archive

Position = tuple[int | None, str | None, str]  # (agent position, task, purpose)


class Caller(Protocol):
    """Who makes a call (a gateway Session has these)."""

    run_id: str | None
    agent_id: str | None
    task_id: str | None
    purpose: str


class ReplayProvider:
    cacheable = False  # it *is* the archive

    def __init__(self, run: str, archive: Archive | None) -> None:
        if archive is None:
            raise UserError(f"replay:{run} needs an archive: pass --archive (or set DGM_ARCHIVE)")
        if not run:
            raise UserError("replay: needs a run id, e.g. --model replay:3f9a1c")
        try:
            self.run_id = archive.resolve_run(run)
            calls = archive.llm_calls(self.run_id, bodies=False)
        except Exception as e:  # noqa: BLE001 - the archive's own one-line error says what is wrong
            raise UserError(f"cannot replay run {run!r}: {e}") from None
        models = Counter(c.model for c in calls if c.error_kind is None)
        if not models:
            raise UserError(f"run {self.run_id} has no successful LLM calls to replay")
        self.model = models.most_common(1)[0][0]
        self.archive = archive
        self._by_key_served: Counter[str] = Counter()
        self._steps: Counter[Position] = Counter()
        self._recorded: dict[str, list[bytes]] | None = None  # request key -> answers
        self._at: dict[tuple[Position, int], bytes] | None = None  # (position, step) -> answer
        self._positions: dict[tuple[str, str], int] = {}  # (run, agent) -> index in its run
        self._lock = threading.Lock()
        self._asked_n = False

    @property
    def takes_n(self) -> bool:
        """Whether RUN asked for several samples in one call: a replay asks as RUN did."""
        with self._lock:
            self._load()
        return self._asked_n

    def _load(self) -> None:
        """RUN's answers by key and by position; bodies loaded on first need."""
        if self._recorded is not None:
            return
        self._recorded, self._at = defaultdict(list), {}
        steps: Counter[Position] = Counter()
        for c in self.archive.llm_calls(self.run_id, bodies=True):
            if c.error_kind is not None or c.response is None:
                continue
            self._asked_n = self._asked_n or json.loads(c.request).get("n", 1) > 1
            self._recorded[c.request_key].append(c.response)
            pos = (self._position(self.run_id, c.agent_id), c.task_id, c.purpose)
            self._at[(pos, steps[pos])] = c.response
            steps[pos] += 1

    def _position(self, run_id: str | None, agent_id: str | None) -> int | None:
        if run_id is None or agent_id is None:
            return None
        if (run_id, agent_id) not in self._positions:
            for i, a in enumerate(self.archive.agents(run_id)):
                self._positions[(run_id, a.id)] = i
        return self._positions.get((run_id, agent_id))

    def complete(self, request: dict[str, Any], key: str) -> Completion:
        return self.complete_for(None, request, key)

    def complete_for(self, caller: Caller | None, request: dict[str, Any], key: str) -> Completion:
        with self._lock:
            self._load()
            assert self._recorded is not None and self._at is not None
            body = None
            if caller is not None:
                pos = (
                    self._position(caller.run_id, caller.agent_id),
                    caller.task_id,
                    caller.purpose,
                )
                step = self._steps[pos]
                self._steps[pos] += 1
            answers = self._recorded.get(key)
            if answers:
                body = answers[min(self._by_key_served[key], len(answers) - 1)]
                self._by_key_served[key] += 1
            elif caller is not None:
                body = self._at.get((pos, step))
        if body is None:
            raise LLMError(
                "replay_miss",
                f"run {self.run_id} has no recorded response for this request (key {key[:12]}) "
                "nor for this caller's position: replay a run of the same configuration",
            )
        tokens_in, tokens_out = usage_of(json.loads(body))
        return Completion(body, tokens_in, tokens_out, 0.0)
