"""The compare page: pick runs, see `dgm compare`'s figure and table for them.

`/compare` lists the archive's runs with a checkbox each (a plain GET form: no script);
`/compare?runs=ID,ID` (or the form's repeated `runs`) shows the chosen runs' figure,
served as `/compare/chart.png?runs=...` by dgm.report's `compare_png`, and their table,
both from dgm.compare: the same numbers as the command.
"""

from __future__ import annotations

from archive import Archive, ArchiveError
from archive.info import objective
from dgm.compare import HEADERS, cells, compare_runs, direction_text, resolve_runs
from dgm.display import score, usd
from dgm.errors import UserError
from dgm.ui.html import href, page, render


def run_ids(archive: Archive, given: str | None) -> list[str]:
    """The runs a query names (ids or prefixes, comma-separated); [] for none."""
    refs = [r.strip() for r in (given or "").split(",") if r.strip()]
    return resolve_runs(archive, refs) if refs else []


def compare_page(archive: Archive, given: str | None) -> str:
    """The picker, and for two or more chosen runs their figure and table (or why not)."""
    error = ""
    try:
        chosen = run_ids(archive, given)
        comparison = compare_runs(archive, chosen) if chosen else None
    except (UserError, ArchiveError) as e:
        chosen, comparison, error = [], None, str(e)
    body = render(
        "compare.html",
        error=error,
        runs=archive.runs(),
        chosen=chosen,
        comparison=comparison,
        shown=direction_text(comparison.direction) if comparison else "",
        chart=href("compare", "chart.png", runs=",".join(chosen)),
        headers=HEADERS,
        rows=[(r.run_id, cells(r, score, usd)) for r in comparison.rows] if comparison else [],
        objective=objective,
    )
    return page("compare", body, crumbs=[(href("compare"), "compare")])


def chart_png(archive: Archive, given: str | None) -> bytes:
    """The figure of `dgm compare` for the runs named; a UserError for a bad selection."""
    from dgm.report import compare_png

    return compare_png(compare_runs(archive, run_ids(archive, given)))
