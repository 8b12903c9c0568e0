"""Evaluate one agent on one task: run it in a sandbox, take its diff, grade the diff in
a second, fresh sandbox, and (optionally) record the result in the archive.

The agent run follows the agent contract (dgm/seed_agent/__init__.py): the agent's files
at /agent, the repository at /testbed, the problem at /task/problem.md, the gateway socket
mounted and a session's token in the environment, `python -m agent ...` under a deadline.
The harness, not the agent, takes the diff of /testbed, and it is graded where the agent
never was, so an agent cannot see or touch the hidden tests.

This is the body of an evaluation job; the engine's Evaluator that submits the jobs to an
executor and records their results is dgm/executors/evaluation.py's `SuiteEvaluator`.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict, Field

from archive.info import ErrorKind
from benchmarks.grading import GradeResult
from benchmarks.suites import Suite
from benchmarks.task import Task
from dgm.agent_contract import SETUP_DIR, agent_files, diff_script, launch, setup_script
from dgm.agent_format import agent_backend
from sandbox import EngineUnavailable, Limits, SandboxBackend, SandboxError, Status

if TYPE_CHECKING:
    from archive import Archive
    from dgm.llm import Session, Usage

# How an agent's run ended -> the evaluation's error kind (exiting non-zero: agent_crash).
AGENT_ERRORS: dict[Status, ErrorKind] = {
    Status.timeout: "agent_timeout",
    Status.oom: "agent_oom",
    Status.killed: "agent_killed",
    Status.sandbox_error: "sandbox_error",
}


class EvalLimits(BaseModel):
    """How long and how big one evaluation may be."""

    model_config = ConfigDict(frozen=True)

    agent_timeout_s: float = Field(
        default=1800.0, gt=0, description="Deadline of the agent's run; the sandbox kills it then."
    )
    grade_timeout_s: float = Field(
        default=600.0, gt=0, description="Deadline of the test run when grading."
    )
    max_steps: int | None = Field(
        default=None, ge=1, description="Passed to the agent as DGM_AGENT_MAX_STEPS."
    )
    max_tokens: int | None = Field(
        default=None, ge=1, description="Passed to the agent as DGM_AGENT_MAX_TOKENS."
    )
    max_tries: int | None = Field(
        default=None,
        ge=1,
        description="At most this many of the suite's tries; unset: all of them.",
    )
    sandbox: Limits = Field(
        default_factory=Limits,
        description="Memory, CPU, process and disk limits of both sandboxes.",
    )


class EvalResult(BaseModel):
    """One agent x task x attempt."""

    task_id: str
    attempt: int
    resolved: bool
    error_kind: ErrorKind | None = None
    patch: str = ""
    grade: GradeResult | None = None
    trajectory: str = ""
    agent_log: str = ""
    agent_exit_code: int | None = None
    tries: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    duration_s: float = 0.0
    evaluation_id: str | None = None


class GatewayLike(Protocol):
    """What an evaluation asks of the gateway (`dgm.llm.Gateway`, started)."""

    socket_path: str | None

    def open_session(self, *, agent_id: str | None, task_id: str | None, purpose: str) -> Session:
        """A caller identity for one run of an agent (the gateway's session)."""
        ...

    def close_session(self, session: Session) -> None: ...

    def usage(self, session_or_run: Session | str | None = None) -> Usage: ...


def gateway_socket(gateway: GatewayLike) -> Path:
    """The socket a sandbox mounts to reach the gateway."""
    if gateway.socket_path is None:
        raise RuntimeError("start the gateway (use it as a context manager) before evaluating")
    return Path(gateway.socket_path)


@dataclass
class AgentRun:
    """What one run of an agent left: its diff of /testbed, trajectory, log and exit code."""

    patch: str = ""
    trajectory: str = ""
    log: str = ""
    exit_code: int | None = None
    error_kind: ErrorKind | None = None


def run_agent(
    files: dict[str, bytes],
    problem: str,
    previous_patch: str,
    repo_dir: Path | None,
    backend: SandboxBackend,
    gateway: GatewayLike,
    session: Session,
    limits: EvalLimits,
) -> AgentRun:
    """One agent run in its own sandbox: its diff, trajectory, log and exit code."""
    start = launch(files, session.env, limits.agent_timeout_s, limits.max_steps, limits.max_tokens)
    backend = agent_backend(files, backend)  # a DGM-format agent's packages: a layer
    out = AgentRun()
    with backend.open(
        limits=limits.sandbox, env=start.env, gateway_socket=gateway_socket(gateway)
    ) as sb:
        if repo_dir is not None:
            sb.put_dir(repo_dir, "/testbed")
        sb.put_files(files, "/agent")
        sb.put_files({"problem.md": problem.encode()}, "/task")
        harness = {
            **start.files,
            **({"previous.patch": previous_patch.encode()} if previous_patch else {}),
        }
        if harness:
            sb.put_files(harness, SETUP_DIR)
        setup = sb.run(["bash", "-c", setup_script(bool(previous_patch))], timeout_s=120)
        if setup.exit_code != 0:
            out.error_kind = "sandbox_error"
            out.log = f"harness setup failed:\n{setup.stdout}{setup.stderr}"
            return out
        res = sb.run(start.command, timeout_s=limits.agent_timeout_s, workdir="/testbed")
        out.exit_code = res.exit_code
        out.log = res.stdout + ("\n" + res.stderr if res.stderr else "")
        out.error_kind = AGENT_ERRORS.get(res.status)
        if out.error_kind is None and res.exit_code != 0:
            out.error_kind = "agent_crash"
        diff = sb.run(["bash", "-c", diff_script()], timeout_s=120)
        if diff.exit_code == 0:
            out.patch = diff.stdout
        else:
            out.error_kind = out.error_kind or "sandbox_error"
            out.log += f"\n[harness: git diff failed: {diff.stderr.strip()[:500]}]"
        try:
            traj = sb.get_files(start.trajectory)
            out.trajectory = next(iter(traj.values()), b"").decode(errors="replace")
        except EngineUnavailable:
            raise
        except SandboxError as e:
            out.log += f"\n[harness: no {start.trajectory}: {e}]"
    return out


def evaluate(
    agent: Path | Mapping[str, bytes],
    task: Task,
    suite: Suite,
    backend: SandboxBackend,
    gateway: GatewayLike,
    *,
    limits: EvalLimits | None = None,
    archive: Archive | None = None,
    agent_id: str | None = None,
    stage: str = "full",
    attempt: int = 1,
    repo_dir: Path | None = None,
) -> EvalResult:
    """Run `agent` on `task` and grade it; record it when `archive` and `agent_id` are given.

    repo_dir: the task's repository already built on the host (saves rebuilding it per
    attempt); built here into a temp dir otherwise. Sandbox failures become the result's
    `error_kind`, never an exception.
    """
    started = time.monotonic()
    files = agent_files(agent)
    try:
        backend = suite.backend(task, backend)  # a SWE-bench task brings its own image
    except SandboxError as e:
        result = EvalResult(
            task_id=task.instance_id,
            attempt=attempt,
            resolved=False,
            error_kind="sandbox_error",
            agent_log=f"{type(e).__name__}: {e}",
        )
    else:
        with tempfile.TemporaryDirectory(prefix="dgm-eval-") as tmp:
            if repo_dir is None:
                built = Path(tmp) / "repo"
                repo_dir = built if suite.build_repo(task, built) else None
            result = _evaluate(
                files,
                task,
                suite,
                backend,
                gateway,
                limits or EvalLimits(),
                agent_id,
                attempt,
                repo_dir,
            )
    result.duration_s = time.monotonic() - started
    if archive is not None and agent_id is not None:
        result.evaluation_id = record(archive, agent_id, stage, result)
    return result


def _evaluate(
    files: dict[str, bytes],
    task: Task,
    suite: Suite,
    backend: SandboxBackend,
    gateway: GatewayLike,
    limits: EvalLimits,
    agent_id: str | None,
    attempt: int,
    repo_dir: Path | None,
) -> EvalResult:
    problem, patch, logs = task.problem_statement, "", []
    result = EvalResult(task_id=task.instance_id, attempt=attempt, resolved=False)
    trajectories = []
    for attempt_try in range(min(suite.tries, limits.max_tries or suite.tries)):
        session = gateway.open_session(agent_id=agent_id, task_id=task.instance_id, purpose="agent")
        try:
            run = run_agent(files, problem, patch, repo_dir, backend, gateway, session, limits)
        except EngineUnavailable:  # the engine failed, not the agent: the caller may run it again
            raise
        except (SandboxError, OSError) as e:
            run = AgentRun(patch, log=f"{type(e).__name__}: {e}", error_kind="sandbox_error")
        finally:
            usage = gateway.usage(session)
            gateway.close_session(session)
        result.tokens += usage.tokens
        result.cost_usd += usage.cost_usd
        result.tries = attempt_try + 1
        patch = run.patch or patch
        trajectories.append(run.trajectory)
        logs.append(run.log)
        result.agent_exit_code, result.patch = run.exit_code, patch
        grade = suite.grade(
            task, patch, backend, repo_dir, limits=limits.sandbox, timeout_s=limits.grade_timeout_s
        )
        result.grade, result.resolved = grade, grade.resolved
        overflowed: ErrorKind | None = (
            "context_length" if usage.context_overflows and not grade.resolved else None
        )
        result.error_kind = run.error_kind or overflowed or grade.error_kind
        if grade.resolved or run.error_kind == "sandbox_error":
            break
        problem = suite.retry_problem(task, grade)
    result.trajectory = (
        trajectories[0]
        if len(trajectories) == 1
        else json.dumps({"tries": [_loads(t) for t in trajectories]})
    )
    result.agent_log = (
        "\n\n".join(f"===== try {i + 1} =====\n{log}" for i, log in enumerate(logs))
        if len(logs) > 1
        else logs[0]
    )
    return result


def _loads(text: str) -> object:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def record(
    archive: Archive, agent_id: str, stage: str, result: EvalResult, node: str | None = None
) -> str:
    """Store the result as one archive evaluation (`node`: the executor node it ran on,
    None for this machine); returns its id."""
    grade = result.grade
    logs = f"===== agent =====\n{result.agent_log}\n\n===== grading =====\n{grade.log if grade else ''}"
    return archive.record_evaluation(
        agent_id=agent_id,
        task_id=result.task_id,
        attempt=result.attempt,
        stage=stage,
        resolved=result.resolved,
        score=1.0 if result.resolved else 0.0,
        tests=grade.tests if grade else {},
        duration_s=result.duration_s,
        patch=result.patch,
        logs=logs,
        error_kind=result.error_kind,
        trajectory=result.trajectory,
        node=node,
    )
