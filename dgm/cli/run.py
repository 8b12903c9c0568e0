"""`dgm run`: start or resume an evolution run, with a live display and a summary.

Ctrl-C (or SIGTERM) stops cleanly: no new job starts, jobs in flight finish and are
recorded; `dgm run --resume RUN` continues. A second Ctrl-C exits at once (the archive
stays consistent; the jobs in flight are not recorded at all, so a resume redoes them;
their sandboxes are removed once the process is gone).
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from dgm import display
from dgm.cli.common import (
    ApiBaseOpt,
    ArchiveOption,
    Interrupts,
    ModelOpt,
    archive_errors,
    archive_location,
    open_default_archive,
    open_for_browsing,
    plain,
)
from dgm.config import RunConfig, assign, config_fields, load_config, with_resolved_model
from dgm.dgmh import selection_line
from dgm.errors import UserError
from dgm.loop import LEASE_LOST, Engine, Progress
from dgm.mutators.operators import OPERATORS
from dgm.novelty import describe_counts, duplicate_counts
from dgm.selectors import SELECTORS
from sandbox import remove_own_sandboxes_after_exit

if TYPE_CHECKING:
    from archive import AgentInfo, Archive
    from archive.info import RunStatus
    from archive.lease import Renewer
    from dgm.target import Target

console = Console(stderr=True)


def render(run_id: str, p: Progress) -> Group:
    head = Table.grid(padding=(0, 2))
    head.add_row(
        Text(f"run {run_id}", style="bold"),
        f"iteration {p.iteration}/{p.max_iterations}",
        f"archive {p.archive_size} ({p.candidates} candidates, {p.pending} pending)",
    )
    head.add_row(
        f"best {display.score(p.best)}  mean {display.score(p.mean)}",
        f"{p.evaluations} evaluations, {p.evals_per_min:.1f}/min",
        f"{display.usd(p.usd_spent)} spent"
        + ("" if p.usd_left is None else f", {display.usd(p.usd_left)} left"),
    )
    workers = Table(show_header=True, header_style="dim", box=None)
    workers.add_column("worker")
    workers.add_column("doing")
    for i, w in enumerate(p.workers):
        workers.add_row(str(i), plain(w))  # task ids, agent ids: not markup
    parts: list = [head, workers]
    if p.stop_reason:
        parts.append(
            Text(f"stopping: {p.stop_reason} (finishing the jobs in flight)", style="yellow")
        )
    return Group(*parts)


async def drive(engine: Engine, run_id: str, live: bool, lease: Renewer | None = None) -> str:
    loop = asyncio.get_running_loop()

    def lost() -> None:  # another process took the run over (this one stalled past the TTL)
        try:
            loop.call_soon_threadsafe(engine.request_stop, LEASE_LOST)
        except RuntimeError:  # the loop already ended: nothing left to stop
            pass

    if lease is not None:
        lease.on_lost = lost
    interrupts = 0

    def on_signal() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            exit_now()
        console.print(
            "stopping: no new jobs; finishing the ones in flight (Ctrl-C again to quit now)",
            style="yellow",
        )
        engine.request_stop("interrupted")

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    task = asyncio.create_task(engine.run())
    announced = {  # once each per run: a resumed run does not repeat a mark
        float(e.payload.get("fraction", 0))
        for e in engine.archive.events(run_id, kinds=["budget_mark"])
    }
    with ExitStack() as stack:
        view = None
        if live:
            view = stack.enter_context(
                Live(render(run_id, engine.progress()), console=console, refresh_per_second=4)
            )
        while not task.done():
            await asyncio.wait({task}, timeout=0.25)
            p = engine.progress()
            announce_budget(engine, p, announced)
            if view is not None:
                view.update(render(run_id, p))
    return await task


def exit_now(*_: object) -> None:
    """A second Ctrl-C: waiting for the jobs in flight is what the user declined, so leave
    now. Every archive write is atomic, so a resume redoes exactly the jobs in flight."""
    console.print(
        "interrupted again: exiting now; `dgm run --resume` redoes the jobs in flight",
        style="yellow",
    )
    # os._exit skips the backends' atexit cleanup. Removing the sandboxes now would let the
    # jobs in flight record their vanished sandbox as their failure.
    remove_own_sandboxes_after_exit()
    os._exit(130)


def announce_budget(engine: Engine, p: Progress, announced: set[float]) -> None:
    """Say once each when spending crosses 50% and 80% of the dollar budget (and record it
    as a `budget_mark` event)."""
    from dgm.accounting import crossed

    budget = engine.config.budget_usd
    if budget is None:
        return
    for mark in crossed(p.usd_spent, budget, announced):
        console.print(budget_line(mark, budget, p.usd_spent), style="yellow")
        engine.event("budget_mark", fraction=mark, usd_spent=p.usd_spent, budget_usd=budget)


def budget_line(mark: float, budget: float, spent: float) -> str:
    """'budget: 50% of $0.01 spent ($0.0051)': dollars as dgm.display shows them."""
    return f"budget: {mark:.0%} of {display.usd(budget)} spent ({display.usd(spent)})"


def print_plan(config: RunConfig) -> None:
    """`--dry-run`: the checks a run makes before it exists, then its plan (dgm.accounting);
    no archive is opened, no sandbox started, no model called."""
    from dgm.accounting import dry_run
    from dgm.session import check_model
    from dgm.target import plan_target

    plan = plan_target(config)
    config = with_resolved_model(config)
    check_model(config, None)  # a missing key says so here too
    typer.echo("plan (dry run: no run created, nothing spent):")  # the command's output
    for line in dry_run(config, plan).lines:
        typer.echo(f"  {line}")


def failed_expansions(reasons: list[str]) -> str | None:
    """'N (most often: REASON)' for the end summary, or None when every expansion worked."""
    if not reasons:
        return None
    reason, _ = Counter(reasons).most_common(1)[0]
    return f"{len(reasons)} (most often: {reason[:100]})"


def summary(archive: Archive, run_id: str, reason: str, p: Progress) -> None:
    best = archive.best_agent(run_id)
    failed = failed_expansions(
        [
            str(e.payload.get("reason", "?"))
            for e in archive.events(run_id, kinds=["expansion_failed"])
        ]
    )
    table = Table(title=f"run {run_id}: {reason}", show_header=False)
    table.add_row("iterations", str(p.iteration))
    table.add_row("agents", f"{p.archive_size} ({p.candidates} admitted)")
    kids = [a for a in archive.agents(run_id) if a.parent_id is not None]
    children = Counter(a.status for a in kids)
    table.add_row(
        "children",
        f"{sum(children.values())}"
        + (f" ({', '.join(f'{n} {s}' for s, n in children.most_common())})" if children else ""),
    )
    dups = duplicate_counts(a.reason for a in kids if a.status == "rejected")
    table.add_row("duplicates rejected", f"{describe_counts(dups)}, not evaluated")
    if (chosen := selection_line(archive, run_id)) is not None:  # DGM-H's (dgm/dgmh.py)
        table.add_row("parent selection", chosen)
    table.add_row("evaluations", str(p.evaluations))
    if failed:
        table.add_row("failed expansions", plain(failed))
    direction = archive.run(run_id).direction
    shown = "" if direction is None else f" ({direction})"
    table.add_row(
        "best",
        "-"
        if best is None
        else f"{best.id} score {display.raw_score(best.score, direction)}{shown}",
    )
    for final in archive.events(run_id, kinds=["hgm_final"])[-1:]:  # HGM's answer (dgm/hgm.py)
        f = final.payload
        table.add_row(
            "hgm final",
            "-"
            if f.get("agent") is None
            else f"{f['agent']} posterior mean {f['posterior_mean']} "
            f"({f['resolved']}/{f['evaluated']} resolved)",
        )
    table.add_row("mean", display.score(p.mean))
    table.add_row("cost", display.usd(p.usd_spent))
    console.print(table)
    console.print(
        f"next: dgm report {run_id}   dgm archive tree {run_id}   dgm run --resume {run_id}"
    )
    if (hint := stalled_hint(best, kids)) is not None:
        console.print(hint)


def stalled_hint(best: AgentInfo | None, children: list[AgentInfo]) -> str | None:
    """Where to look next when children were scored and none beat the seed (a weak model on a
    suite, typically): the README's run that improves with any model."""
    if best is None or best.parent_id is not None or all(a.score is None for a in children):
        return None
    return (
        "no child beat the seed. To see a run improve with any model, try the README's "
        '"See a run improve": dgm run --problem rastrigin --operator line_edit --wall-clock 600'
    )


def never_ran(archive: Archive, run_id: str, error: BaseException, fresh: bool) -> None:
    """A session that failed or was interrupted while starting: say why in the archive, in
    a state `dgm runs` and `--resume` understand (stopped: resumable; a fresh run whose
    start failed: failed)."""
    interrupted = not isinstance(error, Exception)  # Ctrl-C, SIGTERM
    why = "interrupted during start-up" if interrupted else str(error) or repr(error)
    archive.append_event(run_id, "session_failed", {"reason": why})
    status: RunStatus = "failed" if fresh and not interrupted else "stopped"
    archive.set_run_status(run_id, status, {"reason": why})


def run(
    preset: str | None = typer.Argument(
        None, help="Preset name (see dgm/presets) or a YAML config file (default: the dgm preset)."
    ),
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
    suite: str | None = typer.Option(None, "--suite", help="Benchmark suite, e.g. swe-mini."),
    problem: str | None = typer.Option(
        None,
        "--problem",
        help="Evolve this problem's program instead (a problem directory in any layout, or a shipped problem's name).",
    ),
    selector: str | None = typer.Option(
        None, "--selector", help=f"Parent selector: {', '.join(SELECTORS)}."
    ),
    operator: str | None = typer.Option(
        None,
        "--operator",
        help=f"How a child is made: {', '.join(OPERATORS)} (see `operator` above).",
    ),
    workers: int | None = typer.Option(None, "--workers", help="Jobs run at once."),
    max_iterations: int | None = typer.Option(None, "--max-iterations", help="Children to create."),
    max_evaluations: int | None = typer.Option(
        None, "--max-evaluations", help="Stop after this many (agent, task) evaluations."
    ),
    max_fe: int | None = typer.Option(
        None,
        "--max-fe",
        help="ReEvo's budget: function evaluations (the seed's and one per child).",
    ),
    budget_usd: float | None = typer.Option(
        None, "--budget-usd", help="Stop when LLM spending reaches this."
    ),
    wall_clock_s: float | None = typer.Option(
        None, "--wall-clock", help="Stop starting work after this many seconds."
    ),
    sandbox: str | None = typer.Option(None, "--sandbox", help="docker or local."),
    executor: str | None = typer.Option(
        None, "--executor", help="Where sandboxed jobs run: local or ray (see docs/cluster.md)."
    ),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="The Ray head's HOST:PORT for --executor ray."
    ),
    seed: int | None = typer.Option(
        None, "--seed", help="Fixes every random choice of the engine."
    ),
    resume: str | None = typer.Option(
        None, "--resume", help="Continue this run (id or unique prefix) from the archive."
    ),
    name: str | None = typer.Option(None, "--name", help="Run name."),
    settings: list[str] | None = typer.Option(
        None,
        "--set",
        metavar="KEY=VALUE",
        help="Set any config field listed above, nested ones dotted, the value read as YAML: "
        "--set reevo.init_pop_size=10 --set agent_limits.timeout_s=300. Repeatable; the "
        "named options win over it.",
    ),
    archive_opt: str | None = ArchiveOption,
    quiet: bool = typer.Option(
        False, "--quiet", help="No live display (the summary is still printed)."
    ),
    seeds: str | None = typer.Option(
        None,
        "--seeds",
        help="Start the same config once per seed, one run after another, at equal budgets: "
        "1-5, or 1,4,9 (then `dgm compare` the runs).",
    ),
    pull: bool = typer.Option(
        False, "--pull", help="Pull the suite's missing instance images before the run starts."
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Print the plan (evaluations, LLM calls, tokens and dollars estimated, sandbox, executor) and exit: no run is created, nothing is spent.",
    ),
) -> None:
    """Grow an archive of self-improving coding agents (Darwin Gödel Machine)."""
    terminated = Interrupts()
    terminated.install()
    overrides = dict(
        model=model,
        api_base=api_base,
        suite=suite,
        # a path is stored absolute, so a resume from another directory finds it
        problem=str(Path(problem).resolve()) if problem and Path(problem).exists() else problem,
        selector=selector,
        operator=operator,
        workers=workers,
        max_iterations=max_iterations,
        max_evaluations=max_evaluations,
        max_fe=max_fe,
        budget_usd=budget_usd,
        wall_clock_s=wall_clock_s,
        sandbox=sandbox,
        executor=executor,
        ray_address=ray_address,
        seed=seed,
        name=name,
    )
    if dry_run:
        if resume is not None:
            raise UserError("--dry-run plans a new run: give a preset or config, not --resume")
        print_plan(load_config(preset, overrides, settings or ()))
        return
    if seeds is None:
        start_or_resume(preset, overrides, settings, archive_opt, quiet, resume, terminated, pull)
        return
    from dgm.seeds import run_seeds

    run_seeds(
        seeds,
        overrides,
        resume,
        lambda o: start_or_resume(preset, o, settings, archive_opt, quiet, None, terminated, pull),
    )


def checked_target(config: RunConfig, archive_url: str, pull: bool) -> Target:
    """The run's target, planned and checked before any run exists (a resumed one is not
    touched): the suite opened once, its missing images pulled first with --pull, its
    stages and images checked, and the cluster for --executor ray."""
    from dgm.session import check_executor
    from dgm.target import plan_target

    hook = None
    if pull:
        from dgm.cli.bench_images import pull_missing

        hook = pull_missing
    plan = plan_target(config, hook)
    check_executor(archive_url, config, plan)
    return plan


def checked_new_run(
    config: RunConfig, plan: Target, archive_opt: str | None
) -> tuple[RunConfig, dict[str, bytes] | None]:
    """A new run's models, seed agent and sandbox checked before its archive is opened
    to write, so that a mistyped one leaves nothing behind, not even an archive file: the
    config with its model resolved, and a suite run's seed agent files. A `replay:` model
    reads its run from the archive, which must then exist (reading creates nothing)."""
    from dgm.config import named_models
    from dgm.session import check_model, check_sandbox
    from dgm.suite_run import SuiteTarget, seed_agent_files

    config = with_resolved_model(config)
    if any(m.startswith("replay:") for m in named_models(config.model_dump()).values()):
        with open_for_browsing(archive_opt) as recorded, archive_errors():
            check_model(config, recorded)
    else:
        check_model(config, None)
    seed_files = None
    if not config.problem:  # an agent's folder: a link in it stops here, before a run
        seed_files = seed_agent_files(config)
    check_sandbox(config)
    if seed_files:  # a DGM-format seed's packages: its image layers, built once
        assert isinstance(plan, SuiteTarget)  # a seed agent: a suite run
        plan.prepare_seed(seed_files, config, console.print)
    return config, seed_files


def start_or_resume(
    preset: str | None,
    overrides: dict,
    settings: list[str] | None,
    archive_opt: str | None,
    quiet: bool,
    resume: str | None,
    terminated: Interrupts,
    pull: bool = False,
) -> tuple[str, str]:
    """One run, started or resumed, driven to its end: (run id, why it stopped)."""
    from archive.db import to_url
    from dgm.heldout import after_run, describe
    from dgm.session import open_session, own_run, resume_config, start_run

    if resume is not None and preset is not None:
        raise UserError("give either a preset/config or --resume RUN, not both")
    config = (
        load_config(preset, overrides, settings or ()) if resume is None else None
    )  # fail before touching the archive
    plan, seed_files = None, None
    if config is not None:  # a new run refused here writes nothing, not even its archive
        with archive_errors():
            plan = checked_target(config, to_url(archive_location(archive_opt)), pull)
        config, seed_files = checked_new_run(config, plan, archive_opt)
    archive = open_default_archive(archive_opt, create=resume is None)
    # Closed when the run ends: a seed sweep opens the archive again for its next run.
    with archive, archive_errors():
        run_id = None
        if resume is not None:
            run_id = archive.resolve_run(resume)
            named = {k: v for k, v in overrides.items() if v is not None}
            set_on_resume = assign({}, settings or ())  # resume_config refuses what may not change
            config = resume_config(archive, run_id, {**set_on_resume, **named})
            plan = checked_target(config, archive.url, pull)
        assert config is not None and plan is not None
        if run_id is None:
            run_id = start_run(archive, config, plan)
        with ExitStack() as stack:
            lease = None
            try:  # from here on, an interrupt marks the new run (never_ran)
                if resume is None:
                    console.print(
                        plain(
                            f"run {run_id} started ({config.operator}, {'hgm' if config.hgm else config.selector}, model {config.model}, {plan.describe()})"
                        )
                    )
                lease = stack.enter_context(own_run(archive, run_id))  # before any work
                if resume is not None:
                    console.print(f"resuming run {run_id}")
                engine = stack.enter_context(
                    open_session(archive, run_id, config, seed_files=seed_files, plan=plan)
                )
            except BaseException as e:
                if lease is not None or resume is None:  # ours to mark (not another's run)
                    never_ran(archive, run_id, e, fresh=resume is None)
                raise
            if terminated.seen:  # its KeyboardInterrupt was lost (see Interrupts)
                engine.request_stop("interrupted")
            # What start-up built (modules, config, sandbox pool) lives as long as the run:
            # collections during it need not walk it again (each took a second, GIL held).
            # Once a process: a seed sweep's later freezes would keep its earlier runs'
            # uncollected garbage for good.
            if gc.get_freeze_count() == 0:
                gc.freeze()
            try:
                reason = asyncio.run(
                    drive(engine, run_id, live=not quiet and console.is_terminal, lease=lease)
                )
            except KeyboardInterrupt as e:  # Ctrl-C before drive's own handler took over
                never_ran(archive, run_id, e, fresh=False)
                raise
            if reason == "interrupted":  # the session closes, its jobs in flight finish:
                signal.signal(signal.SIGINT, exit_now)  # a second Ctrl-C still leaves now
        summary(archive, run_id, reason, engine.progress())
        if engine.outside_failure:  # the run stopped for the machinery, not for its work
            raise UserError(
                f"{engine.outside_failure}: once it answers, `dgm run --resume {run_id}`"
            )
        if reason not in ("interrupted", LEASE_LOST):  # a finished search: score it held out
            with console.status("scoring the best program on the held-out split"):
                heldout = after_run(archive, run_id, config)
            if heldout is not None:
                console.print(plain(describe(heldout)))
    return run_id, reason


def help_text() -> str:
    """The command's help: what it does, then every config field a preset or YAML file may
    set (derived from RunConfig, so it cannot fall behind; the options override some)."""
    fields = "\n".join(f"  {name}: {text}" for name, text in config_fields())
    return (
        "Grow an archive of self-improving coding agents (Darwin Gödel Machine), or of a "
        "problem's programs with --problem (`dgm run reevo --problem tsp`: ReEvo).\n\n"
        "Config fields: the keys a preset or YAML config file may set (see dgm/presets/*.yaml); "
        "the options below override some of them.\n\n"
        f"{fields}"
    )


run.__doc__ = help_text()
