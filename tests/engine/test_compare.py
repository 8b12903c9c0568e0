"""dgm.compare on runs written to a real archive: curves, the 95%-gain figures, children
counts, the seed sweep's median and interquartile band, raw scores with their direction."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive import open_archive
from dgm.compare import band, compare_runs, groups, quartiles, raw_band, resolve_runs
from dgm.errors import UserError
from dgm.seeds import parse_seeds, seed_overrides
from tests.ui import compare_sample
from tests.ui.compare_sample import CALL_USD


@pytest.fixture
def sample(tmp_path: Path):  # type: ignore[no-untyped-def]
    with open_archive(tmp_path / "a.db") as archive:
        yield archive, compare_sample.build(archive)


def test_each_runs_row_matches_what_its_archive_holds(sample: tuple) -> None:
    archive, s = sample
    c = compare_runs(archive, [*s.sweep, s.other])
    assert c.direction == "min"
    rows = {r.run_id: r for r in c.rows}
    expected = {  # final best, evaluations to 95%, USD to 95%, valid children, duplicates
        s.sweep[0]: (5.0, 4, 4 * CALL_USD, 3, 1),
        s.sweep[1]: (4.0, 4, 3 * CALL_USD, 3, 1),
        s.sweep[2]: (7.0, 3, 2 * CALL_USD, 3, 1),
        s.other: (8.0, 5, 4 * CALL_USD, 4, 0),
    }
    for run_id, (final, evals, usd, valid, dup) in expected.items():
        r = rows[run_id]
        best = archive.best_agent(run_id)
        assert r.final_best == -best.score == final  # raw: a 'min' problem's own number
        assert r.first_best == compare_sample.SEED_SCORE
        assert r.evaluations_to_95 == evals
        assert r.usd_to_95 == pytest.approx(usd)
        assert r.children_born == 4 and r.children_valid == valid
        assert r.children_duplicate == dup
        assert r.evaluations == sum(a.n_evaluated for a in archive.agents(run_id))
        assert r.usd == pytest.approx(sum(x.cost_usd for x in archive.llm_calls(run_id)))
    assert rows[s.sweep[0]].rejected == {"changes nothing": 1}
    assert rows[s.sweep[0]].heldout_best == pytest.approx(5.5)
    assert rows[s.other].heldout_best is None


def test_a_seed_sweep_is_one_group_drawn_as_median_and_quartiles(sample: tuple) -> None:
    archive, s = sample
    c = compare_runs(archive, [*s.sweep, s.other])
    sweep, other = groups(c.curves)
    assert [x.run_id for x in sweep] == s.sweep and [x.run_id for x in other] == [s.other]
    b = raw_band(band(sweep, "evaluations"), "min")
    assert b.x == [1, 2, 3, 4]
    # after 2 evaluations the three runs' best are 9, 8 and 10: median 9, quartiles 8.5..9.5
    assert (b.median[1], b.low[1], b.high[1]) == (9.0, 8.5, 9.5)
    assert b.median[-1] == 5.0  # bests 5, 4, 7 at the end
    assert all(lo <= m <= hi for lo, m, hi in zip(b.low, b.median, b.high, strict=True))
    dollars = band(sweep, "usd")
    assert dollars.x[0] == 0.0 and dollars.x[-1] == pytest.approx(4 * CALL_USD)


def test_quartiles_of_one_run_are_its_value() -> None:
    assert quartiles([3.0]) == (3.0, 3.0, 3.0)
    assert quartiles([1.0, 2.0, 3.0, 4.0, 5.0]) == (2.0, 3.0, 4.0)


def test_bad_selections_are_user_errors(sample: tuple, tmp_path: Path) -> None:
    archive, s = sample
    with pytest.raises(UserError, match="two or more runs"):
        resolve_runs(archive, [s.other])
    with pytest.raises(UserError, match="given twice"):
        resolve_runs(archive, [s.other, s.other[:8]])
    suite = archive.create_run("suite-run", config={"suite": "swe-mini"})
    with pytest.raises(UserError, match="different directions"):
        compare_runs(archive, [s.other, suite])


def test_seeds_are_ranges_and_lists_each_once_in_order() -> None:
    assert parse_seeds("1-5") == [1, 2, 3, 4, 5]
    assert parse_seeds("3, 1-2,3,9") == [3, 1, 2, 9]
    assert parse_seeds("0") == [0]
    assert seed_overrides({"name": "sweep", "seed": None}, 4) == {"name": "sweep-seed4", "seed": 4}
    assert seed_overrides({"name": None, "seed": None}, 4)["name"] is None
