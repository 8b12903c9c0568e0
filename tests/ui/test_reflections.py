"""A ReEvo run's page in the real UI server: the long-term reflections with the elite each
guides, and every crossover with its parent, second parent, child and short-term
reflection (a failed crossover's too), scores raw for a 'min' problem, text escaped."""

from __future__ import annotations

import re

from archive import Archive, open_archive
from tests.ui.conftest import serving
from tests.ui.sample import SCRIPT
from tests.ui.test_server import get

SHORT = "Prefer far nodes first."
LONG = "Visit far nodes early."


def reevo_run(a: Archive) -> dict[str, str]:
    """A 'min' problem run: a seed, two initial programs, a crossover child, a crossover
    that failed, a mutation of the elite; the reflections as the ReEvo operator stores them."""
    run = a.create_run("reevo-tsp", config={"operator": "reevo"}, direction="min")
    ids = {"run": run, "seed": a.add_agent(run, {"h.py": b"seed\n"}, operator="seed")}
    for role, length in (("worse", 7.5), ("better", 6.25)):
        ids[role] = a.add_agent(
            run,
            {"h.py": role.encode()},
            parent_id=ids["seed"],
            operator="reevo",
            origin={"kind": "initial", "iteration": len(ids)},
        )
        a.set_agent_score(ids[role], "problem", -length)
        a.set_agent_status(ids[role], "evaluated")
    a.put_reflection(run, "short", 1, 3, f"{SHORT} {SCRIPT}", [ids["worse"], ids["better"]])
    ids["child"] = a.add_agent(
        run,
        {"h.py": b"child\n"},
        parent_id=ids["better"],
        second_parent_id=ids["worse"],
        operator="reevo",
        origin={
            "kind": "crossover",
            "parents": [ids["better"], ids["worse"]],
            "reflection": f"{SHORT} {SCRIPT}",
            "iteration": 3,
        },
    )
    a.set_agent_score(ids["child"], "problem", -5.75)
    a.set_agent_status(ids["child"], "evaluated")
    a.put_reflection(
        run, "short", 1, 4, "a pair whose crossover failed", [ids["worse"], ids["child"]]
    )
    a.put_reflection(run, "long", 1, 5, LONG, [ids["child"]])
    return ids


def test_the_run_page_shows_reflections_and_second_parents(archive_url: str) -> None:
    with open_archive(archive_url) as a:
        ids = reevo_run(a)
        plain = a.create_run("no-crossovers")
        a.add_agent(plain, {"x.py": b"x\n"})
    with serving(archive_url) as server:
        r = get(server, f"/runs/{ids['run']}")
        assert r.status == 200
        html = r.read().decode()
        assert "<h2>Reflections and crossovers</h2>" in html
        section = html[html.index("Reflections and crossovers") :]
        assert "<script>" not in section and "&lt;script&gt;" in section

        longs = section[section.index("Long-term reflections") : section.index("<h3>Crossovers")]
        assert LONG in longs and f"/agents/{ids['child']}" in longs

        rows = re.findall(r"<tr><td class=num>(\d+)</td>(.*?)</tr>", section, re.S)
        by_iteration = dict(rows)
        assert set(by_iteration) == {"1", "3", "4"}  # the long-term row (generation 1) too
        made = by_iteration["3"]
        links = re.findall(r'href="/agents/([0-9a-f]+)"', made)
        assert links == [ids["better"], ids["worse"], ids["child"]]  # parent, second, child
        assert "5.750" in made and SHORT in made  # the child's raw tour length, its reflection
        failed = by_iteration["4"]
        assert re.findall(r'href="/agents/([0-9a-f]+)"', failed) == [ids["child"], ids["worse"]]
        assert "no child (the crossover failed)" in failed
        assert "a pair whose crossover failed" in failed

        summary = html[html.index('data-section="summary"') :]
        assert "5.750" in summary[: summary.index("</dl>")]  # the best, raw (min)

        child = get(server, f"/agents/{ids['child']}").read().decode()
        assert f"/agents/{ids['worse']}" in child and "(crossover)" in child and "5.750" in child
        assert "6.250" in child and "-6.250" not in child  # its lineage, raw tour lengths

        other = get(server, f"/runs/{plain}").read().decode()
        assert "Reflections and crossovers" not in other
