"""A run you can account for, before and after: the plan `dgm run --dry-run` prints (what
the run will evaluate and call, and an estimate of what it costs), the budget's 50% and 80%
marks announced once each during a run, and the manifest of a run that ran (what it was,
exactly: config, versions, hashes of its inputs, image, times, why it stopped).

The estimate's rule, stated so a user can check it: every model call counts as a prompt of
`prompt_chars` characters (4 characters a token) plus OUTPUT_TOKENS tokens of answer, priced
by litellm's price map; a model without a price (local, scripted, replay, self-hosted) costs
nothing. Calls per job are the config's caps (max_steps, retries), so it is an upper bound
for the calls and a rough guide for the dollars.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archive.info import objective
from dgm.redact import redact

if TYPE_CHECKING:
    from archive import Archive
    from dgm.config import RunConfig
    from dgm.target import Target

CHARS_PER_TOKEN = 4
OUTPUT_TOKENS = 500  # tokens of one answer, in the estimate
MARKS = (0.5, 0.8)  # fractions of budget_usd announced once each
FREE_PREFIXES = ("local", "scripted:", "replay:")
# Calls that make one child, by operator (beyond the config's caps, which they use).
REEVO_CALLS_PER_CHILD = 2  # one generation, one reflection (short- or long-term)


# -- the plan (dgm run --dry-run) -------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    lines: list[str]
    calls: int | None  # None: unbounded (a cap is unset)
    tokens: int | None
    usd: float | None  # None: the model has no known price


def calls_per_child(config: RunConfig) -> int | None:
    """The most model calls that make one child."""
    if config.operator == "self_modify":
        steps = config.self_modify_limits.max_steps
        return None if steps is None else 1 + config.diagnosis_retries + steps
    if config.operator == "dgmh":  # no diagnosis: the parent agent's own run only
        return config.self_modify_limits.max_steps
    if config.operator == "diff":
        return config.diff_max_tries
    if config.operator == "reevo":
        return REEVO_CALLS_PER_CHILD
    if config.operator == "stop":
        b = config.stop
        return b.runs * b.lm_calls * b.samples_per_call
    return None


def price_per_call(model: str, prompt_chars: int) -> float | None:
    """USD of one call under the module's rule; 0 for a free model, None for no price."""
    if model.startswith(FREE_PREFIXES):
        return 0.0
    tokens_in = prompt_chars // CHARS_PER_TOKEN
    if model.startswith("openai/"):  # the same price as litellm's, without importing it (seconds)
        from dgm.llm.prices import openai_price

        return openai_price(model, tokens_in, OUTPUT_TOKENS)
    from dgm.llm.upstream import price

    return price(model, tokens_in, OUTPUT_TOKENS)


def seed_suite_tasks(config: RunConfig, plan: Target) -> int:
    """The suite's tasks outside every stage, which the seed runs under `seed_tasks`."""
    from dgm.loop import seed_on_suite

    if not seed_on_suite(config):
        return 0
    staged = {t for s in plan.stages for t in s.task_ids}
    return sum(t not in staged for t in plan.tasks)


def dry_run(config: RunConfig, plan: Target) -> Plan:
    """What the run would do, as lines for people, with its totals."""
    assert config.model is not None  # resolved
    children = config.max_iterations
    if config.max_fe is not None:  # ReEvo's budget: the seed's evaluation and one per child
        children = min(children, config.max_fe - 1)
    agents = 1 + children
    lines = [
        f"model {config.model}; operator {config.operator}, selector {config.selector}, "
        f"{config.workers} worker(s), seed {config.seed}",
        f"sandbox {config.sandbox}; executor {config.executor}"
        + (f" at {config.ray_address}" if config.ray_address else ""),
    ]
    if plan.problem is not None:
        evals = agents
        lines.append(
            f"problem {plan.problem.name} ({plan.problem.layout}, {plan.problem.direction}): "
            f"one evaluation per program, {evals} in all (the seed + {children} children)"
        )
        per_eval_calls = 0
    else:
        sizes = [(s.name, len(s.task_ids), s.threshold) for s in plan.stages]
        # a later stage's tasks include the earlier ones': each task is evaluated once
        first, every = sizes[0][1], len({t for s in plan.stages for t in s.task_ids})
        stages = ", ".join(
            f"{name} {n} task(s)" + (f" if it scores >= {t:g}" if i else "")
            for i, (name, n, t) in enumerate(sizes)
        )
        lines.append(f"suite {config.suite}, per agent: {stages}")
        evals = agents * every
        lines.append(
            f"evaluations: {agents * first} to {evals} ({agents} agents: the seed + "
            f"{children} children)"
        )
        if extra := seed_suite_tasks(config, plan):
            evals += extra
            lines.append(f"the seed also runs the suite's other {extra} task(s), once (seed_tasks)")
        steps = config.agent_limits.max_steps
        per_eval_calls = steps if steps is not None else -1
    if config.max_evaluations is not None and config.max_evaluations < evals:
        evals = config.max_evaluations
        lines.append(f"max_evaluations stops it at {evals} evaluations")
    per_child = calls_per_child(config)
    calls: int | None
    if per_child is None or per_eval_calls < 0:
        calls = None
        lines.append(
            "LLM calls: no bound (set agent_limits.max_steps / self_modify_limits.max_steps)"
        )
    else:
        calls = children * per_child + evals * per_eval_calls
        lines.append(
            f"LLM calls: at most {calls} ({per_child} per child"
            + (f", {per_eval_calls} per evaluation" if per_eval_calls else "")
            + ")"
        )
    tokens = (
        None if calls is None else calls * (config.prompt_chars // CHARS_PER_TOKEN + OUTPUT_TOKENS)
    )
    unit = price_per_call(config.model, config.prompt_chars)
    usd = None if calls is None or unit is None else calls * unit
    if tokens is not None:
        lines.append(
            f"tokens: about {tokens:,} (rule: each call {config.prompt_chars // CHARS_PER_TOKEN:,} "
            f"in = prompt_chars/{CHARS_PER_TOKEN}, {OUTPUT_TOKENS} out)"
        )
    if unit is None:
        lines.append(f"dollars: unknown (no price known for {config.model})")
    elif unit == 0:
        lines.append(f"dollars: 0 ({config.model} is not billed)")
    elif usd is not None:
        lines.append(f"dollars: about ${usd:.2f} (litellm's price for {config.model})")
    if config.budget_usd is not None:
        lines.append(f"budget: stops at ${config.budget_usd:g} (50% and 80% announced)")
    if config.wall_clock_s is not None:
        lines.append(f"wall clock: no new work after {config.wall_clock_s:g} s")
    return Plan(lines, calls, tokens, usd)


# -- the budget's marks -------------------------------------------------------------------------


def crossed(spent: float, budget: float | None, announced: set[float]) -> list[float]:
    """The marks (MARKS) `spent` has reached that were not announced yet; adds them."""
    if not budget:
        return []
    new = [m for m in MARKS if spent >= m * budget and m not in announced]
    announced.update(new)
    return new


# -- the manifest -------------------------------------------------------------------------------


def tree_sha256(files: Mapping[str, bytes]) -> str:
    """One hash of a tree of files: its paths and contents, in path order."""
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.encode() + b"\0" + hashlib.sha256(files[path]).digest())
    return h.hexdigest()


def lock_sha256() -> str | None:
    """sha256 of requirements.lock beside the dgm package (a checkout), if there is one."""
    lock = Path(__file__).resolve().parents[1] / "requirements.lock"
    return hashlib.sha256(lock.read_bytes()).hexdigest() if lock.is_file() else None


def evaluator_sha256(config: Mapping[str, Any]) -> str | None:
    """A problem's evaluator files (all it puts in the sandbox but the program), or a
    suite's graded tasks (ids and test patches); None when it cannot be read any more."""
    try:
        if config.get("problem"):
            from dgm.problem_run import load_problem

            p = load_problem(str(config["problem"]))
            files = {rel: f.read_bytes() for rel, f in p.files.items()}
            files["(command)"] = json.dumps(p.command).encode()
            return tree_sha256(files)
        from benchmarks.suites import open_suite

        suite = open_suite(str(config.get("suite")))
        try:
            return tree_sha256(
                {
                    t.instance_id: (
                        t.test_patch + json.dumps(t.FAIL_TO_PASS + t.PASS_TO_PASS)
                    ).encode()
                    for t in suite.tasks()
                }
            )
        finally:
            suite.close()
    except Exception:  # noqa: BLE001 - a manifest of an old run names what it cannot hash
        return None


def sandbox_image(config: Mapping[str, Any]) -> dict[str, str | None]:
    """The image the run's sandboxes use and its id, as the engine has it now."""
    if config.get("sandbox") == "local":
        return {"name": "local (bubblewrap, the host's own files)", "id": None}
    try:
        from sandbox import image
        from sandbox.docker_backend import connect

        tag = image.image_tag()
        if config.get("problem"):
            from dgm.problem_run import load_problem

            p = load_problem(str(config["problem"]))
            if p.requirements or p.apt:
                tag = image.layer_tag(tag, p.requirements, p.apt)
        return {"name": tag, "id": str(connect().images.get(tag).id)}
    except Exception:  # noqa: BLE001 - no engine, or the image was removed since
        return {"name": None, "id": None}


def iso(ts: float | None) -> str | None:
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def redacted(value: Any) -> Any:
    """The config with every secret-looking string masked (dgm.redact's rules)."""
    if isinstance(value, dict):
        return {k: redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redacted(v) for v in value]
    return redact(value) if isinstance(value, str) else value


def manifest(archive: Archive, run_id: str) -> dict[str, Any]:
    """What the run was, exactly: two runs with the same manifest differ only in what their
    models answered."""
    import dgm
    from dgm.config import named_models

    run = archive.run(run_id)
    config = dict(run.config or {})
    agents = archive.agents(run_id)
    seed = next((a for a in agents if a.parent_id is None), None)
    models = sorted(
        set(named_models(config).values())
        | {c.model for c in archive.llm_calls(run_id, bodies=False) if c.model}
    )
    stops = archive.events(run_id, kinds=["session_stopped", "session_failed"])
    best = archive.best_agent(run_id)
    return {
        "run": run.id,
        "name": redact(run.name),
        "kind": run.kind,
        "status": run.status,
        "stop_reason": stops[-1].payload.get("reason")
        if stops
        else (run.totals or {}).get("reason"),
        "started_at": iso(run.created_at),
        "finished_at": iso(run.finished_at),
        "dgm_version": dgm.__version__,
        "lock_sha256": lock_sha256(),
        "models": models,
        "seed_sha256": None if seed is None else tree_sha256(archive.agent_files(seed.id)),
        "evaluator_sha256": evaluator_sha256(config),
        "sandbox_image": sandbox_image(config),
        "best": None
        if best is None
        else {
            "agent": best.id,
            "score": objective(best.score, run.direction),
            "direction": run.direction,
        },
        "config": redacted(config),
    }
