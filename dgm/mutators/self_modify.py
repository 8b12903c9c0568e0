"""DGM's self-modification operator: the parent agent improves its own code.

1. Choose a failure of the parent by DGM's rules: SWE-bench's (`focus.choose_focus`) or,
   with `polyglot`, its polyglot ones (`focus.choose_polyglot_focus`) over the tasks of the
   parent's selection score (`pool` for a child, `seed_pool` for the seed).
2. The LLM diagnoses it into a validated `Proposal` (`diagnosis.diagnose`, with retries),
   seeing what DGM's diagnosis sees: the agent's code and its lineage's patches, and the
   task's log, issue, predicted patch, hidden test patch and test results.
3. The *parent agent itself* runs in a fresh sandbox with its own code both as the agent
   (/agent) and as the repository to fix (/testbed, a one-commit git repo), and the proposal
   as its problem statement. The files it leaves in /testbed are the child; if they equal
   the parent's, there is no child (DGM's empty patch, self_improve_step.py:367-379).

Step 3 is untrusted code at work, so it runs only in the sandbox, reaching the LLM through
a gateway session attributed to the parent (purpose `self_modify`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from dgm.agent_contract import SETUP_DIR, Launch, is_agent_file, launch
from dgm.agent_format import agent_backend
from dgm.evaluator import GatewayLike, gateway_socket
from dgm.mutators import Chat, Mutation, MutationContext
from dgm.mutators.diagnosis import DiagnosisFailed, diagnose, self_improvement_problem
from dgm.mutators.focus import Focus, choose_focus, choose_polyglot_focus

if TYPE_CHECKING:
    from benchmarks.task import Task
    from dgm.llm import Session
    from sandbox import Limits, SandboxBackend

GIT_INIT = (
    "cd /testbed && git init -q && git add -A && "
    "git -c user.email=dgm@localhost -c user.name=dgm commit -qm parent --no-gpg-sign"
)


def agent_source(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """The files that make up an agent, without git metadata, caches or bytecode."""
    return {p: v for p, v in files.items() if is_agent_file(p)}


@dataclass
class SelfModifyRun:
    """What the parent's run on its own code left behind."""

    files: dict[str, bytes]
    status: str
    log: str
    trajectory: str


class SelfModifyRunner(Protocol):
    """Step 3: runs an agent on its own code with `problem` as its problem statement."""

    def run(self, agent_id: str, files: Mapping[str, bytes], problem: str) -> SelfModifyRun: ...


@dataclass
class SelfModifier:
    """Runs an agent on its own code in a sandbox (step 3)."""

    backend: SandboxBackend
    gateway: GatewayLike  # started
    limits: Limits
    max_steps: int | None = None

    def launch(self, files: Mapping[str, bytes], session: Session) -> Launch:
        return launch(files, session.env, self.limits.timeout_s, self.max_steps, self_improve=True)

    def run(self, agent_id: str, files: Mapping[str, bytes], problem: str) -> SelfModifyRun:
        session = self.gateway.open_session(agent_id=agent_id, task_id=None, purpose="self_modify")
        start = self.launch(files, session)
        try:
            with agent_backend(files, self.backend).open(
                self.limits, env=start.env, gateway_socket=gateway_socket(self.gateway)
            ) as sb:
                if start.files:
                    sb.put_files(start.files, SETUP_DIR)
                sb.put_files(dict(files), "/agent")
                sb.put_files(dict(files), "/testbed")
                sb.put_files({"problem.md": problem.encode()}, "/task")
                init = sb.run(GIT_INIT, timeout_s=120)
                if not init.ok:
                    raise RuntimeError(f"could not prepare /testbed: {init.stderr[-500:]}")
                # Not from /testbed: there the agent's own modules (e.g. agent.py) would
                # shadow the /agent package that `python -m agent` must import.
                result = sb.run(start.command, timeout_s=self.limits.timeout_s, workdir="/")
                after = agent_source(sb.get_files("/testbed"))
                out = sb.get_files("/out")
        finally:
            self.gateway.close_session(session)
        trajectory = out.get(start.trajectory.removeprefix("/out/"), b"").decode(errors="replace")
        log = (result.stdout[-4000:] + "\n" + result.stderr[-4000:]).strip()
        return SelfModifyRun(after, result.status.value, log, trajectory)


@dataclass
class SelfModifyMutator:
    runner: SelfModifyRunner
    diagnosis_retries: int = 3
    max_chars: int = 16000
    diagnosis_chat: Chat | None = None  # the diagnosis's own model and temperature; else ctx.chat
    tasks: Mapping[str, Task] = field(default_factory=dict)  # the suite's, for the test patch
    lineage: Callable[[str], Sequence[str]] = lambda agent_id: ()  # patches, seed to agent
    name: str = "self_modify"
    polyglot: bool = False  # DGM's polyglot focus rules (config `focus`)
    pool: frozenset[str] | None = None  # a child's selection-score tasks (None: all it ran)
    seed_pool: frozenset[str] | None = None  # the seed's

    def choose(self, ctx: MutationContext, lineage: Sequence[str]) -> Focus | None:
        if not self.polyglot:
            return choose_focus(ctx.evaluations, ctx.rng)
        pool = self.pool if lineage else self.seed_pool  # only the seed has no patch behind it
        return choose_polyglot_focus(ctx.evaluations, ctx.rng, pool)

    def mutate(self, ctx: MutationContext) -> Mutation:
        lineage = list(self.lineage(ctx.parent_id))
        focus = self.choose(ctx, lineage)
        if focus is None:
            return Mutation(
                None,
                {"operator": self.name},
                "no failure to learn from: the parent has no evaluation of its selection score's tasks"
                if self.polyglot
                else "no failure to learn from: no special case was drawn and the parent has no "
                "unresolved task with a non-empty patch",
            )
        origin: dict[str, Any] = {
            "operator": self.name,
            "focus": {"kind": focus.kind, "task_id": focus.task_id},
        }
        evaluation = next((e for e in ctx.evaluations if e.task_id == focus.task_id), None)
        problem = ctx.problem_statements.get(focus.task_id or "", "")
        try:
            proposal, tries = diagnose(
                self.diagnosis_chat or ctx.chat,
                ctx.files,
                focus,
                evaluation,
                problem,
                agent_id=ctx.parent_id,
                retries=self.diagnosis_retries,
                max_chars=self.max_chars,
                task=self.tasks.get(focus.task_id or ""),
                lineage=lineage,
            )
        except DiagnosisFailed as e:
            return Mutation(None, origin, str(e))
        statement = self_improvement_problem(proposal)
        origin.update(
            diagnosis=proposal.model_dump(), diagnosis_tries=tries, problem_statement=statement
        )
        return modify_itself(self.runner, ctx, statement, origin)


def modify_itself(
    runner: SelfModifyRunner, ctx: MutationContext, statement: str, origin: dict[str, Any]
) -> Mutation:
    """Step 3: the parent agent on its own code with `statement` as its problem; the child
    is what it left, with its run in `origin`."""
    source = agent_source(ctx.files)
    run = runner.run(ctx.parent_id, source, statement)
    origin.update(
        self_modify_status=run.status,
        self_modify_log=run.log[-2000:],
        self_modify_trajectory=run.trajectory[-20000:],
    )
    if run.files == source:  # DGM makes no child of an empty patch (self_improve_step.py:367-379)
        return Mutation(None, origin, "the self-modification changed nothing: no child")
    return Mutation(run.files, origin)
