"""Admission of a child before evaluation: reject what cannot possibly be a better agent.

After its evaluation, an agent of a suite run whose every patch was empty is not admitted
(`no_patch`, DGM's filter). Before it, a child is rejected, with the reason recorded, when it
- changes nothing (its files equal its parent's),
- does not compile (any `.py` file it adds or changes; `compile()` parses, it never executes the code), or
- breaks the agent contract: `python -m agent --repo R --problem P --out O` must still
  exist (an `agent` package with `__main__.py`) and still name those three options (as string literals);
  a child of an agent in DGM's format must keep `coding_agent.py` and its five options.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from dgm.agent_format import dgm_breach, kind_of
from dgm.mutators import EvalView
from dgm.mutators.focus import is_empty

CONTRACT_OPTIONS = ("--repo", "--problem", "--out")


def package_root(files: Mapping[str, bytes]) -> str:
    """'agent/' when the files are laid out as the package folder, else '' (package contents)."""
    return "agent/" if "agent/__main__.py" in files else ""


def rejection(
    parent: Mapping[str, bytes], child: Mapping[str, bytes], contract: bool = True
) -> str | None:
    """Why `child` must not be evaluated, or None. `contract=False`: a problem's program,
    which keeps no agent contract (only the first two checks apply)."""
    if dict(parent) == dict(child):
        return "changes nothing: the child's code equals its parent's"
    for path in sorted(child):
        if not path.endswith(".py") or parent.get(path) == child[path]:
            continue  # the parent's own files were admitted (or are the seed) already
        try:
            compile(child[path], path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as e:
            line = getattr(e, "lineno", None)
            return f"does not compile: {path}:{line}: {getattr(e, 'msg', str(e))}"
    if not contract:
        return None
    if kind_of(parent) == "dgm":
        return dgm_breach(child)
    root = package_root(parent)
    if f"{root}__main__.py" not in child:
        return (
            f"breaks the agent contract: {root}__main__.py is gone, so `python -m agent` cannot run"
        )
    source = "\n".join(v.decode(errors="replace") for p, v in child.items() if p.endswith(".py"))
    missing = [o for o in CONTRACT_OPTIONS if not re.search(rf"['\"]{o}['\"]", source)]
    if missing:
        return f"breaks the agent contract: the option(s) {', '.join(missing)} no longer appear in its code"
    return None


def no_patch(evaluations: Sequence[EvalView]) -> str | None:
    """Why an evaluated child is not admitted after all: every one of its patches was empty
    (DGM's filter, utils/evo_utils.py:114-119, applied whatever the admission rule); or None."""
    if evaluations and all(is_empty(e) for e in evaluations):
        return "every patch was empty: the agent changed no file on any task (DGM admits no such child)"
    return None
