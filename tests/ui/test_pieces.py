"""The pure parts of the UI: highlighting, side-by-side rows, progress, jobs in flight, charts."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from archive import CandidateStats, EventInfo
from dgm.ui import charts, highlight, pages
from dgm.ui.html import TEMPLATES, href, render


def test_highlight_escapes_and_colours() -> None:
    (out,) = highlight.highlight("a.py", ['def f(x): return "<b>" + 1  # <i>'])
    assert '<span class="k">def</span>' in out and '<span class="f">f</span>' in out
    assert '<span class="s">&quot;&lt;b&gt;&quot;</span>' in out
    assert '<span class="c"># &lt;i&gt;</span>' in out and "<b>" not in out and "<i>" not in out
    assert '<span class="n">1</span>' in out


def test_a_string_spanning_lines_is_coloured_on_each() -> None:
    lines = ['x = """first', "def not_code(): <script>", '"""', "y = 2"]
    out = highlight.highlight("a.py", lines)
    assert len(out) == 4 and out[1] == '<span class="s">def not_code(): &lt;script&gt;</span>'
    assert '<span class="n">2</span>' in out[3]


def test_every_language_by_its_file_name_and_unknown_ones_plain() -> None:
    (js,) = highlight.highlight("app.js", ["function f() { return '<x>'; } // c"])
    assert (
        '<span class="k">function</span>' in js
        and '<span class="s">&#x27;&lt;x&gt;&#x27;</span>' in js
    )
    assert '<span class="c">// c</span>' in js
    (yml,) = highlight.highlight("problem.yaml", ["name: tsp  # a comment"])
    assert '<span class="c"># a comment</span>' in yml
    (sh,) = highlight.highlight("run.sh", ["echo hi # there"])
    assert '<span class="c"># there</span>' in sh
    assert highlight.highlight("notes.unknown-ext", ["def <b>"]) == ["def &lt;b&gt;"]
    lines = ["a\x0cb", "c"]  # a form feed is no line break in a diff's rows
    assert len(highlight.highlight("a.py", lines)) == 2


def test_side_by_side_rows_pair_changes_and_keep_context() -> None:
    old = "".join(f"line {i}\n" for i in range(20)).encode()
    new = old.replace(b"line 10\n", b"line ten\nextra\n")
    rows = highlight.file_rows(old, new)
    assert rows is not None
    kinds = [r.kind for r in rows]
    assert kinds == ["skip", "same", "same", "same", "chg", "add", "same", "same", "same"]
    assert (rows[4].left, rows[4].right, rows[5].left_no, rows[5].right_no) == (
        "line 10",
        "line ten",
        None,
        12,
    )
    assert highlight.file_rows(b"\0bin", b"x") is None
    html = highlight.side_by_side({"a.py": old}, {"a.py": new, "b/<x>.py": b"y = 1\n"})
    assert "2 file(s) changed" in html and "b/&lt;x&gt;.py" in html and "added" in html


def stats(*rows: tuple[str, str | None, str, float | None]) -> list[CandidateStats]:
    return [CandidateStats(a, p, 0, st, s, 0, 0, 0) for a, p, st, s in rows]


def test_progress_is_best_so_far_and_mean_of_evaluated() -> None:
    p = pages.progress(
        stats(
            ("a", None, "evaluated", 0.2),
            ("b", "a", "rejected", 0.9),
            ("c", "a", "evaluated", 0.6),
            ("d", "c", "evaluated", 0.4),
        )
    )
    assert p.best_curve == [(0.0, 0.2), (1.0, 0.2), (2.0, 0.6), (3.0, 0.6)]
    assert [round(m, 3) for _, m in p.mean_curve] == [0.2, 0.2, 0.4, 0.4]
    assert (
        p.evaluated == 3 and p.best is not None and p.best.agent_id == "b"
    )  # the top score, any status
    many = pages.progress(stats(*[(str(i), None, "evaluated", i / 10_000) for i in range(10_000)]))
    assert len(many.best_curve) <= charts.MAX_POINTS + 1 and many.best_curve[-1] == (9999.0, 0.9999)


def test_in_flight_pairs_starts_with_ends() -> None:
    def ev(kind: str, **payload: object) -> EventInfo:
        return EventInfo(0, "r", kind, dict(payload), 0.0)

    events = [  # oldest first, as in the log
        ev("session_started"),
        ev("job_started", job="expand", iteration=1, parent="aaaaaaaaaaaa"),
        ev("job_started", job="expand", iteration=2, parent="bbbbbbbbbbbb"),
        ev("job_finished", job="expand", iteration=1, child="cccccccccccc"),
        ev("stage_started", agent="cccccccccccc", stage="small", tasks=["t1", "t2"]),
        ev("stage_started", agent="dddddddddddd", stage="full", tasks=["t1"]),
        ev("agent_finalised", agent="dddddddddddd"),
    ]
    jobs = pages.in_flight(list(reversed(events)))
    assert jobs == [
        "expanding bbbbbbbb (iteration 2)",
        "evaluating cccccccc at stage small (2 task(s))",
    ]
    assert pages.in_flight(list(reversed([*events, ev("session_stopped")]))) == []


def test_links_are_encoded_paths() -> None:
    assert href("agents", "javascript:alert(1)") == "/agents/javascript%3Aalert%281%29"
    assert href("runs", 'a"b', "diff", against="<x>") == "/runs/a%22b/diff?against=%3Cx%3E"


def test_chart_ticks_and_empty() -> None:
    svg = charts.line_chart(
        [charts.Series("best", "best", [(0.0, 0.1), (100_000.0, 0.9)])], "iteration", "score"
    )
    assert "100k" in svg and "<polyline" in svg
    assert "Nothing to plot" in charts.line_chart([charts.Series("x", "x", [])], "a", "b")


def test_a_big_file_of_repeated_lines_is_diffed() -> None:
    """An agent can write any file: 20k copies of one line made exact matching take minutes
    of CPU (a page nobody could open, a core taken from the server)."""
    old = b"\n".join(b"    pass" for _ in range(20000))
    new = old.replace(b"    pass", b"    return 1", 1)
    rows = highlight.file_rows(old, new)
    assert rows is not None
    assert any(r.right == "    return 1" and r.kind in ("chg", "add") for r in rows)


def test_pages_are_templates_that_escape_every_value() -> None:
    """Every template escapes (whatever its name ends in), and no Python module of the UI
    writes HTML in a string: the highlighter's token spans are the one exception."""
    assert TEMPLATES.autoescape is True and len(TEMPLATES.list_templates()) >= 10
    hostile = '<script>alert(1)</script>"'
    out = render("message.html", heading=hostile, text=hostile)
    assert "<script>" not in out and out.count("&lt;script&gt;") == 2
    tags = "a|b|p|div|span|pre|code|table|tr|td|th|h[1-6]|section|svg|ul|li|dl|dt|dd|img|form"
    markup = re.compile(rf"</?({tags})[\s>/]")
    written = []
    for path in sorted(Path(pages.__file__).parent.glob("*.py")):
        tree = ast.parse(path.read_text())
        docs = {
            id(n.body[0].value)
            for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef))
            and n.body
            and isinstance(n.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                tag = markup.search(node.value)
                if tag and id(node) not in docs and not _token_span(path.name, node.value):
                    written.append(f"{path.name}:{node.lineno}: {node.value[:40]!r}")
    assert written == []


def _token_span(module: str, text: str) -> bool:
    return module == "highlight.py" and text in ('<span class="', "</span>")
