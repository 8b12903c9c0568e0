"""The compare page: pick runs, see `dgm compare`'s figure and table for them.

`/compare` lists the archive's runs with a checkbox each (a plain GET form: no script);
`/compare?runs=ID,ID` (or the form's repeated `runs`) shows the chosen runs' figure,
served as `/compare/chart.png?runs=...` by dgm.report's `compare_png`, and their table,
both from dgm.compare: the same numbers as the command.
"""

from __future__ import annotations

from archive import Archive, ArchiveError
from archive.info import objective
from dgm.compare import HEADERS, Comparison, cells, compare_runs, direction_text, resolve_runs
from dgm.display import score, usd
from dgm.errors import UserError
from dgm.ui.html import esc, href, page, run_link


def run_ids(archive: Archive, given: str | None) -> list[str]:
    """The runs a query names (ids or prefixes, comma-separated); [] for none."""
    refs = [r.strip() for r in (given or "").split(",") if r.strip()]
    return resolve_runs(archive, refs) if refs else []


def picker(archive: Archive, chosen: list[str]) -> str:
    rows = []
    for r in archive.runs():
        checked = " checked" if r.id in chosen else ""
        rows.append(
            f'<tr><td><input type="checkbox" name="runs" value="{esc(r.id)}"{checked}></td>'
            f"<td>{run_link(r.id)}</td><td>{esc(r.name)}</td>"
            f'<td><span class="status {esc(r.status)}">{esc(r.status)}</span></td>'
            f"<td class=num>{score(objective(r.best_score, r.direction))}</td>"
            f"<td>{esc(r.direction or 'resolved fraction')}</td></tr>"
        )
    if not rows:
        return '<p class="empty-note">No runs in this archive yet.</p>'
    head = "<tr><th></th><th>run</th><th>name</th><th>status</th><th>best</th><th>scores</th></tr>"
    return (
        f'<form method="get" action="{href("compare")}" class="compare-pick">'
        f'<table class="grid runs"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
        '<p><button type="submit">Compare the runs ticked</button></p></form>'
    )


def table(c: Comparison) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in HEADERS)
    rows = []
    for r in c.rows:
        text = [esc(v) for v in cells(r, score, usd)]
        text[0] = run_link(r.run_id)
        rows.append("<tr>" + "".join(f"<td>{v}</td>" for v in text) + "</tr>")
    return (
        f'<table class="grid compare"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def compare_page(archive: Archive, given: str | None) -> str:
    """The picker, and for two or more chosen runs their figure and table (or why not)."""
    try:
        chosen = run_ids(archive, given)
        comparison = compare_runs(archive, chosen) if chosen else None
    except (UserError, ArchiveError) as e:
        chosen, comparison = [], None
        note = f'<p class="error-note">{esc(e)}</p>'
    else:
        note = ""
    result = ""
    if comparison is not None:
        shown = direction_text(comparison.direction)
        chart = href("compare", "chart.png", runs=",".join(chosen))
        result = (
            f"<h2>Best so far (scores {esc(shown)})</h2>"
            f'<img class="compare-chart" src="{chart}" alt="best so far against evaluations, dollars and wall time">'
            f"<h2>Table</h2>{table(comparison)}"
            "<p>Evals and USD to 95%: spent when the best first reached 95% of the run's gain "
            "over its first score (- when it gained nothing). A seed sweep is drawn as its "
            "median with the interquartile band.</p>"
        )
    body = f"<h1>Compare runs</h1>{note}{result}<h2>Runs</h2>{picker(archive, chosen)}"
    return page("compare", body, crumbs=[(href("compare"), "compare")])


def chart_png(archive: Archive, given: str | None) -> bytes:
    """The figure of `dgm compare` for the runs named; a UserError for a bad selection."""
    from dgm.report import compare_png

    return compare_png(compare_runs(archive, run_ids(archive, given)))
