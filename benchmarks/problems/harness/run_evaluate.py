"""Inside the sandbox: load an evaluator file as OpenEvolve does, call
`evaluate(program_path)`, and write what it returned as JSON for the host.

    python3 run_evaluate.py EVALUATOR_FILE PROGRAM_FILE RESULT_FILE

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


def main():
    evaluator, program, result_file = sys.argv[1:4]
    eval_dir = os.path.dirname(os.path.abspath(evaluator))
    if eval_dir not in sys.path:
        sys.path.insert(0, eval_dir)
    spec = importlib.util.spec_from_file_location("evaluation_module", evaluator)
    module = importlib.util.module_from_spec(spec)
    sys.modules["evaluation_module"] = module
    spec.loader.exec_module(module)
    if not hasattr(module, "evaluate"):
        raise SystemExit(f"{evaluator} defines no evaluate(program_path) function")
    result = module.evaluate(program)
    if isinstance(result, dict):
        metrics, artifacts = result, {}
    elif hasattr(result, "metrics") and isinstance(result.metrics, dict):
        metrics, artifacts = result.metrics, dict(getattr(result, "artifacts", None) or {})
    else:
        raise SystemExit(
            f"evaluate() returned a {type(result).__name__}, not a dict or an EvaluationResult"
        )
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
