"""Inside the sandbox: run one improver, as STOP's harness does, and hand back what it returns.

    python3 run_improver.py IMPROVER_FILE SOLUTION_FILE RESULT_FILE

Calls `improve(solution, utility, language_model)` (or STOP's name, `improve_algorithm`)
of IMPROVER_FILE on the text in SOLUTION_FILE and writes the string it returns to
RESULT_FILE. `utility` and `language_model` have STOP's interfaces; each call goes out
through the socket named in DGM_STOP_SOCKET to the host, which counts it against the
run's budgets. Past a budget the calls behave as STOP's: a language-model call raises
(an Exception, or an AssertionError for too many samples), which the improver may catch;
a utility call returns 0. Standard library only: this runs on the sandbox's Python.
"""

import http.client
import importlib.util
import json
import os
import random
import socket
import sys

# The exceptions STOP's LanguageModel raises past its budgets (language_model.py:97-100).
REFUSALS = {"Exception": Exception, "AssertionError": AssertionError}


class _Unix(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=3600)
        self.path_ = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path_)


def _call(endpoint, payload):
    """POST one request to the host; its JSON answer, or an exception the improver sees."""
    conn = _Unix(os.environ["DGM_STOP_SOCKET"])
    try:
        conn.request(
            "POST",
            endpoint,
            body=json.dumps(payload),
            headers={
                "Authorization": "Bearer " + os.environ["DGM_STOP_TOKEN"],
                "Content-Type": "application/json",
            },
        )
        resp = conn.getresponse()
        answer = json.loads(resp.read() or b"{}")
    finally:
        conn.close()
    if resp.status == 429:  # refused past a budget: STOP's exception, for the improver to catch
        raise REFUSALS.get(answer.get("raises"), Exception)(answer.get("error", "budget spent"))
    if resp.status != 200:
        raise RuntimeError(answer.get("error", f"HTTP {resp.status}"))
    return answer


class Utility:
    """STOP's utility: utility(solution) -> float, higher is better; `budget` calls allowed
    (counted by the host), `str` describes what is scored."""

    def __init__(self, budget, description):
        self.budget = budget
        self.str = description
        self.uses = 0

    def __call__(self, solution):
        self.uses += 1
        return float(_call("/utility", {"solution": solution})["score"])


class LanguageModel:
    """STOP's language model: `budget` calls, each of at most `max_responses_per_call`
    samples (both counted by the host)."""

    def __init__(self, budget, max_responses_per_call):
        self.budget = budget
        self.max_responses_per_call = max_responses_per_call
        self.times_used = 0

    def prompt(self, expertise, message, n_responses=1, temperature=0.7):
        """n_responses samples of one message, in one call (the host asks the model for them
        with `n` where it takes it, as STOP does: language_model.py:158-177)."""
        return self._lm([message], n_responses, expertise, temperature)

    def batch_prompt(self, expertise, message_batch, temperature=0.7):
        """One sample per message of the batch, in one call."""
        return self._lm(list(message_batch), 1, expertise, temperature)

    def _lm(self, messages, n, expertise, temperature):
        self.times_used += 1
        answer = _call(
            "/lm",
            {
                "system": str(expertise),
                "messages": [str(m) for m in messages],
                "n": int(n),
                "temperature": temperature,
            },
        )
        return list(answer["samples"])


def load(path):
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    spec = importlib.util.spec_from_file_location("improver", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["improver"] = module
    spec.loader.exec_module(module)
    improve = getattr(module, "improve", None) or getattr(module, "improve_algorithm", None)
    if not callable(improve):
        raise SystemExit(f"{path} defines no improve(solution, utility, language_model)")
    return improve


def main():
    improver, solution_file, result_file = sys.argv[1:4]
    random.seed(int(os.environ.get("DGM_STOP_SEED", "0")))
    budgets = json.loads(os.environ["DGM_STOP_BUDGETS"])
    with open(os.environ["DGM_STOP_DESCRIPTION"]) as f:
        description = f.read()
    with open(solution_file) as f:
        solution = f.read()
    utility = Utility(budgets["utility_calls"], description)
    language_model = LanguageModel(budgets["lm_calls"], budgets["samples_per_call"])
    result = load(improver)(solution, utility, language_model)
    if not isinstance(result, str):  # STOP's meta-utility counts such a run 0 (not a failure)
        sys.stderr.write(f"improve() returned a {type(result).__name__}, not a string\n")
        result = ""
    with open(result_file, "w") as f:
        f.write(result)


if __name__ == "__main__":
    main()
