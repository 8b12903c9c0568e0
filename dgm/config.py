"""The run configuration: what a user types (a preset YAML plus command-line overrides).

`load_config` turns a preset name or a YAML path plus overrides into a validated
`RunConfig`; an invalid one becomes a one-line `UserError` naming the field and the fix.
The validated config is stored with the run in the archive, so a resumed run uses exactly
the configuration it started with.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from benchmarks.problems.stop import StopBudgets
from dgm.agent_format import AgentFormatSettings
from dgm.errors import UserError, field_range, invalid_value, model_of, yaml_problem
from dgm.mutators.operators import OPERATORS
from dgm.mutators.operators import describe as describe_operators
from dgm.redact import redact
from dgm.selectors import SELECTORS
from sandbox.folders import read_utf8
from sandbox.protocol import Cpus, MemoryMb, Seconds, not_bool

if TYPE_CHECKING:
    import sandbox

PRESETS_DIR = Path(__file__).parent / "presets"

# Upper bounds: past them a value means "none" or overflows where it is stored (a seed is a
# 64-bit integer in the archive and in numpy's generators).
MAX_SEED = 2**63 - 1
MAX_COUNT = 10**9  # iterations, evaluations, steps
MAX_PROMPT_CHARS = 10**8

# Bounds several fields share, one home each (as sandbox.protocol's Seconds):
# `temperature: Temperature = Field(default=..., description=...)`.
Temperature = Annotated[
    float, BeforeValidator(not_bool), Field(ge=0.0, le=2.0, allow_inf_nan=False)
]  # an LLM's sampling temperature
Fraction = Annotated[
    float, BeforeValidator(not_bool), Field(ge=0.0, le=1.0, allow_inf_nan=False)
]  # a share, a score or a similarity, 0..1
Tries = Annotated[int, BeforeValidator(not_bool), Field(ge=1, le=20)]  # attempts at one step
Count = Annotated[int, BeforeValidator(not_bool), Field(ge=1, le=MAX_COUNT)]  # steps, evaluations
Dollars = Annotated[
    float, BeforeValidator(not_bool), Field(gt=0, allow_inf_nan=False)
]  # a spending cap, in US dollars


class Stage(BaseModel):
    """One stage of staged evaluation."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Stage name, shown in reports and stored with stage scores.")
    tasks: str | list[str] = Field(
        description="The suite's named subset (e.g. 'small', 'medium', 'full') or explicit task ids."
    )
    threshold: Fraction = Field(
        default=0.0,
        description=(
            "Score an agent needs on the stages before this one to enter it. "
            "Ignored for the first stage, which every admitted child runs."
        ),
    )

    @field_validator("tasks")
    @classmethod
    def _names_tasks(cls, value: str | list[str]) -> str | list[str]:
        names = [value] if isinstance(value, str) else value
        if not names or not all(n.strip() for n in names):  # [] would mean every task
            raise ValueError("name a subset (small, medium, full) or give task ids")
        return value


class Limits(BaseModel):
    """Resource limits of one sandboxed agent run (evaluation or self-modification)."""

    model_config = ConfigDict(extra="forbid")

    timeout_s: Seconds = Field(
        default=600.0, description="Wall-clock deadline of one agent run, in seconds."
    )
    memory_mb: MemoryMb = Field(default=2048, description="Memory limit of the sandbox, in MiB.")
    cpus: Cpus = Field(default=1.0, description="CPU quota of the sandbox, in cores.")
    max_steps: Count | None = Field(
        default=None,
        description="Most steps the agent may take (DGM_AGENT_MAX_STEPS); the agent's own default if unset.",
    )

    def sandbox(self) -> sandbox.Limits:
        """The sandbox's limits for such a run (its deadline, memory and CPU)."""
        from sandbox import Limits as SandboxLimits

        return SandboxLimits(timeout_s=self.timeout_s, memory_mb=self.memory_mb, cpus=self.cpus)


class PolyglotSettings(BaseModel):
    """How agents are evaluated on a polyglot suite; unset: Aider's protocol (two tries) and
    the run's agent_limits. DGM's polyglot harness gives one try of 10 minutes, and the
    tests 2 minutes (polyglot/harness.py:112, 182)."""

    model_config = ConfigDict(extra="forbid")

    tries: int | None = Field(
        default=None,
        ge=1,
        le=10,
        description="Tries per task (Aider's: 2, the second with the test output).",
    )
    timeout_s: Seconds | None = Field(
        default=None, description="The agent's deadline per try; unset: agent_limits.timeout_s."
    )
    test_timeout_s: Seconds | None = Field(
        default=None, description="The tests' deadline when grading; unset: 600 s."
    )

    _numbers = field_validator("tries", mode="before")(not_bool)


class ReEvoSettings(BaseModel):
    """ReEvo's GA (the `reevo` operator); its reference defaults (cfg/config.yaml)."""

    model_config = ConfigDict(extra="forbid")

    pop_size: int = Field(
        default=10, ge=1, description="Crossovers per generation (ReEvo's pop_size)."
    )
    init_pop_size: int = Field(
        default=30, ge=2, description="Programs sampled from the seed before the first generation."
    )
    mutation_rate: float = Field(
        default=0.5,
        gt=0.0,
        le=10.0,
        description="Elitist mutations per generation, as a fraction of pop_size (at least one).",
    )
    reflector_model: str | None = Field(
        default=None,
        description="Model of the short- and long-term reflections (same forms as `model`); the run's `model` if unset.",
    )


class HGMSettings(BaseModel):
    """HGM's scheduler (dgm/hgm.py; metauto-ai/HGM config.yaml's defaults)."""

    model_config = ConfigDict(extra="forbid")

    alpha: float = Field(
        default=0.6,
        gt=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="Expand while N ** alpha >= (agents - 1) + pending expansions, N the task evaluations dispatched.",
    )
    min_results_for_final: Count = Field(
        default=10,
        description="Task results an agent needs (or every task, if fewer) to be returned as the run's best.",
    )

    _numbers = field_validator("alpha", mode="before")(not_bool)


class RaceSettings(BaseModel):
    """Racing (dgm/race.py; docs/engine.md, "Racing"): children raced against the
    incumbent task by task, dropped early when behind, screened by a sequential test,
    accepted on every task."""

    model_config = ConfigDict(extra="forbid")

    error: float = Field(
        default=0.05,
        gt=0.0,
        lt=0.5,
        allow_inf_nan=False,
        description="The screen's level: a child that reaches P(better than its parent) > 1 - error runs every task and is accepted if, over all of them, it solves more of the tasks where it and its parent differ.",
    )

    _numbers = field_validator("error", mode="before")(not_bool)


class NoveltySettings(BaseModel):
    """No evaluation spent on a duplicate (dgm/novelty.py; docs/engine.md, "Novelty"):
    before a child is evaluated it is compared with every agent of its run."""

    model_config = ConfigDict(extra="forbid")

    duplicates: bool = Field(
        default=True,
        description=(
            "Reject, without evaluating it, a child whose code equals another agent's of the "
            "run after normalising (whitespace, comments, docstrings, formatting)."
        ),
    )
    threshold: float | None = Field(
        default=None,
        gt=0.0,
        le=1.0,
        allow_inf_nan=False,
        description=(
            "Also reject a child at least this similar to another agent of the run (token "
            "similarity of the normalised code, 0..1); unset: only exact duplicates. One "
            "changed constant in a 100-token program is 0.99 similar to its parent."
        ),
    )
    judge_model: str | None = Field(
        default=None,
        description=(
            "Model (same forms as `model`) that decides, from the diff, whether a child whose "
            "similarity is from judge_from up to the threshold is new; unset: no judge."
        ),
    )
    judge_from: Fraction = Field(
        default=0.9,
        description="Lowest similarity at which judge_model is asked; below it a child is new.",
    )

    _numbers = field_validator("threshold", mode="before")(not_bool)

    @model_validator(mode="after")
    def _judge_below_threshold(self) -> NoveltySettings:
        t = self.threshold
        if self.judge_model is not None and t is not None and self.judge_from >= t:
            raise ValueError(
                f"judge_from ({self.judge_from:g}) must be below threshold ({t:g}): "
                "the judge decides the cases in between"
            )
        return self


MAX_NAME = 200  # characters of a run name: a list's line, not a document


class LineEditSettings(BaseModel):
    """The line_edit operator: one small edit of the parent's code per child."""

    model_config = ConfigDict(extra="forbid")

    max_lines: int = Field(
        default=3, ge=1, le=20, description="Most lines in a row one edit may replace."
    )
    temperature: Temperature = Field(
        default=0.8,
        description="Sampling temperature of the edit (above 0, two calls give different edits).",
    )
    tries: Tries = Field(
        default=3,
        description="Samples per child until one is usable (an edit that changes nothing or does not compile is refused).",
    )
    token_share: Fraction = Field(
        default=0.5,
        description="Share of samples that change one token of a Python line (a number, an operator, a comparison) rather than whole lines.",
    )

    _numbers = field_validator("max_lines", mode="before")(not_bool)


class DGMHSettings(BaseModel):
    """DGM-H (operator dgmh, dgm/dgmh.py): the limits of an agent's own parent selector,
    which runs in the sandbox."""

    model_config = ConfigDict(extra="forbid")

    selector_timeout_s: Seconds = Field(
        default=30.0,
        description="Deadline of one run of an agent's selector (seconds); past it the run's selector decides.",
    )
    selector_memory_mb: MemoryMb = Field(
        default=256, description="Memory limit of the selector's sandbox, in MiB."
    )


def check_api_base(value: str) -> str:
    """An OpenAI-compatible server's URL (`api_base`, `--api-base`), or ValueError saying
    what is wrong with it (without repeating it: it may hold a credential)."""
    # The config is stored in the archive (and shown by `dgm runs`): a key in the URL
    # would be a secret at rest. Keys come from the environment only.
    if redact(value, secrets=[]) != value:
        raise ValueError(
            "the URL holds a credential (a password, token or key): give it without one "
            "and put the key in OPENAI_API_KEY"
        )
    if not value.lower().startswith(("http://", "https://")):
        # else every call would fail as a connection error, retried, long after the start
        raise ValueError("give the server's URL with http:// or https://")
    return value


class RunConfig(BaseModel):
    """Everything that defines a run. Stored with the run; a resume reuses it verbatim."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_NAME,
        description="Run name shown by `dgm runs`; a generated one if unset.",
    )
    model: str | None = Field(
        default=None,
        description=(
            "LLM for diagnosis, mutation and the agents: 'local', any litellm model string, 'replay:RUN' or "
            "'scripted:FILE'. Unset: a real model when the host has OPENAI_API_KEY or ANTHROPIC_API_KEY, "
            "else the bundled 'local' model; the run stores what it resolved to."
        ),
    )
    api_base: str | None = Field(
        default=None,
        description="Base URL of an OpenAI-compatible server for `model` (vLLM, a llama.cpp server, LM Studio...).",
    )
    suite: str = Field(default="swe-mini", description="Benchmark suite the agents are scored on.")
    problem: str | None = Field(
        default=None,
        description=(
            "Evolve a program against a problem instead of agents against `suite`: a directory in dgm's, "
            "ReEvo's or OpenEvolve's layout, or a shipped problem's name. `stages` and `seed_agent` are then unused."
        ),
    )
    seed_agent: str | None = Field(
        default=None,
        description="Directory of the agent the run starts from (a package run as `python -m agent`); the bundled seed agent if unset.",
    )
    agent_format: AgentFormatSettings = Field(
        default_factory=AgentFormatSettings,
        description="The seed agent's format and, for SDK agents (DGM's), the map of their model names.",
    )
    selector: str = Field(
        default="score_child_prop",
        description=f"Parent selector: one of {', '.join(SELECTORS)}.",
        json_schema_extra={"enum": list(SELECTORS)},
    )
    operator: str = Field(
        default="self_modify",
        description=f"How a child is made: {describe_operators()}.",
        json_schema_extra={"enum": list(OPERATORS)},
    )
    workers: int = Field(
        default=2, ge=1, le=64, description="Jobs (expansions or evaluations) run at once."
    )
    max_iterations: int = Field(
        default=10,
        ge=0,
        le=MAX_COUNT,
        description="Children to create (each expansion is one iteration).",
    )
    max_fe: int | None = Field(
        default=None,
        ge=2,
        description="ReEvo's budget: function evaluations, the seed's and one per child made (or answer without code), checked at the top of a generation so generations complete; unset for no limit.",
    )
    max_evaluations: Count | None = Field(
        default=None,
        description="Stop after this many (agent, task) evaluations; unset for no limit.",
    )
    budget_usd: Dollars | None = Field(
        default=None,
        description="Stop once LLM spending reaches this many US dollars; unset for no limit.",
    )
    wall_clock_s: Seconds | None = Field(
        default=None,
        description="Stop starting new work after this many seconds of this session; unset for no limit.",
    )
    sandbox: Literal["docker", "local"] = Field(
        default="docker", description="Sandbox backend for every untrusted run."
    )
    engine_wait_s: Seconds = Field(
        default=120.0,
        description="How long a job the sandbox's engine failed (Docker went away or restarted mid-job) waits for it to answer again before the run stops; the job runs again, at most 3 times, and is never the agent's result.",
    )
    executor: Literal["local", "ray"] = Field(
        default="local",
        description="Where sandboxed jobs run: 'local' (threads on this machine) or 'ray' (tasks on the nodes of a Ray cluster that can sandbox; see docs/cluster.md).",
    )
    ray_address: str | None = Field(
        default=None,
        description="The Ray head's HOST:PORT for executor 'ray'; unset: $RAY_ADDRESS, else the cluster `dgm cluster up` started.",
    )
    seed: int = Field(
        default=0,
        ge=0,
        le=MAX_SEED,
        description="Fixes every random choice the engine makes (parents, failed tasks, operators' draws).",
    )
    stages: list[Stage] = Field(
        default_factory=lambda: [
            Stage(name="small", tasks="small"),
            Stage(name="medium", tasks="medium", threshold=0.2),
            Stage(name="full", tasks="full", threshold=0.4),
        ],
        min_length=1,
        description="Staged evaluation: each stage's tasks run only if the agent's score so far clears its threshold.",
    )
    seed_every_stage: bool = Field(
        default=False,
        description="Score the seed on every stage whatever its score (DGM scores its initial agent on all of its 60 tasks, once).",
    )
    seed_tasks: Literal["stages", "suite", "suite_on_polyglot"] = Field(
        default="stages",
        description=(
            "What the seed is scored on: its stages, or every task of the suite once (after its "
            "stages, ungated; that score is the one parents are selected on), or every task on "
            "a polyglot suite only (DGM's polyglot seed score covers the whole benchmark)."
        ),
    )
    focus: Literal["swebench", "polyglot", "by_suite"] = Field(
        default="swebench",
        description=(
            "The failure a self-modification addresses: DGM's SWE-bench rules (empty patches, "
            "stochasticity, context length, else an unresolved task), its polyglot rules (a "
            "random failed task of the parent's selection score), or the polyglot ones on a "
            "polyglot suite only."
        ),
    )
    select_on: Literal["all_stages", "first_stage", "first_stage_on_polyglot"] = Field(
        default="all_stages",
        description=(
            "The score parents are selected on: over every stage an agent ran, the first "
            "stage's only, or the first stage's when the suite is a polyglot one and every "
            "stage's otherwise (DGM's polyglot runs select on the 10-task score)."
        ),
    )
    admission: Literal["keep_all", "keep_better"] = Field(
        default="keep_all",
        description="'keep_all' admits every evaluated child as a parent candidate; 'keep_better' only those scoring at least the seed's score minus keep_better_leeway (DGM).",
    )
    keep_better_leeway: Fraction = Field(
        default=0.1,
        description="Noise allowance of keep_better, as a score difference.",
    )
    diagnosis_retries: Tries = Field(
        default=3,
        description="Tries to get a well-formed diagnosis from the LLM before the expansion fails.",
    )
    diagnosis_model: str | None = Field(
        default=None,
        description="Model of the self_modify operator's diagnosis (same forms as `model`; DGM: o1); the run's `model` if unset.",
    )
    diagnosis_temperature: Temperature = Field(
        default=0.0,
        description="Sampling temperature of the diagnosis (DGM: 1.0, so one parent and task need not always give the same proposal).",
    )
    diff_max_tries: Tries = Field(
        default=3,
        description="Tries the diff operator gets to produce SEARCH/REPLACE blocks that apply.",
    )
    diff_temperature: Temperature = Field(
        default=0.8,
        description="Sampling temperature of the diff operator (above 0, a parent chosen twice need not get the same edit; at 0 the gateway's cache repeats it).",
    )
    prompt_chars: int = Field(
        default=16000,
        ge=1000,
        le=MAX_PROMPT_CHARS,
        description="Most characters of code, logs and test output put in one diagnosis or mutation prompt (small local models need fewer).",
    )
    agent_limits: Limits = Field(
        default_factory=Limits, description="Limits of one agent run on one task."
    )
    self_modify_limits: Limits = Field(
        default_factory=lambda: Limits(timeout_s=900.0),
        description="Limits of the parent agent's run on its own code (self_modify operator).",
    )
    task_budget_usd: Dollars | None = Field(
        default=None,
        description="LLM spending cap for one agent run on one task; unset for none.",
    )
    reevo: ReEvoSettings = Field(
        default_factory=ReEvoSettings, description="The reevo operator's settings."
    )
    polyglot: PolyglotSettings = Field(
        default_factory=PolyglotSettings,
        description="Evaluation on a polyglot suite: tries and deadlines (DGM's differ from Aider's).",
    )
    novelty: NoveltySettings = Field(
        default_factory=NoveltySettings,
        description="Rejection of duplicate and near-duplicate children before evaluation.",
    )
    line_edit: LineEditSettings = Field(
        default_factory=LineEditSettings, description="The line_edit operator's settings."
    )
    stop: StopBudgets = Field(
        default_factory=StopBudgets,
        description="STOP (operator stop): downstream runs per meta-utility and each run's budgets.",
    )
    dgmh: DGMHSettings = Field(
        default_factory=DGMHSettings, description="The dgmh operator's selector limits."
    )
    hgm: HGMSettings | None = Field(
        default=None,
        description="Set: HGM's scheduler decides each job, task by task over every stage's tasks (no gates, no selector); unset: staged evaluation.",
    )
    race: RaceSettings | None = Field(
        default=None,
        description="Set: racing decides each job (dgm/race.py), task by task over every stage's tasks (no gates, no selector); unset: staged evaluation.",
    )

    _numbers = field_validator("workers", "max_iterations", "seed", "prompt_chars", mode="before")(
        not_bool
    )

    @field_validator("selector")
    @classmethod
    def _known_selector(cls, value: str) -> str:
        if value not in SELECTORS:
            raise ValueError(f"use one of {', '.join(SELECTORS)}")
        return value

    @field_validator("api_base")
    @classmethod
    def _api_base(cls, value: str | None) -> str | None:
        return None if value is None else check_api_base(value)

    @field_validator("operator")
    @classmethod
    def _known_operator(cls, value: str) -> str:
        if value not in OPERATORS:
            raise ValueError(f"use one of {', '.join(OPERATORS)}")
        return value

    @model_validator(mode="after")
    def _operator_fits(self) -> RunConfig:
        evolves = OPERATORS[self.operator].evolves
        if self.problem is not None and evolves == "agents":
            fits = [n for n, op in OPERATORS.items() if op.evolves != "agents"]
            raise ValueError(
                f"operator {self.operator} evolves coding agents, not a problem's program: "
                f"use --operator {' or '.join(fits)} with --problem (e.g. `dgm run reevo --problem PATH`)"
            )
        if self.problem is None and evolves == "programs":
            raise ValueError(
                f"operator {self.operator} evolves a problem's program: give --problem PATH"
            )
        if self.hgm is not None and self.problem is not None:
            raise ValueError("hgm schedules a suite's tasks one by one: use it without --problem")
        if self.race is not None and self.problem is not None:
            raise ValueError("race schedules a suite's tasks one by one: use it without --problem")
        if self.race is not None and self.hgm is not None:
            raise ValueError("hgm and race each decide every job: set one of them")
        return self


def config_fields(
    model: type[BaseModel] = RunConfig, prefix: str = "", defaults: BaseModel | None = None
) -> Iterator[tuple[str, str]]:
    """(dotted field name, description with its choices and default) of every config
    field, nested ones (agent_limits.timeout_s, stages[].threshold) included: what
    `dgm run --help` lists."""
    for name, info in model.model_fields.items():
        if defaults is not None:
            default = getattr(defaults, name)
        elif info.is_required():
            default = "required"
        else:
            default = info.get_default(call_default_factory=True)
        nested = model_of(info.annotation)
        if isinstance(default, BaseModel) and nested is not None:  # limits: one line per field
            yield from config_fields(nested, f"{prefix}{name}.", default)
            continue
        choices = get_args(info.annotation) if get_origin(info.annotation) is Literal else ()
        text = info.description or ""
        if choices:
            text += f" One of: {', '.join(map(str, choices))}."
        if isinstance(default, list) and nested is not None:
            shown = ", ".join(f"{s.name}: {s.tasks}" for s in default if isinstance(s, Stage))
        else:
            shown = "unset" if default is None else str(default)
        valid = field_range(model, (name,))
        yield f"{prefix}{name}", f"{text} (default: {shown}{'; ' + valid if valid else ''})"
        if nested is not None:  # a list of models (stages): each item's fields
            yield from config_fields(nested, f"{prefix}{name}[].")


def one_line(error: ValidationError) -> str:
    """The first problem of a ValidationError as 'field: what is wrong (got, valid range); fix'."""
    first = error.errors()[0]
    if first["type"] == "extra_forbidden":
        where = ".".join(str(p) for p in first["loc"]) or "config"
        return f"unknown config field '{where}': remove it (see `dgm run --help` for the fields)"
    if not first["loc"]:  # a rule over several fields: no field to name, its text says the fix
        return f"invalid config: {first['msg'].removeprefix('Value error, ')}"
    return invalid_value(
        error, RunConfig, "config field", "fix it in the YAML or on the command line"
    )


def read_yaml(preset_or_path: str | None) -> dict[str, Any]:
    """A preset by name (a file in dgm/presets/) or any YAML path; None means the `dgm` preset."""
    name = preset_or_path or "dgm"
    path = Path(name)
    if not path.suffix and (PRESETS_DIR / f"{name}.yaml").is_file():
        path = PRESETS_DIR / f"{name}.yaml"
    if not path.is_file():
        presets = ", ".join(sorted(p.stem for p in PRESETS_DIR.glob("*.yaml")))
        raise UserError(f"no preset or config file '{name}': use one of [{presets}] or a YAML path")
    text = read_utf8(path, UserError, "save the config as UTF-8", shown=path.name)
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise UserError(f"{path.name} is not valid YAML: {yaml_problem(e)}; fix the file") from None
    if not isinstance(data, dict):
        raise UserError(f"{path.name} must be a YAML mapping of config fields")
    return data


def validate(data: Mapping[str, Any]) -> RunConfig:
    try:
        return RunConfig.model_validate(dict(data))
    except ValidationError as e:
        raise UserError(one_line(e)) from None


def with_resolved_model(config: RunConfig) -> RunConfig:
    """The config with `model` filled in when unset (see RunConfig.model)."""
    if config.model is not None:
        return config
    from dgm.llm.models import default_model  # imports litellm: only when a run starts

    return config.model_copy(update={"model": default_model()})


# Every key naming a model (same forms as `model`), dotted as `--set` writes it: a new run
# opens each before it exists, so a missing API key is bad input rather than a failed run.
MODEL_KEYS = ("model", "diagnosis_model", "reevo.reflector_model", "novelty.judge_model")


def named_models(data: Mapping[str, Any]) -> dict[str, str]:
    """{key: model} for each MODEL_KEYS entry set in a config (a RunConfig's dump, or a
    stored one)."""
    found = {}
    for key in MODEL_KEYS:
        node: Any = data
        for part in key.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, str) and node:
            found[key] = node
    return found


def load_config(
    preset_or_path: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    assignments: Sequence[str] = (),
) -> RunConfig:
    """Preset/YAML, then `--set` assignments, then overrides (None values are ignored),
    validated."""
    data = assign(read_yaml(preset_or_path), assignments)
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return validate(data)


def key_path(key: str) -> list[str]:
    """A `--set` KEY as a path of fields: split at its dots down to a field that maps names
    (agent_format.models), whose key is the rest, dots and all (claude-3.5-sonnet)."""
    parts = key.split(".")
    model: type[BaseModel] | None = RunConfig
    for i, part in enumerate(parts[:-1]):
        info = model.model_fields.get(part) if model is not None else None
        if info is None:
            return parts  # not a field: validation names it
        if get_origin(info.annotation) is dict:
            return [*parts[: i + 1], ".".join(parts[i + 1 :])]
        model = model_of(info.annotation)
    return parts


def assign(data: Mapping[str, Any], assignments: Sequence[str]) -> dict[str, Any]:
    """`data` with each `--set KEY=VALUE` applied. KEY is a field as `dgm run --help` lists
    it, dotted for nested ones (reevo.init_pop_size, agent_limits.timeout_s); VALUE is read
    as YAML (10, 0.5, true, null, [a, b]). RunConfig validates the result."""
    out = copy.deepcopy(dict(data))
    for item in assignments:
        key, sep, raw = item.partition("=")
        path = key_path(key.strip())
        if not sep or not all(path):
            raise UserError(f"--set {item!r}: write KEY=VALUE, e.g. --set reevo.init_pop_size=10")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise UserError(f"--set {item!r}: the value is not valid YAML: quote it") from None
        node = out
        for i, part in enumerate(path[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise UserError(
                    f"--set {item!r}: {'.'.join(path[: i + 1])} has no fields: set it as a whole"
                )
            node = child
        node[path[-1]] = value
    return out
