"""Turn a test log into {test id: status}.

The pytest parser reads the two places pytest names a test:
- the short summary of `-rA` (`PASSED path::test[id]`, `FAILED path::test[id] - message`);
- the verbose progress lines of `-v` (`path::test[id] PASSED   [ 50%]`), the only place a
  skipped test is named by its id (`-rA` prints `SKIPPED [1] path:line: reason`).

Parametrised ids may contain spaces, brackets and even ` - `; SWE-bench's `split()`-based
parser truncates those. A PASSED line has no message, so its whole rest is the id; on other
lines an id ends at the first `]` followed by the end of the line or by ` - ` (the separator
pytest puts before a message).

When a test is named more than once (a test that passed and then errored in teardown is
listed as PASSED and ERROR) the worse status wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable

PASSED, FAILED, ERROR, SKIPPED, XFAIL, XPASS = (
    "PASSED",
    "FAILED",
    "ERROR",
    "SKIPPED",
    "XFAIL",
    "XPASS",
)
STATUSES = (PASSED, FAILED, ERROR, SKIPPED, XFAIL, XPASS)
# Higher is worse; a later, worse report of the same test replaces a better one.
_SEVERITY = {PASSED: 0, XFAIL: 1, SKIPPED: 2, XPASS: 3, FAILED: 4, ERROR: 5}

_SUMMARY = re.compile(rf"^({'|'.join(STATUSES)}) (\S.*)$")
_VERBOSE = re.compile(rf"^(\S.*?::.+?) ({'|'.join(STATUSES)})(?: \(.*\))?\s+\[\s*\d+%\]\s*$")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def summary_test_id(rest: str) -> str:
    """The test id at the start of what follows the status word in a `-rA` summary line."""
    bracket = rest.find("[")
    dash = rest.find(" - ")
    if bracket != -1 and (dash == -1 or bracket < dash):
        for i in range(bracket, len(rest)):
            if rest[i] == "]" and (i + 1 == len(rest) or rest.startswith(" - ", i + 1)):
                return rest[: i + 1]
    return rest if dash == -1 else rest[:dash]


def parse_log_pytest(log: str) -> dict[str, str]:
    """{test id: status} from a pytest log run with `-rA` (and optionally `-v`)."""
    statuses: dict[str, str] = {}

    def note(test_id: str, status: str) -> None:
        test_id = test_id.strip()
        if not test_id or test_id.startswith("["):  # `SKIPPED [1] file:line` names no test
            return
        old = statuses.get(test_id)
        if old is None or _SEVERITY[status] >= _SEVERITY[old]:
            statuses[test_id] = status

    for raw in log.splitlines():
        line = _ANSI.sub("", raw).rstrip()
        if m := _SUMMARY.match(line):
            # pytest prints no message after PASSED, so the whole rest is the id
            rest = m.group(2)
            note(rest if m.group(1) == PASSED else summary_test_id(rest), m.group(1))
        elif m := _VERBOSE.match(line):
            note(m.group(1), m.group(2))
    return statuses


LogParser = Callable[[str], dict[str, str]]
PARSERS: dict[str, LogParser] = {"pytest": parse_log_pytest}
