"""Run configuration: presets, overrides, one-line errors, staged task lists, resume rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from archive import open_archive
from benchmarks.problems.stop import StopBudgets
from benchmarks.suites import open_suite
from dgm.cli import app
from dgm.config import (
    DGMHSettings,
    Limits,
    LineEditSettings,
    NoveltySettings,
    PolyglotSettings,
    ReEvoSettings,
    RunConfig,
    Stage,
    load_config,
    with_resolved_model,
)
from dgm.errors import UserError
from dgm.mutators.operators import OPERATORS
from dgm.selectors import SELECTORS
from dgm.session import resume_config, start_run
from dgm.suite_run import SuiteTarget
from dgm.target import plan_target


def test_default_preset_is_dgm_on_swe_mini_with_the_local_model_when_no_key_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    cfg = load_config()
    assert cfg.model is None  # resolved when the run starts, then stored with the run
    assert with_resolved_model(cfg).model == "local"
    assert (cfg.suite, cfg.operator, cfg.selector) == (
        "swe-mini",
        "self_modify",
        "score_child_prop",
    )
    assert [s.name for s in cfg.stages] == ["small", "medium", "full"]


def test_an_api_key_on_the_host_makes_a_real_model_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-key")
    assert with_resolved_model(load_config()).model == "openai/gpt-4o-mini"
    assert (
        with_resolved_model(load_config(None, {"model": "local"})).model == "local"
    )  # an explicit choice wins


def test_overrides_win_and_none_is_ignored() -> None:
    cfg = load_config("dgm", {"workers": 5, "selector": "clade_thompson", "seed": None})
    assert cfg.workers == 5 and cfg.selector == "clade_thompson" and cfg.seed == 0


@pytest.mark.parametrize(
    "overrides,message",
    [
        (
            {"workers": 0},
            "invalid config field 'workers': out of range (got 0; valid: at least 1 and at most 64); fix it in the YAML or on the command line",
        ),
        (
            {"selector": "greedy"},
            f"invalid config field 'selector': use one of {', '.join(SELECTORS)} (got 'greedy'); fix it in the YAML or on the command line",
        ),
        (
            {"operator": "crossover"},
            f"invalid config field 'operator': use one of {', '.join(OPERATORS)} (got 'crossover'); fix it in the YAML or on the command line",
        ),
        (
            {"colour": "red"},
            "unknown config field 'colour': remove it (see `dgm run --help` for the fields)",
        ),
        (  # a rule over several fields names no field (it said 'config field' twice)
            {"problem": "rastrigin"},
            "invalid config: operator self_modify evolves coding agents, not a problem's "
            f"program: use --operator {' or '.join(n for n, o in OPERATORS.items() if o.evolves != 'agents')} with --problem "
            "(e.g. `dgm run reevo --problem PATH`)",
        ),
        (
            {"stages": [{"name": "s", "tasks": "small", "threshold": 2}]},
            "invalid config field 'stages.0.threshold': out of range (got 2; valid: a finite number at least 0.0 and at most 1.0); fix it in the YAML or on the command line",
        ),
        (  # YAML's `true` is not a level (pydantic alone would read it as 1)
            {"race": {"error": True}},
            "invalid config field 'race.error': give a number, not true (got True; valid: a finite number above 0.0 and below 0.5); fix it in the YAML or on the command line",
        ),
        (
            {"hgm": {"alpha": True}},
            "invalid config field 'hgm.alpha': give a number, not true (got True; valid: a finite number above 0.0 and at most 1.0); fix it in the YAML or on the command line",
        ),
    ],
)
def test_invalid_config_is_one_line_naming_the_field(overrides: dict, message: str) -> None:
    with pytest.raises(UserError) as e:
        load_config(None, overrides)
    assert str(e.value) == message


def test_unknown_preset_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(
        UserError,
        match=r"no preset or config file 'nope': use one of \[dgm, dgm-h, dgm-paper, hgm, reevo, stop\] or a YAML path",
    ):
        load_config("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("workers: [1,\n")
    with pytest.raises(UserError, match="bad.yaml is not valid YAML"):
        load_config(str(bad))


def stage_plans(config: Any) -> tuple[list[Any], dict[str, Any]]:
    plan = plan_target(config)
    assert isinstance(plan, SuiteTarget)
    return plan.stages, plan.tasks


def test_stage_plans_resolve_the_suite_subsets() -> None:
    plans, tasks = stage_plans(load_config("dgm"))
    sizes = {s: len(open_suite(f"swe-mini:{s}").tasks()) for s in ("small", "medium", "full")}
    assert [(p.name, len(p.task_ids)) for p in plans] == [
        (s, sizes[s]) for s in ("small", "medium", "full")
    ]
    assert set(plans[0].task_ids) <= set(plans[1].task_ids) <= set(plans[2].task_ids) == set(tasks)
    explicit = load_config(None, {"stages": [{"name": "one", "tasks": ["ledgerly__ledgerly-1"]}]})
    assert stage_plans(explicit)[0][0].task_ids == ("ledgerly__ledgerly-1",)
    with pytest.raises(UserError, match="no task matches nope-1"):
        stage_plans(load_config(None, {"stages": [{"name": "one", "tasks": ["nope-1"]}]}))


def test_resume_keeps_the_run_config_and_allows_only_budgets(tmp_path: Path) -> None:
    archive = open_archive(tmp_path / "a.db")
    cfg = load_config(None, {"seed": 7, "max_iterations": 3})
    run = start_run(archive, cfg, plan_target(cfg))
    cfg = resume_config(archive, run, {"max_iterations": 10, "workers": 4, "selector": None})
    assert (cfg.seed, cfg.max_iterations, cfg.workers) == (7, 10, 4)
    with pytest.raises(
        UserError, match="--resume keeps the run's configuration; selector cannot change"
    ):
        resume_config(archive, run, {"selector": "best"})


@pytest.mark.parametrize("preset", ["dgm", "dgm-paper"])
def test_every_shipped_preset_validates_and_resolves_its_stages(preset: str) -> None:
    cfg = load_config(preset)
    plans, tasks = stage_plans(cfg)
    assert [p.name for p in plans] == [s.name for s in cfg.stages] and tasks


def test_the_reevo_preset_needs_a_problem_and_plans_one_stage() -> None:
    with pytest.raises(
        UserError, match="operator reevo evolves a problem's program: give --problem"
    ):
        load_config("reevo")
    cfg = load_config("reevo", {"problem": "tsp"})
    assert (cfg.operator, cfg.max_fe, cfg.reevo.pop_size, cfg.reevo.init_pop_size) == (
        "reevo",
        100,
        10,
        30,
    )
    plan = plan_target(cfg)
    assert plan.problem is not None and plan.problem.name == "tsp_constructive"
    assert [(p.name, p.task_ids) for p in plan.stages] == [("problem", ("tsp_constructive",))]
    with pytest.raises(UserError, match="operator self_modify evolves coding agents"):
        load_config(None, {"problem": "tsp"})
    with pytest.raises(UserError, match="no problem at nope"):
        plan_target(load_config("reevo", {"problem": "nope"}))


def test_run_help_lists_every_config_field_with_its_default() -> None:
    """config.py's errors point users to `dgm run --help` for the fields: it lists them all."""
    out = " ".join(
        CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "300"}).output.split()
    )
    assert all(f.description for f in RunConfig.model_fields.values())
    for name in RunConfig.model_fields:
        if name not in (
            "agent_limits",
            "self_modify_limits",
            "reevo",
            "stop",
            "novelty",
            "line_edit",
            "dgmh",
            "agent_format",
            "polyglot",
        ):
            assert f" {name}: " in out, name
    for name in PolyglotSettings.model_fields:
        assert f" polyglot.{name}: " in out, name
    for name in ReEvoSettings.model_fields:
        assert f" reevo.{name}: " in out, name
    for name in NoveltySettings.model_fields:
        assert f" novelty.{name}: " in out, name
    for name in LineEditSettings.model_fields:
        assert f" line_edit.{name}: " in out, name
    for name in StopBudgets.model_fields:
        assert f" stop.{name}: " in out, name
    for name in DGMHSettings.model_fields:
        assert f" dgmh.{name}: " in out, name
    for name in Limits.model_fields:
        assert f" agent_limits.{name}: " in out and f" self_modify_limits.{name}: " in out, name
    for name in Stage.model_fields:
        assert f" stages[].{name}: " in out, name
    assert (
        "self_modify_limits.timeout_s: Wall-clock deadline of one agent run, in seconds. "
        "(default: 900.0; a finite number above 0 and at most 31536000.0)" in out
    )
    assert (
        "sandbox: Sandbox backend for every untrusted run. One of: docker, local. (default: docker)"
        in out
    )


def test_set_reaches_every_nested_field_and_is_validated() -> None:
    cfg = load_config(
        "reevo",
        {"workers": 3, "problem": "tsp"},
        [
            "reevo.init_pop_size=4",
            "reevo.pop_size=2",
            "reevo.reflector_model=openai/gpt-4o",
            "agent_limits.timeout_s=30.5",
            "workers=9",  # the named option (the override) wins
            "budget_usd=null",
        ],
    )
    assert cfg.reevo == ReEvoSettings(
        init_pop_size=4, pop_size=2, mutation_rate=0.5, reflector_model="openai/gpt-4o"
    )
    assert (cfg.agent_limits.timeout_s, cfg.workers, cfg.budget_usd) == (30.5, 3, None)
    assert (
        load_config("reevo", {"problem": "tsp"}).reevo.init_pop_size
        == ReEvoSettings().init_pop_size
    )
    for item, message in [
        (
            "reevo.init_pop=3",
            "unknown config field 'reevo.init_pop': remove it (see `dgm run --help` for the fields)",
        ),
        (
            "reevo.pop_size=0",
            "invalid config field 'reevo.pop_size': out of range (got 0; valid: at least 1); fix it in the YAML or on the command line",
        ),
        (
            "reevo.pop_size",
            "--set 'reevo.pop_size': write KEY=VALUE, e.g. --set reevo.init_pop_size=10",
        ),
        ("reevo..x=1", "--set 'reevo..x=1': write KEY=VALUE, e.g. --set reevo.init_pop_size=10"),
        ("seed.x=1", "--set 'seed.x=1': seed has no fields: set it as a whole"),
        ("workers=[1,", "--set 'workers=[1,': the value is not valid YAML: quote it"),
    ]:
        with pytest.raises(UserError) as e:
            load_config("reevo", {"problem": "tsp"}, ["seed=3", item])
        assert str(e.value) == message


def test_set_on_the_command_line_is_one_line_and_resume_refuses_run_fields(
    tmp_path: Path,
) -> None:
    db = tmp_path / "a.db"
    runner = CliRunner()
    bad = runner.invoke(
        app, ["run", "reevo", "--problem", "tsp", "--set", "reevo.init_pop=3", "--archive", str(db)]
    )
    assert isinstance(bad.exception, UserError)  # main() prints it in one line, exit code 2
    assert "unknown config field 'reevo.init_pop'" in str(bad.exception)
    archive = open_archive(db)
    cfg = load_config(None, {"seed": 7})
    run = start_run(archive, cfg, plan_target(cfg))
    resumed = runner.invoke(
        app, ["run", "--resume", run, "--set", "reevo.pop_size=3", "--archive", str(db)]
    )
    assert isinstance(resumed.exception, UserError)
    assert "reevo cannot change" in str(resumed.exception)
    assert archive.run(run).config["reevo"]["pop_size"] == ReEvoSettings().pop_size
