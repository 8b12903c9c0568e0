"""SWE-bench grading agrees with the official harness, on real evaluation logs.

The fixtures (tests/benchmarks/fixtures/swebench_logs, provenance in its PROVENANCE.md)
are real `test_output.txt` files with the `report.json` the official harness wrote beside
each. Every log is graded the way `dgm bench grade` grades it by default (the official
parser of the instance's repository, the official verdict), and compared with the report:
`resolved`, whether the patch applied, and the success/failure list of every test.

The instance's test lists are read back from the report (success plus failure of each
category is the dataset's FAIL_TO_PASS / PASS_TO_PASS).

Two logs are known to differ, by a rule of the harness itself: swebench 2.0.x, which
wrote those reports, cut a parametrised id at its first space, so the dataset names
`test_unparse[(1,`; swebench 5.0.2 keeps whole ids and resolves a truncated one by
prefix, calling it failed when the candidates disagree (SWE-bench issue #290). dgm uses
5.0.2's rule, as the current official harness does.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import swebench

pytestmark = pytest.mark.timeout(600)
FIXTURES = Path(__file__).parent / "fixtures" / "swebench_logs"
VERSION_DIFFERENCES = {
    "astropy__astropy-14369.055": "astropy/units/tests/test_format.py::test_cds_grammar_fail[km",
    "sphinx-doc__sphinx-9367.132": "tests/test_pycode_ast.py::test_unparse[(1,",
}
CATEGORIES = ("FAIL_TO_PASS", "PASS_TO_PASS")


def load(case: Path) -> tuple[dict, dict, str]:
    """(the instance as the report implies it, the official report, the log)."""
    instance_id = case.name.rsplit(".", 1)[0]
    report = json.loads((case / "report.json").read_text())[instance_id]
    lists = report.get("tests_status") or {c: {"success": [], "failure": []} for c in CATEGORIES}
    raw = {
        "instance_id": instance_id,
        "repo": instance_id.rsplit("-", 1)[0].replace("__", "/"),
        "base_commit": "",
        "problem_statement": "",
        "patch": "",
        "test_patch": "",
        "version": "",
        **{c: lists[c]["success"] + lists[c]["failure"] for c in CATEGORIES},
    }
    log = gzip.decompress((case / "test_output.txt.gz").read_bytes()).decode(
        "utf-8", errors="replace"
    )
    return raw, report, log


def disagreements(raw: dict, report: dict, log: str) -> list[str]:
    patch = None if report["patch_is_None"] else "-"  # what the prediction held decides too
    ours = swebench.grade_log(swebench.to_task(raw), raw, log, patch)
    diffs = []
    if ours.resolved != report["resolved"]:
        diffs.append(f"resolved {ours.resolved} != {report['resolved']}")
    if ours.patch_applied != report["patch_successfully_applied"]:
        diffs.append(f"applied {ours.patch_applied} != {report['patch_successfully_applied']}")
    for cat in CATEGORIES if "tests_status" in report else ():
        for side in ("success", "failure"):
            mine, theirs = (
                set(getattr(getattr(ours, cat), side)),
                set(report["tests_status"][cat][side]),
            )
            diffs += [f"{cat} {side}: {t}" for t in sorted(mine ^ theirs)]
    return diffs


def test_grading_agrees_with_every_official_report() -> None:
    cases = sorted(p for p in FIXTURES.iterdir() if p.is_dir())
    repos = {load(c)[0]["repo"] for c in cases}
    assert len(cases) >= 40 and len(repos) >= 10, "the fixtures went missing"
    agree, differ = [], {}
    for case in cases:
        diffs = disagreements(*load(case))
        (differ.__setitem__(case.name, diffs) if diffs else agree.append(case.name))
    compared = [c.name for c in cases if c.name not in VERSION_DIFFERENCES]
    print(
        json.dumps(
            {
                "logs": len(compared),
                "repos": len(repos),
                "agree": len([a for a in agree if a in compared]),
                "agreement": len([a for a in agree if a in compared]) / len(compared),
            }
        )
    )
    assert not {k: v for k, v in differ.items() if k not in VERSION_DIFFERENCES}
    # the known harness-version difference, and only it
    for name, test_id in VERSION_DIFFERENCES.items():
        assert all(test_id in d for d in differ[name] if "resolved" not in d), differ[name]


def test_bench_grade_uses_the_official_parser_by_default(tmp_path: Path) -> None:
    """Django's runner output is not pytest's: the generic parser would find no tests."""
    case = FIXTURES / "django__django-11066.380"
    raw, report, log = load(case)
    (tmp_path / "instance.json").write_text(json.dumps(raw))
    (tmp_path / "test_output.txt").write_text(log)
    dgm = [str(Path(sys.executable).parent / "dgm")]
    args = [
        "bench",
        "grade",
        "--instance",
        str(tmp_path / "instance.json"),
        "--log",
        str(tmp_path / "test_output.txt"),
        "--json",
    ]
    out = subprocess.run([*dgm, *args], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    ours = json.loads(out.stdout)[raw["instance_id"]]
    assert ours["resolved"] == report["resolved"] is True
    assert ours["tests_status"]["PASS_TO_PASS"] == report["tests_status"]["PASS_TO_PASS"]
    generic = subprocess.run(
        [*dgm, *args, "--parser", "pytest"], capture_output=True, text=True, timeout=300
    )
    assert (
        json.loads(generic.stdout)[raw["instance_id"]]["resolved"] is False
    )  # asked for, it really differs


def test_a_repository_without_an_official_parser_is_an_error_not_a_fallback() -> None:
    raw, _, log = load(FIXTURES / "django__django-11066.380")
    raw = {**raw, "repo": "someone/unknown"}
    with pytest.raises(
        swebench.SWEBenchError, match="no log parser for repository 'someone/unknown'"
    ):
        swebench.grade_log(swebench.to_task(raw), raw, log)
