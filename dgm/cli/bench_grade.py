"""`dgm bench grade --predictions FILE --suite SUITE`: a predictions file graded as
SWE-bench's harness grades it, its files and summary written as the harness writes them
(benchmarks/predictions.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from dgm.cli.common import plain
from dgm.errors import UserError, in_range

err = Console(stderr=True, soft_wrap=True)  # a line a test or a script greps
out = Console(soft_wrap=True)


def grade_file(
    predictions: Path,
    suite_spec: str,
    out_dir: Path,
    run_id: str,
    *,
    workers: int,
    timeout_s: float,
    sandbox: str,
    open_backend: Callable[[str], Any],
    progress: Progress,
    json_out: bool,
) -> None:
    """Grade the file; the caller turns the lower rooms' errors into user errors.
    `open_backend(run_label)` opens the sandbox backend; `progress` shows the grading."""
    from benchmarks.predictions import (
        Graded,
        PredictionsError,
        grade_predictions,
        read_predictions,
    )
    from benchmarks.suites import open_suite
    from sandbox.protocol import MAX_SECONDS

    in_range("--timeout", timeout_s, 1, MAX_SECONDS)
    if not run_id or any(c in run_id for c in "/\\\x00") or run_id in (".", ".."):
        raise UserError(f"--run-id {run_id!r} cannot name a folder: give a short name")
    if not predictions.is_file():
        raise UserError(f"no such predictions file {predictions}")
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {out_dir} is not a folder: give a folder to write the logs in")
    suite = open_suite(suite_spec, sandbox=sandbox)
    try:
        preds = read_predictions(predictions, (t.instance_id for t in suite.tasks()), suite.name)
    except PredictionsError as e:
        raise UserError(str(e)) from None
    by_id = {t.instance_id: t for t in suite.tasks()}
    suite.check([by_id[p.instance_id] for p in preds if p.model_patch])  # e.g. a missing image
    with open_backend(f"grade-{run_id}") as be, closing(suite), progress:
        bar = progress.add_task(f"grading {suite.name}", total=len(preds), note="")
        resolved = 0

        def done(g: Graded) -> None:
            nonlocal resolved
            resolved += bool(g.result is not None and g.result.resolved)
            progress.update(bar, advance=1, note=f"{resolved} resolved")

        summary = grade_predictions(
            suite, preds, be, out_dir, run_id, workers=workers, timeout_s=timeout_s, done=done
        )
    name = f"{preds[0].model_dir}.{run_id}.json"
    if json_out:
        print(json.dumps(summary, indent=4))
        return
    out.print(
        plain(
            f"{summary['resolved_instances']} of {summary['submitted_instances']} resolved "
            f"({summary['unresolved_instances']} unresolved, {summary['empty_patch_instances']} "
            f"empty patches, {summary['error_instances']} errors); summary {out_dir / name}, "
            f"logs {out_dir / 'logs' / 'run_evaluation' / run_id}"
        )
    )
