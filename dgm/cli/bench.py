"""`dgm bench`: list suites, validate them, score any agent on one, re-grade old logs,
and export predictions for the official SWE-bench harness."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from benchmarks.suites import SUITE_HELP, Suite, SuiteError, open_suite, select_tasks
from benchmarks.task import Task
from dgm import display
from dgm.cli.common import (
    ArchiveOption,
    BackendOpt,
    ModelOpt,
    archive_errors,
    archive_location,
    open_default_archive,
    open_for_browsing,
    plain,
)
from dgm.errors import UserError, in_range
from dgm.outputs import Output, check_file, write_file

if TYPE_CHECKING:
    from archive.info import RunStatus

app = typer.Typer(no_args_is_help=True)
out = Console()
err = Console(stderr=True)

SuiteArg = Annotated[
    str,
    typer.Argument(
        help="swe-mini[:small|medium|full], polyglot-mini, polyglot:PATH or swebench:SOURCE."
    ),
]
TasksOpt = Annotated[
    list[str] | None,
    typer.Option("--tasks", help="Only these task ids (globs allowed); repeat or comma-separate."),
]
WorkersOpt = Annotated[int, typer.Option("--workers", min=1, help="Tasks run at once.")]
SEED_AGENT = "seed"
MAX_WORKERS = 64  # as `dgm run`'s workers: each keeps a sandbox warm
MAX_ATTEMPTS = 100


@contextmanager
def user_errors() -> Iterator[None]:
    """Lower rooms' errors become one-line user errors."""
    from benchmarks.polyglot import PolyglotError
    from benchmarks.swebench import SWEBenchError
    from sandbox import SandboxError

    try:
        with archive_errors():
            yield
    except (SuiteError, SandboxError, SWEBenchError, PolyglotError) as e:
        raise UserError(str(e)) from None


def _patterns(tasks: list[str] | None) -> list[str] | None:
    """The --tasks patterns; None (every task) when the option is not given."""
    patterns = [p.strip() for t in tasks or [] for p in t.split(",") if p.strip()]
    if tasks and not patterns:  # `--tasks ,` is not "every task"
        raise UserError("--tasks names no task: give task ids or globs, or leave it out for all")
    return patterns or None


def _backend(name: str, run_label: str, workers: int) -> Any:
    from sandbox import open_backend

    return (
        open_backend(name, run_label=run_label, pool_size=max(2, workers))
        if name == "docker"
        else open_backend(name)
    )


def _suite(spec: str, backend: str = "docker") -> Suite:
    return open_suite(spec, sandbox=backend)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}", markup=False),  # a suite name is the user's
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
        console=err,
        transient=False,
    )


@app.command("list")
def list_suites() -> None:
    """The suites and their sizes, and the shipped problems."""
    table = Table("suite", "tasks", "what")
    for spec, what in SUITE_HELP.items():
        size: str | Text
        try:
            size = (
                str(len(open_suite(spec).tasks()))
                if ":" not in spec or spec.startswith("swe-mini:")
                else "-"
            )
        except (SuiteError, OSError, ValueError) as e:
            size = plain(f"unavailable: {str(e)[:60]}", style="red")
        table.add_row(spec, size, what)
    out.print(table)
    from benchmarks.problems import SHIPPED

    problems = Table("problem", "what")
    for name, what in SHIPPED.items():
        problems.add_row(name, what)
    out.print(problems)
    out.print(
        "Score one with `dgm problem score NAME`; any problem folder in dgm's, ReEvo's or OpenEvolve's layout works too."
    )


@app.command()
def validate(
    suite: SuiteArg,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of a table.")
    ] = False,
    tasks: TasksOpt = None,
    workers: WorkersOpt = 3,
    backend: BackendOpt = "docker",
) -> None:
    """Grade the gold and the empty patch of every task: gold must resolve, empty must not."""
    from benchmarks.suites import validate_task

    in_range("--workers", workers, 1, MAX_WORKERS)
    with user_errors():
        s = _suite(suite, backend)
        chosen = select_tasks(s.tasks(), _patterns(tasks))
        s.check(chosen)
        results = []
        with _backend(backend, "validate", workers) as be, closing(s), _progress() as progress:
            bar = progress.add_task(f"validating {s.name}", total=len(chosen), note="")
            with ThreadPoolExecutor(workers) as pool:
                futures = [pool.submit(validate_task, s, t, be) for t in chosen]
                for f in as_completed(futures):
                    results.append(f.result())
                    bad = sum(not r.valid for r in results)
                    progress.update(bar, advance=1, note=f"[red]{bad} invalid[/]" if bad else "")
    results.sort(key=lambda r: r.instance_id)
    invalid = [r for r in results if not r.valid]
    if json_out:
        print(
            json.dumps(
                {
                    "suite": s.name,
                    "tasks": len(results),
                    "valid": len(results) - len(invalid),
                    "invalid": [
                        {"instance_id": r.instance_id, "reasons": r.reasons} for r in invalid
                    ],
                }
            )
        )
    else:
        table = Table("task", "gold", "empty", "valid", "reasons")
        for r in results:
            table.add_row(
                plain(r.instance_id),
                "resolved" if r.gold.resolved else "[red]unresolved[/]",
                "[red]resolved[/]" if r.empty.resolved else "unresolved",
                "[green]yes[/]" if r.valid else "[red]no[/]",
                plain("; ".join(r.reasons)),
            )
        out.print(table)
        out.print(f"{len(results) - len(invalid)} of {len(results)} tasks valid")
    if invalid:
        raise typer.Exit(1)


def _load_agent(agent: str, archive_opt: str | None) -> tuple[dict[str, bytes], str]:
    """(files, where they came from): `seed`, a directory, or an agent id (prefix) in the archive."""
    from dgm.agent_contract import agent_files

    if agent == SEED_AGENT:
        import dgm.seed_agent

        return agent_files(Path(dgm.seed_agent.__file__).parent), "seed"
    path = Path(agent).expanduser()
    if path.is_dir():
        try:
            return agent_files(path), str(path.resolve())
        except ValueError as e:
            raise UserError(str(e)) from None
    if "/" in agent or agent.startswith(".") or path.exists():
        raise UserError(
            f"--agent {agent}: no such agent directory (give `seed`, a directory with __main__.py or DGM's coding_agent.py, or an agent id)"
        )
    with open_for_browsing(archive_opt) as arch, archive_errors():
        agent_id = arch.resolve_agent(agent)
        return arch.agent_files(agent_id), f"agent {agent_id}"


@app.command()
def run(
    agent: Annotated[
        str,
        typer.Option(
            "--agent", help="`seed`, an agent directory, or an agent id (prefix) in the archive."
        ),
    ],
    suite: Annotated[
        str,
        typer.Option(
            "--suite",
            help="swe-mini[:small|medium|full], polyglot-mini, polyglot:PATH or swebench:SOURCE.",
        ),
    ],
    tasks: TasksOpt = None,
    model: ModelOpt = None,
    workers: WorkersOpt = 2,
    attempts: Annotated[
        int, typer.Option("--attempts", min=1, help="Runs per task (pass@k style).")
    ] = 1,
    agent_timeout: Annotated[
        float, typer.Option("--agent-timeout", min=1, help="Seconds per agent run.")
    ] = 1800.0,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", min=1, help="Step limit passed to the agent.")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Run name [default: bench-<suite>].")
    ] = None,
    backend: BackendOpt = "docker",
    archive: str | None = ArchiveOption,
    agent_format: Annotated[
        str,
        typer.Option(
            "--agent-format",
            help="auto, native (__main__.py) or dgm (DGM's coding_agent.py; see docs/agents.md).",
        ),
    ] = "auto",
    agent_models: Annotated[
        list[str] | None,
        typer.Option(
            "--agent-model",
            help="A model name a dgm-format agent's code sends, served as the run's model (repeatable; DGM's own names are known).",
        ),
    ] = None,
    pull: Annotated[
        bool, typer.Option("--pull", help="Pull the missing instance images first.")
    ] = False,
) -> None:
    """Score an agent on a suite; results go into the archive as a run of kind `bench`."""
    from archive import hold_run
    from benchmarks.images import needed_images
    from dgm.agent_format import FORMATS, AgentFormatSettings
    from dgm.agent_format import LAYERS as agent_layers
    from dgm.agent_format import check as check_format
    from dgm.agent_format import prepare as prepare_format
    from dgm.config import MAX_COUNT, MAX_NAME
    from dgm.evaluator import EvalLimits
    from dgm.executors.evaluation import local_suite_evaluator
    from dgm.llm import Gateway, default_model, open_provider
    from sandbox.protocol import MAX_SECONDS

    in_range("--agent-timeout", agent_timeout, 1, MAX_SECONDS)
    in_range("--workers", workers, 1, MAX_WORKERS)
    in_range("--attempts", attempts, 1, MAX_ATTEMPTS)
    if max_steps is not None:
        in_range("--max-steps", max_steps, 1, MAX_COUNT)
    if name is not None and not 0 < len(name) <= MAX_NAME:
        raise UserError(f"--name must be 1 to {MAX_NAME} characters (got {len(name)})")
    _patterns(tasks)  # before anything slow
    model = model or default_model()
    files, source = _load_agent(agent, archive)
    if agent_format not in FORMATS:
        raise UserError(f"--agent-format {agent_format!r}: use one of {', '.join(FORMATS)}")
    try:
        fmt = check_format(files, agent_format, source)
    except ValueError as e:
        raise UserError(str(e)) from None
    models = {**AgentFormatSettings().models, **dict.fromkeys(agent_models or [], "run")}
    with user_errors():
        s = _suite(suite, backend)
        chosen = select_tasks(s.tasks(), _patterns(tasks))
        if pull:
            from dgm.cli.bench_images import pull_missing

            pull_missing(s, chosen)
        s.check(chosen)  # e.g. a missing instance image: said before the run exists
        # a DGM-format agent's packages: a layer over each image its tasks run in, built now
        images = needed_images(s, chosen)
        prepare_format(files, backend, lambda m: err.print(m, markup=False), images)
    limits = EvalLimits(agent_timeout_s=agent_timeout, max_steps=max_steps)
    config = {
        "suite": s.name,
        "agent": source,
        "model": model,
        "attempts": attempts,
        "tasks": [t.instance_id for t in chosen],
        "limits": limits.model_dump(),
        "agent_format": fmt,
    }
    with open_default_archive(archive, create=True) as arch, user_errors():
        provider = open_provider(
            model, archive=arch
        )  # before the run exists: a bad --model leaves nothing behind
        run_id = arch.create_run(name or f"bench-{s.name}", kind="bench", config=config)
        lease = ExitStack()  # one owner per run, as for `dgm run`; released once it is marked
        lease.enter_context(hold_run(arch, run_id))
        agent_id = arch.add_agent(
            run_id, files, operator="bench", origin={"source": source}, status="evaluating"
        )
        started = time.monotonic()
        results: list[Any] = []
        status: RunStatus = "failed"
        stack = ExitStack()
        stack.callback(s.close)
        stack.callback(agent_layers.close)  # a DGM-format agent's sandboxes
        try:
            with (
                sigterm_interrupts() as stopping,
                Gateway(provider, archive=arch, run_id=run_id, agent_models=models) as gw,
                _backend(backend, run_id, workers) as be,
                _progress() as progress,
            ):
                bar = progress.add_task(
                    f"{s.name} x {len(chosen)} tasks x {attempts}",
                    total=len(chosen) * attempts,
                    note="",
                )
                jobs = [(t, k) for k in range(1, attempts + 1) for t in chosen]
                # `dgm run`'s evaluation path, on this machine
                evaluator, local = local_suite_evaluator(s, be, gw, arch, run_id, limits)
                stack.callback(local.close)

                def one(task: Task, attempt: int) -> Any:
                    return evaluator.run(agent_id, files, task.instance_id, "bench", attempt)

                futures: list[Future[Any]] = []
                try:
                    with ThreadPoolExecutor(workers) as pool:
                        futures += [pool.submit(one, t, k) for t, k in jobs]
                        try:
                            pending = set(futures)
                            while pending:
                                done, pending = wait(
                                    pending, timeout=0.2, return_when=FIRST_COMPLETED
                                )
                                if stopping.is_set():
                                    raise KeyboardInterrupt
                                for f in done:
                                    results.append(f.result())
                                ok = sum(r.resolved for r in results)
                                progress.update(
                                    bar,
                                    completed=len(results),
                                    note=f"{ok}/{len(results)} resolved",
                                )
                        finally:  # Ctrl-C, SIGTERM, an error: no job starts after it
                            for f in futures:
                                f.cancel()
                finally:  # the pool waited for the jobs in flight: recorded, so counted
                    results[:] = [r for r in map(_result, futures) if r is not None]
                usage = gw.usage()
            status = "finished"
        except KeyboardInterrupt:
            status = "stopped"
            raise
        finally:
            stack.close()
            n_ok = sum(r.resolved for r in results)
            score = n_ok / len(results) if results else 0.0
            totals = {
                "resolved": n_ok,
                "evaluated": len(results),
                "score": score,
                "duration_s": round(time.monotonic() - started, 3),
            }
            if status == "finished":
                totals.update(cost_usd=usage.cost_usd, tokens=usage.tokens, llm_calls=usage.calls)
                arch.set_agent_score(agent_id, "bench", score)
                arch.set_agent_status(agent_id, "evaluated")
            else:  # never left `evaluating`: say how far it got
                far = f"{len(results)} of {len(chosen) * attempts} evaluations done"
                arch.set_agent_status(agent_id, "failed", reason=f"bench run {status}: {far}")
            arch.set_run_status(run_id, status, totals)
            lease.close()
    _summary(run_id, agent_id, results, totals)


def _result(future: Future[Any]) -> Any:
    """A finished job's result (it is in the archive), or None (cancelled, or it raised)."""
    if not future.done() or future.cancelled() or future.exception() is not None:
        return None
    return future.result()


@contextmanager
def sigterm_interrupts() -> Iterator[threading.Event]:
    """SIGTERM (`kill`, a stopped service) sets the event the evaluation loop polls, which
    then ends as Ctrl-C does, so the run and its agent are marked stopped instead of left
    `running` and `evaluating`. The handler only sets a flag: an exception raised from it
    could land in a garbage-collector callback, be printed as "ignored" and lost."""
    import signal

    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def interrupt(signum: int, frame: object) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGTERM, previous)


def _summary(run_id: str, agent_id: str, results: list[Any], totals: dict[str, Any]) -> None:
    table = Table("task", "attempt", "resolved", "error", "tokens", "time")
    for r in sorted(results, key=lambda r: (r.task_id, r.attempt)):
        table.add_row(
            plain(r.task_id),
            str(r.attempt),
            "[green]yes[/]" if r.resolved else "[red]no[/]",
            plain(r.error_kind or ""),
            str(r.tokens),
            f"{r.duration_s:.1f}s",
        )
    out.print(table)
    pct = 100.0 * totals["score"]
    out.print(
        f"run {run_id} (agent {agent_id}): resolved {totals['resolved']}/{totals['evaluated']} ({pct:.1f}%), "
        f"cost {display.usd(totals.get('cost_usd', 0.0))}, {totals.get('tokens', 0)} tokens, {totals['duration_s']:.1f}s"
    )


def _read_instance(path: Path, instance_id: str | None) -> Task:
    from benchmarks.swebench import SWEBenchError, load_instances, to_task

    try:
        raws = load_instances(str(path))
        if not path.is_file():
            raise UserError(f"no such instance file {path}")
        if instance_id:
            raws = [r for r in raws if r.get("instance_id") == instance_id]
        if len(raws) != 1:
            raise UserError(f"{path} holds {len(raws)} instances: pick one with --id INSTANCE_ID")
        return to_task(raws[0])
    except SWEBenchError as e:
        raise UserError(str(e)) from None


@app.command()
def grade(
    instance: Annotated[
        Path | None,
        typer.Option("--instance", help="The instance: a task/SWE-bench JSON (or JSONL) file."),
    ] = None,
    log: Annotated[
        Path | None,
        typer.Option(
            "--log",
            help="The test log to grade (a SWE-bench test_output.txt, pytest -rA output, or a grading log).",
        ),
    ] = None,
    instance_id: Annotated[
        str | None, typer.Option("--id", help="Which instance, when the file holds several.")
    ] = None,
    parser: Annotated[
        str | None,
        typer.Option(
            "--parser",
            help="swebench (the official parser and report of the instance's repository) or pytest [default: swebench, pytest for shipped swe-mini tasks].",
        ),
    ] = None,
    json_out: Annotated[
        bool,
        typer.Option(
            "--json", help="Print the report.json-shaped object (the run's summary) only."
        ),
    ] = False,
    predictions: Annotated[
        Path | None,
        typer.Option(
            "--predictions",
            help="Grade a predictions file (JSONL or JSON: instance_id, model_name_or_path, model_patch) with --suite.",
        ),
    ] = None,
    suite: Annotated[
        str | None, typer.Option("--suite", help="The suite the predictions are for.")
    ] = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Where the harness's logs and summary go.")
    ] = Path("."),
    run_id: Annotated[
        str, typer.Option("--run-id", help="The run's name in the logs and the summary's file.")
    ] = "dgm",
    workers: WorkersOpt = 2,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds per instance's tests.")
    ] = 1800.0,
    backend: BackendOpt = "docker",
) -> None:
    """Grade a predictions file as SWE-bench's harness does (--predictions, --suite), or an
    existing test log against one instance (--instance, --log).

    A SWE-bench instance is graded as the official harness grades it (its repository's
    log parser, its report); never by the generic pytest parser unless asked."""
    from benchmarks.grading import grade_log
    from benchmarks.log_parsers import PARSERS
    from benchmarks.swebench import SWEBenchError, load_instances

    if predictions is not None or suite is not None:
        if predictions is None or suite is None or instance or log:
            raise UserError(
                "grade a predictions file with --predictions FILE --suite SUITE, or a log with --instance FILE --log FILE"
            )
        from dgm.cli.bench_grade import grade_file

        in_range("--workers", workers, 1, MAX_WORKERS)
        with user_errors():
            grade_file(
                predictions,
                suite,
                out_dir,
                run_id,
                workers=workers,
                timeout_s=timeout,
                sandbox=backend,
                open_backend=lambda label: _backend(backend, label, workers),
                progress=_progress(),
                json_out=json_out,
            )
        return
    if instance is None or log is None:
        raise UserError(
            "give --instance FILE and --log FILE (one log), or --predictions FILE --suite SUITE"
        )
    if not instance.is_file():
        raise UserError(f"no such instance file {instance}")
    if not log.is_file():
        raise UserError(f"no such log file {log}")
    task = _read_instance(instance, instance_id)
    text = log.read_text(errors="replace")
    raw = next(r for r in load_instances(str(instance)) if r.get("instance_id") == task.instance_id)
    shipped = raw.get("bug_diff") is not None or bool(raw.get("test_files"))
    chosen = parser or ("pytest" if shipped else "swebench")
    if chosen == "swebench":
        from benchmarks import swebench

        try:
            result = swebench.grade_log(task, raw, text)
        except SWEBenchError as e:
            raise UserError(f"{e} (or grade with the generic parser: --parser pytest)") from None
    elif chosen in PARSERS:
        result = grade_log(task, text, PARSERS[chosen])
    else:
        raise UserError(f"unknown parser {chosen!r}: use swebench or pytest")
    report = result.swebench_report(patch=None)
    report[task.instance_id]["patch_is_None"] = None  # unknown: only the log was given
    if json_out:
        print(json.dumps(report, indent=2))
        return
    table = Table("category", "test", "status")
    for cat, status in (
        ("FAIL_TO_PASS", result.FAIL_TO_PASS),
        ("PASS_TO_PASS", result.PASS_TO_PASS),
    ):
        for t in status.success:
            table.add_row(cat, plain(t), plain(result.tests[t], style="green"))
        for t in status.failure:
            table.add_row(cat, plain(t), plain(result.tests[t], style="red"))
    out.print(table)
    verdict = plain("resolved", "green") if result.resolved else plain("not resolved", "red")
    out.print(plain(f"{task.instance_id}: ") + verdict)


@app.command()
def export(
    run_or_agent: Annotated[str, typer.Argument(help="A run id or an agent id (prefix).")],
    fmt: Annotated[
        str, typer.Option("--format", help="Output format: swebench (predictions JSONL).")
    ] = "swebench",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Overwrite the -o file if it exists (never the archive)."),
    ] = False,
    model_name: Annotated[
        str | None,
        typer.Option("--model-name", help="model_name_or_path [default: dgm-<agent id>]."),
    ] = None,
    archive: str | None = ArchiveOption,
) -> None:
    """Predictions JSONL (instance_id, model_name_or_path, model_patch) for the official harness.

    For a run, the run's best agent is exported. Per task, the first attempt's patch."""
    if fmt != "swebench":
        raise UserError(f"unknown format {fmt!r}: only `swebench` is supported")
    target = Output(output, "-o", force, archive_location(archive)) if output else None
    if target:
        check_file(target)  # before any work: an existing file, the archive itself
    with open_for_browsing(archive) as arch, archive_errors():
        agent_id = _agent_of(arch, run_or_agent)
        evaluations = sorted(arch.evaluations(agent_id), key=lambda e: (e.attempt, e.seq))
    chosen: dict[str, Any] = {}
    for e in evaluations:
        chosen.setdefault(e.task_id, e)
    if not chosen:
        raise UserError(
            f"agent {agent_id} has no evaluations to export: run `dgm bench run --agent {agent_id[:8]} ...` first"
        )
    lines = [
        json.dumps(
            {
                "instance_id": tid,
                "model_name_or_path": model_name or f"dgm-{agent_id[:12]}",
                "model_patch": e.patch.decode(errors="replace"),
            }
        )
        for tid, e in sorted(chosen.items())
    ]
    text = "\n".join(lines) + "\n"
    if target:
        write_file(target, text.encode())
        err.print(plain(f"wrote {len(lines)} predictions to {output}"))
    else:
        sys.stdout.write(text)


def _agent_of(arch: Any, ref: str) -> str:
    """An agent id from an agent id/prefix, or the best agent of a run id/prefix."""
    from archive import ArchiveError

    agent_id, agent_error = None, None
    try:
        agent_id = arch.resolve_agent(ref)
    except ArchiveError as e:
        agent_error = e
    try:
        run_id = arch.resolve_run(ref)
    except ArchiveError as run_error:
        if agent_id is not None:
            return agent_id
        if "runs are named" in str(run_error):  # a name two runs share: say which
            raise UserError(str(run_error)) from None
        raise UserError(
            f"{ref!r} is neither an agent nor a run in this archive ({agent_error})"
        ) from None
    if agent_id is not None:  # never pick one silently
        raise UserError(
            f"{ref!r} matches agent {agent_id} and run {run_id}: type more characters of "
            "the one you mean"
        )
    best = arch.best_agent(run_id)
    if best is None:
        agents = arch.agents(run_id)
        if not agents:
            raise UserError(f"run {run_id} has no agents") from None
        best = agents[0]
    return str(best.id)


@app.command("pull")
def pull_images(
    suite: SuiteArg,
    subset: Annotated[
        str | None, typer.Option("--subset", help="Only this subset's images (small, medium).")
    ] = None,
) -> None:
    """Pull the suite's missing instance images (download size and free disk shown first)."""
    from dgm.cli.bench_images import pull_suite

    with user_errors():
        pull_suite(suite, subset)


@app.command("images")
def instance_images(
    suite: SuiteArg,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Remove the instance images (sweb.eval.*, in the suite's registry and namespace) the suite no longer needs.",
        ),
    ] = False,
) -> None:
    """The suite's instance images: present, missing, and those it no longer needs."""
    from dgm.cli.bench_images import list_or_prune

    with user_errors():
        list_or_prune(suite, prune)
