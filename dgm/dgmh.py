"""DGM-H (HyperAgents: Zhang et al., 2026): the improvement procedure lives in the agent.

An agent of a DGM-H run carries two files of its own beside its code (the shipped ones are
in dgm/dgmh_seed/, added to the run's seed agent where it lacks them):

- `meta/improve.md`: the instructions the agent gets when it modifies itself, in the place
  of DGM's diagnosis (the handcrafted step DGM-H removes). Its results follow them.
- `meta/select_parent.py`: `select(summary) -> [agent ids]`, a pure function over a JSON
  summary of the archive (`archive_summary`; the shipped file's docstring documents it).

A child may edit both, as any other file of its own. Whose selector runs: the newest agent
admitted to the archive (evaluated, a parent candidate), so a child's edit of its rule
takes effect once the child has proved itself by its evaluation (docs/engine.md, "DGM-H",
says why). The selector runs as an executor job in the same hardened sandbox evaluations
use (no network, no secrets, time and memory capped by `dgmh`), never in this process. A
selector that fails, runs out of time or memory, or answers anything but a list of parent
candidates' ids is replaced for that choice by the run's `selector` (DGM's score_child_prop
in the dgm-h preset). Every choice is recorded: a `parent_selected` event (who chose, what,
and the fallback's reason if any) and the child's origin (`selection`).
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dgm.mutators import EvalView, Mutation, MutationContext
from dgm.selectors import ELIGIBLE_STATUS, SELECTORS, Candidate, Selector

if TYPE_CHECKING:  # the operator's imports load the sandbox; reports need none of them
    from archive import Archive
    from dgm.executors.protocol import Executor, NodeContext, Resources
    from dgm.mutators.factories import OperatorNeeds
    from dgm.mutators.self_modify import SelfModifyRunner
    from sandbox import Limits

SEED_DIR = Path(__file__).parent / "dgmh_seed"
INSTRUCTIONS = "meta/improve.md"
SELECTOR = "meta/select_parent.py"
EVENT = "parent_selected"
LOG_CHARS = 2000  # of a failed selector's output, kept in its event
SUMMARY_VERSION = 1

# Runs in the sandbox: loads the selecting agent's selector by path (not through the
# package, whose __init__ may import anything) and writes its answer as JSON.
RUNNER = """\
import importlib.util, json
spec = importlib.util.spec_from_file_location("select_parent", "/agent/meta/select_parent.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
with open("/task/archive.json") as f:
    summary = json.load(f)
answer = module.select(summary)
with open("/out/selection.json", "w") as f:
    json.dump(answer, f)
"""


# ---- the agent's procedure files -----------------------------------------------------------
def procedure_files() -> dict[str, bytes]:
    """The shipped instructions and selector, at their places in an agent."""
    return {
        INSTRUCTIONS: (SEED_DIR / "improve.md").read_bytes(),
        SELECTOR: (SEED_DIR / "select_parent.py").read_bytes(),
    }


def with_procedure(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """A seed agent with the shipped procedure files where it has none of its own."""
    return {**procedure_files(), **files}


# ---- the archive as the selector sees it (pure) -----------------------------------------------
def archive_summary(
    candidates: Sequence[Candidate],
    results: Mapping[str, Mapping[str, bool]],
    parents_wanted: int,
    seed: int,
) -> dict[str, object]:
    """The JSON object a selector gets: every parent candidate, oldest first, with its
    per-task results (`results`: agent id -> task id -> resolved)."""
    agents = [
        {
            "id": c.agent_id,
            "parent": c.parent_id,
            "score": c.score,
            "children": c.n_children,
            "resolved": c.n_resolved,
            "evaluated": c.n_evaluated,
            "tasks": dict(results.get(c.agent_id, {})),
        }
        for c in candidates
        if c.status == ELIGIBLE_STATUS
    ]
    return {
        "version": SUMMARY_VERSION,
        "parents_wanted": parents_wanted,
        "seed": seed,
        "agents": agents,
    }


def selecting_agent(candidates: Sequence[Candidate]) -> str | None:
    """Whose selector chooses: the newest parent candidate (candidates come oldest first)."""
    admitted = [c.agent_id for c in candidates if c.status == ELIGIBLE_STATUS]
    return admitted[-1] if admitted else None


def check_answer(raw: bytes | None, allowed: Sequence[str], wanted: int) -> list[str] | str:
    """The first `wanted` ids of a selector's answer, or why the answer cannot be used."""
    if raw is None:
        return "no answer written"
    try:
        answer = json.loads(raw)
    except (ValueError, RecursionError):
        return "the answer is not JSON"
    if not isinstance(answer, list) or not all(isinstance(a, str) for a in answer):
        return "the answer is not a list of agent ids"
    if len(answer) < wanted:
        return f"{len(answer)} ids, {wanted} wanted"
    picked = answer[:wanted]
    unknown = [a for a in picked if a not in set(allowed)]
    if unknown:
        return f"not a parent candidate: {', '.join(repr(u[:40]) for u in unknown[:3])}"
    return picked


# ---- the sandboxed run (an executor job) -------------------------------------------------------
@dataclass(frozen=True)
class SelectorRun:
    """What a selector's sandbox gave back: its answer file (None: none) or why it failed."""

    answer: bytes | None
    kind: str | None = None  # why it failed: crashed, timeout, oom, sandbox (None: it ran)
    failure: str | None = None
    log: str = ""


@dataclass(frozen=True)
class SelectorJob:
    """One run of an agent's selector in a fresh sandbox of the run's kind."""

    sandbox: str
    run_label: str
    files: dict[str, bytes]
    summary: bytes
    limits: Limits

    @property
    def resources(self) -> Resources:
        from dgm.executors.protocol import Resources

        return Resources(cpus=self.limits.cpus, memory_mb=self.limits.memory_mb)

    def run(self, node: NodeContext) -> SelectorRun:
        from sandbox import SandboxError, Status

        try:
            with node.backend(self.sandbox, self.run_label).open(self.limits) as sb:
                sb.put_files(self.files, "/agent")
                sb.put_files({"archive.json": self.summary}, "/task")
                result = sb.run(["python3", "-c", RUNNER], timeout_s=self.limits.timeout_s)
                log = (result.stdout[-LOG_CHARS:] + "\n" + result.stderr[-LOG_CHARS:]).strip()
                if result.status is Status.timeout:
                    why = f"ran past its {self.limits.timeout_s:g} s"
                    return SelectorRun(None, "timeout", why, log)
                if result.status is Status.oom:
                    why = f"ran out of its {self.limits.memory_mb} MiB"
                    return SelectorRun(None, "oom", why, log)
                if not result.ok:
                    last = log.splitlines()[-1] if log else f"exit code {result.exit_code}"
                    return SelectorRun(None, "crashed", last[:200], log)
                answer = sb.get_files("/out").get("selection.json")
                return SelectorRun(answer, None, None, log)
        except SandboxError as e:
            return SelectorRun(None, "sandbox", str(e)[:200])


# ---- the operator ------------------------------------------------------------------------------
def evaluation_text(agent_id: str, evaluations: Sequence[EvalView], limit: int) -> str:
    """The parent's own results, as the instructions promise them."""
    resolved = sum(e.resolved for e in evaluations)
    lines = [f"## Your results (agent {agent_id}): {resolved} of {len(evaluations)} resolved"]
    for e in evaluations:
        outcome = "resolved" if e.resolved else f"not resolved ({e.error_kind or 'tests failed'})"
        lines.append(f"- {e.task_id}: {outcome}")
    failed = next((e for e in evaluations if not e.resolved), None)
    if failed is not None:
        lines += ["", f"## Your patch for {failed.task_id}", failed.patch or "(empty: no change)"]
    return "\n".join(lines)[:limit]


def fallback_reason(run: SelectorRun, checked: list[str] | str) -> tuple[str, str] | None:
    """(kind, why) the selector's choice cannot be used, or None."""
    if run.kind is not None:
        return run.kind, run.failure or run.kind
    return ("invalid", checked) if isinstance(checked, str) else None


@dataclass
class HyperModifier:
    """DGM-H's operator: the parent modifies itself by its own instructions; the newest
    parent candidate's own selector picks each parent (dgm.loop.ParentChoice)."""

    runner: SelfModifyRunner
    executor: Executor
    archive: Archive
    run_id: str
    sandbox: str
    limits: Limits
    fallback: Selector
    fallback_name: str
    max_chars: int = 16000
    name: str = "dgmh"
    _chosen: dict[int, dict[str, object]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def choose_parents(
        self, iteration: int, candidates: Sequence[Candidate], rng: random.Random
    ) -> list[str]:
        """The parents of `iteration`'s child, by the newest candidate's selector or, when
        that fails, the fallback rule; recorded either way."""
        wanted = 1
        chooser = selecting_agent(candidates)
        if chooser is None:
            return []
        from dgm.mutators.self_modify import agent_source

        allowed = [c.agent_id for c in candidates if c.status == ELIGIBLE_STATUS]
        summary = archive_summary(candidates, self.results(allowed), wanted, rng.getrandbits(31))
        files = agent_source(self.archive.agent_files(chooser))
        if SELECTOR in files:
            job = SelectorJob(
                self.sandbox, self.run_id, files, json.dumps(summary).encode(), self.limits
            )
            run, node = self.run_job(job)
        else:
            run, node = SelectorRun(None, "invalid", f"the agent has no {SELECTOR}"), None
        checked = check_answer(run.answer, allowed, wanted) if run.kind is None else []
        reason = fallback_reason(run, checked)
        picked = self.fallback(candidates, rng, wanted) if reason else list(checked)
        record: dict[str, object] = {
            "iteration": iteration,
            "selector": chooser,
            "picked": picked,
            "fallback": self.fallback_name if reason else None,
            "kind": reason[0] if reason else None,
            "reason": reason[1] if reason else None,
            "node": node,  # where the selector ran (None: this machine)
        }
        if reason and run.log:
            record["log"] = run.log[-LOG_CHARS:]
        self.archive.append_event(self.run_id, EVENT, record)
        with self._lock:
            self._chosen[iteration] = {k: v for k, v in record.items() if k != "log"}
        return picked

    def run_job(self, job: SelectorJob) -> tuple[SelectorRun, str | None]:
        """The selector's run and the node it ran on; an executor that fails (a cluster
        error) is one more reason to fall back, never the end of the run."""
        try:
            done = self.executor.submit(job)
        except Exception as e:
            return SelectorRun(None, "sandbox", f"{type(e).__name__}: {e}"[:200]), None
        return done.value, done.node

    def results(self, agent_ids: Sequence[str]) -> dict[str, dict[str, bool]]:
        return {
            a: {e.task_id: bool(e.resolved) for e in self.archive.evaluations(a)} for a in agent_ids
        }

    def instructions(self, files: Mapping[str, bytes]) -> tuple[str, str]:
        """The parent's own instructions (or the shipped ones if it has none) and whose."""
        own = files.get(INSTRUCTIONS, b"").decode(errors="replace").strip()
        if own:
            return own, "agent"
        return procedure_files()[INSTRUCTIONS].decode(), "shipped"

    def mutate(self, ctx: MutationContext) -> Mutation:
        from dgm.mutators.self_modify import modify_itself

        with self._lock:
            selection = self._chosen.pop(ctx.iteration, None)
        text, source = self.instructions(ctx.files)
        statement = f"{text}\n\n{evaluation_text(ctx.parent_id, ctx.evaluations, self.max_chars)}\n"
        origin: dict[str, Any] = {
            "operator": self.name,
            "selection": selection,
            "instructions": source,
            "problem_statement": statement,
        }
        return modify_itself(self.runner, ctx, statement, origin)


def build(needs: OperatorNeeds) -> HyperModifier:
    """The dgmh operator (a dgm.mutators.factories.OperatorFactory)."""
    from dgm.errors import UserError
    from dgm.mutators.factories import executor, self_modify_runner
    from sandbox import Limits

    c = needs.config
    if needs.archive is None or needs.run_id is None:
        raise UserError("the dgmh operator needs the run's archive")
    limits = Limits(
        timeout_s=c.dgmh.selector_timeout_s,
        memory_mb=c.dgmh.selector_memory_mb,
        cpus=1.0,
        output_cap_bytes=64 * 1024,
        copy_out_cap_mb=1,
    )
    return HyperModifier(
        self_modify_runner(needs),
        executor(needs),
        needs.archive,
        needs.run_id,
        c.sandbox,
        limits,
        SELECTORS[c.selector],
        c.selector,
        max_chars=c.prompt_chars,
    )


# ---- what reports show -------------------------------------------------------------------------
def selection_counts(payloads: Sequence[Mapping[str, object]]) -> Counter[str]:
    """Parent choices by who made them: 'agent', or the fallback's reason's kind. A choice
    redone after a resume counts once (the last record of its iteration)."""
    last = {p.get("iteration"): p for p in payloads}
    return Counter(str(p.get("kind") or "agent") for p in last.values())


def describe_selection(counts: Counter[str], fallback: str) -> str | None:
    """'5 by agents' selectors, 2 by score_child_prop (1 crashed, 1 invalid)'; None: none."""
    if not counts:
        return None
    own = counts.get("agent", 0)
    fell = {k: n for k, n in counts.items() if k != "agent"}
    text = f"{own} by agents' selectors, {sum(fell.values())} by {fallback}"
    if fell:
        text += " (" + ", ".join(f"{n} {k}" for k, n in sorted(fell.items())) + ")"
    return text


def selection_text(payloads: Sequence[Mapping[str, object]], fallback: str) -> str | None:
    """The `parent_selected` events' payloads for people, or None if there are none."""
    return describe_selection(selection_counts(payloads), fallback)


def selection_line(archive: Archive, run_id: str) -> str | None:
    """The run's parent choices for a summary, or None for a run without DGM-H."""
    events = archive.events(run_id, kinds=[EVENT])
    if not events:
        return None
    fallback = str(archive.run(run_id).config.get("selector", "score_child_prop"))
    return selection_text([e.payload for e in events], fallback)
