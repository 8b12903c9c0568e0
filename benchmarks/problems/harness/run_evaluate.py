"""Inside the sandbox: load an evaluator file as OpenEvolve does, call
`evaluate(program_path)`, and write what it returned as JSON for the host.

    python3 run_evaluate.py EVALUATOR_FILE PROGRAM_FILE RESULT_FILE [--cascade T1,T2,...]

With --cascade, an evaluator that defines `evaluate_stage1` is scored as OpenEvolve's
`_cascade_evaluate` scores it (openevolve/evaluator.py, 0.4.1; see `cascade`).
The result file holds {"metrics": {...}, "artifacts": {...}}: finite numbers as floats,
anything else as {"repr": ...}; the host decides what is a valid score.
Standard library only: this runs on the sandbox's Python, next to the problem's packages.
"""

import base64
import importlib.util
import json
import math
import os
import sys
import traceback


def plain(value):
    """One metric for the host: a finite number as a float, anything else as {"repr": ...}."""
    try:
        number = float(value) if not isinstance(value, (str, bytes)) else None
    except (TypeError, ValueError, OverflowError):
        number = None
    if number is not None and math.isfinite(number):
        return number
    return {"repr": repr(value)[:500]}


def artifact(value):
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(value[:65536]).decode()
    return str(value)


def as_result(result):
    """(metrics, artifacts) of what an evaluate function returned."""
    if isinstance(result, dict):
        return dict(result), {}
    if hasattr(result, "metrics") and isinstance(result.metrics, dict):
        return dict(result.metrics), dict(getattr(result, "artifacts", None) or {})
    raise SystemExit(
        f"the evaluator returned a {type(result).__name__}, not a dict or an EvaluationResult"
    )


def passes(metrics, threshold):
    """OpenEvolve's _passes_threshold: combined_score if it is a number, else the mean of
    the numeric metrics but `error` (flags are not scores: booleans left out, as it does)."""
    score = metrics.get("combined_score")
    if isinstance(score, (int, float)):
        return float(score) >= threshold
    values = [
        float(v)
        for k, v in metrics.items()
        if k != "error" and isinstance(v, (int, float)) and not isinstance(v, bool)
    ]
    return bool(values) and sum(values) / len(values) >= threshold


def numeric(metrics):
    """The stage metrics OpenEvolve merges: numbers (booleans kept) but `error`."""
    return {
        k: (v if isinstance(v, bool) else float(v))
        for k, v in metrics.items()
        if k != "error" and isinstance(v, (int, float))
    }


def cascade(module, program, thresholds):
    """OpenEvolve's cascade: stage 1; past thresholds[0], stage 2 merged in; past
    thresholds[1], stage 3 merged in. An exception in stage 1 fails the evaluation (dgm
    records a failure where OpenEvolve scores error metrics); in stage 2 or 3 it keeps the
    earlier stages' result with `stageN_passed` 0, as OpenEvolve does."""
    metrics, artifacts = as_result(module.evaluate_stage1(program))
    if not passes(metrics, thresholds[0]) or not hasattr(module, "evaluate_stage2"):
        return metrics, artifacts
    if (
        stage(module, 2, program, metrics, artifacts)
        and len(thresholds) > 1
        and passes(metrics, thresholds[1])
        and hasattr(module, "evaluate_stage3")
    ):
        stage(module, 3, program, metrics, artifacts)
    return metrics, artifacts


def stage(module, n, program, metrics, artifacts):
    """Run stage `n` (2 or 3) and merge it into `metrics` and `artifacts` as OpenEvolve
    does; False when it raised (recorded in them as OpenEvolve records it)."""
    try:
        more, more_artifacts = as_result(getattr(module, f"evaluate_stage{n}")(program))
    except Exception as e:
        artifacts.update(
            {
                f"stage{n}_stderr": str(e),
                f"stage{n}_traceback": traceback.format_exc(),
                "failure_stage": f"stage{n}",
            }
        )
        metrics[f"stage{n}_passed"] = 0.0
        return False
    if n == 2:  # the merge keeps stage 1's numbers only
        kept = numeric(metrics)
        metrics.clear()
        metrics.update(kept)
    metrics.update(numeric(more))
    artifacts.update(more_artifacts)
    return True


def main():
    evaluator, program, result_file = sys.argv[1:4]
    thresholds = ()
    if sys.argv[4:5] == ["--cascade"]:
        thresholds = tuple(float(t) for t in sys.argv[5].split(","))
    eval_dir = os.path.dirname(os.path.abspath(evaluator))
    if eval_dir not in sys.path:
        sys.path.insert(0, eval_dir)
    spec = importlib.util.spec_from_file_location("evaluation_module", evaluator)
    module = importlib.util.module_from_spec(spec)
    sys.modules["evaluation_module"] = module
    spec.loader.exec_module(module)
    if thresholds and hasattr(module, "evaluate_stage1"):
        metrics, artifacts = cascade(module, program, thresholds)
    elif not hasattr(module, "evaluate"):
        raise SystemExit(f"{evaluator} defines no evaluate(program_path) function")
    else:
        metrics, artifacts = as_result(module.evaluate(program))
    out = {
        "metrics": {str(k): plain(v) for k, v in metrics.items()},
        "artifacts": {str(k): artifact(v) for k, v in artifacts.items()},
    }
    os.makedirs(os.path.dirname(os.path.abspath(result_file)), exist_ok=True)
    fd = os.open(result_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
