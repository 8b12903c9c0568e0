"""The UI's archive queries agree with the store's own, on SQLite and PostgreSQL."""

from __future__ import annotations

from archive import open_archive, ui_queries
from tests.ui import sample


def test_views_match_the_store(archive_url: str) -> None:
    with open_archive(archive_url) as archive:
        ids = sample.build(archive)
        rows = ui_queries.evaluation_rows(archive, ids["child"])
        full = archive.evaluations(ids["child"])
        assert [(r.seq, r.task_id, r.resolved, r.score) for r in rows] == [
            (e.seq, e.task_id, e.resolved, e.score) for e in full
        ]
        assert ui_queries.evaluation(archive, ids["child"], 2) == full[1]
        call = ui_queries.llm_call(archive, ids["call"])
        assert call == archive.llm_calls(ids["run"])[0]
        assert ui_queries.second_parents(archive, [ids["cross"], ids["child"]]) == {
            ids["cross"]: ids["other"]
        }
        kinds = [e.kind for e in ui_queries.recent_events(archive, ids["run"], 2)]
        assert kinds == ["expansion_failed", "job_started"]
        assert ui_queries.count_events(archive, ids["run"], "expansion_failed") == 1
        buckets = ui_queries.cost_buckets(archive, ids["run"], archive.run(ids["run"]).created_at)
        assert (
            sum(b.calls for b in buckets) == 1 and abs(sum(b.usd for b in buckets) - 0.0123) < 1e-9
        )
        before = ui_queries.run_fingerprint(archive, ids["run"])
        assert ui_queries.run_fingerprint(archive, ids["run"]) == before
        archive.set_agent_score(ids["seed"], "full", 0.3)
        assert ui_queries.run_fingerprint(archive, ids["run"]) != before
