"""`dgm problem`: score a problem's seed program, or a given one, in the sandbox (on its
training data, or with --heldout on its held-out split)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dgm.cli.common import BackendOpt
from dgm.errors import UserError, in_range
from sandbox.folders import read_utf8

app = typer.Typer(no_args_is_help=True)


@app.command()
def score(
    path: Annotated[
        str,
        typer.Argument(
            help="A problem: a directory in dgm's, ReEvo's or OpenEvolve's layout, or a shipped problem's name."
        ),
    ],
    program: Annotated[
        Path | None,
        typer.Option(
            "--program", help="Score this file as the program's main file instead of the seed."
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object only.")] = False,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=0.1,
            help="Deadline of the evaluation in seconds [default: the problem's].",
        ),
    ] = None,
    backend: BackendOpt = "docker",
    heldout: Annotated[
        bool,
        typer.Option(
            "--heldout",
            help="Score on the problem's held-out split (its `heldout:` files, DGM_SPLIT=heldout).",
        ),
    ] = False,
) -> None:
    """Score the problem's seed program (or --program) with its evaluator, in the sandbox."""
    from benchmarks.problems import Evaluator, ProblemError, load, open_problem_backend
    from dgm.heldout import check_heldout
    from sandbox import SandboxError
    from sandbox.protocol import MAX_SECONDS

    if timeout is not None:
        in_range("--timeout", timeout, 0.1, MAX_SECONDS)

    try:
        problem = load(path)
        if heldout:
            check_heldout(problem)  # before the sandbox starts
        if timeout is not None:
            problem.timeout_s = timeout
        candidate = problem.seed()
        if program is not None:
            if not program.is_file():
                raise UserError(f"--program {program}: no such file")
            candidate[problem.main_file] = read_utf8(
                program, UserError, "give a source file", shown=f"--program {program}"
            )
        note = (lambda _m: None) if json_out else (lambda m: typer.echo(m, err=True))
        with open_problem_backend(
            problem, backend, pool_size=1, run_label="problem-score", step=note
        ) as be:
            result = Evaluator(problem, be, "heldout" if heldout else "train").evaluate(candidate)
    except (ProblemError, SandboxError) as e:
        raise UserError(str(e)) from None
    report = {
        "problem": problem.name,
        "layout": problem.layout,
        "split": "heldout" if heldout else "train",
        **result.model_dump(),
    }
    typer.echo(json.dumps(report) if json_out else json.dumps(report, indent=2))
    if not result.ok:
        raise typer.Exit(1)
