"""The loop on a real archive and a real gateway (scripted model over the socket), with the
rule-based evaluator from conftest: growth, staged evaluation, admission, diff feedback,
budgets, crash + resume, reproducibility."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import pytest

from archive.info import objective
from dgm.config import Stage
from dgm.loop import Outcome
from dgm.problem_run import admit_program
from tests.engine.conftest import SEED, TASKS, Harness, SkillEvaluator, config, learn


def scores(h: Harness, run_id: str) -> list[float | None]:
    return [a.score for a in h.archive.agents(run_id)]


def test_children_improve_and_the_archive_shows_it(harness: Harness) -> None:
    cfg = config(selector="best", max_iterations=3)
    run = harness.new_run(cfg)
    reason, _ = harness.run(run, cfg, [learn("t1"), learn("t2"), learn("t3")])
    agents = harness.archive.agents(run)
    assert reason == "done: 3 iterations"
    assert [a.status for a in agents] == ["evaluated"] * 4
    assert scores(harness, run) == pytest.approx([0, 1 / 6, 2 / 6, 3 / 6])
    # best really picks the best: each child extends the previous one
    assert [a.parent_id for a in agents] == [None, agents[0].id, agents[1].id, agents[2].id]
    assert harness.archive.agent_files(agents[3].id)["skills.txt"] == b"skills:\nt3\nt2\nt1\n"
    pairs = harness.evaluated_pairs(run)
    assert len(pairs) == 4 * len(TASKS) and len(set(pairs)) == len(pairs)
    assert harness.archive.run(run).status == "finished"
    kinds = Counter(e.kind for e in harness.archive.events(run))
    assert kinds["job_started"] == kinds["job_finished"] == 3  # the expansions
    assert kinds["stage_started"] == 4 * 2 and kinds["stage_finished"] == 4  # small, then full
    assert kinds["agent_finalised"] == 4
    assert kinds["session_started"] == kinds["session_stopped"] == 1
    # the mutation prompts went through the gateway and are on record
    assert [c.purpose for c in harness.archive.llm_calls(run)] == ["mutate"] * 3


def test_staged_evaluation_gates_the_next_stage(harness: Harness) -> None:
    cfg = config(
        max_iterations=1,
        stages=[
            Stage(name="small", tasks="small"),
            Stage(name="full", tasks="full", threshold=0.5),
        ],
    )
    run = harness.new_run(cfg)
    harness.run(run, cfg, [learn("t1")])
    seed, child = harness.archive.agents(run)
    assert len(harness.archive.evaluations(seed.id)) == 2  # 0/2 on small: never enters full
    assert seed.scores == {"small": 0.0} and seed.status == "evaluated"
    assert len(harness.archive.evaluations(child.id)) == 6  # 1/2 on small: the full stage runs
    assert child.scores == {"small": 0.5, "full": pytest.approx(1 / 6)}
    assert child.score == pytest.approx(1 / 6)


def test_admission_rejects_with_reasons(harness: Harness) -> None:
    no_op = "skills.txt\n<<<<<<< SEARCH\nskills:\n=======\nskills:\n>>>>>>> REPLACE\n"
    broken = (
        "__main__.py\n<<<<<<< SEARCH\np.parse_args()\n=======\np.parse_args(\n>>>>>>> REPLACE\n"
    )
    contract = '__main__.py\n<<<<<<< SEARCH\np.add_argument("--out")\n=======\np.add_argument("--output")\n>>>>>>> REPLACE\n'
    cfg = config(max_iterations=3)
    run = harness.new_run(cfg)
    harness.run(run, cfg, [no_op, broken, contract])
    children = harness.archive.agents(run)[1:]
    assert [c.status for c in children] == ["rejected"] * 3
    assert children[0].reason.startswith("changes nothing")
    assert children[1].reason.startswith("does not compile: __main__.py:4")
    assert (
        children[2].reason
        == "breaks the agent contract: the option(s) --out no longer appear in its code"
    )
    assert all(harness.archive.evaluations(c.id) == [] for c in children)


def test_keep_better_rejects_a_worse_child(harness: Harness) -> None:
    seed = {**SEED, "skills.txt": b"skills:\nt1\nt2\nt3\n"}
    forget = "skills.txt\n<<<<<<< SEARCH\nt1\nt2\nt3\n=======\n>>>>>>> REPLACE\n"
    cfg = config(max_iterations=2, admission="keep_better", selector="best")
    run = harness.new_run(cfg)
    harness.run(run, cfg, [forget, learn("t4")], seed=seed)
    s, worse, better = harness.archive.agents(run)
    assert s.score == pytest.approx(0.5)
    assert worse.status == "rejected" and worse.reason.startswith("keep_better: score 0.000")
    assert better.parent_id == s.id  # the rejected child is never a parent
    assert better.status == "evaluated" and better.score == pytest.approx(4 / 6)


def test_a_block_that_does_not_apply_is_fed_back(harness: Harness) -> None:
    bad = "skills.txt\n<<<<<<< SEARCH\nskilz:\n=======\nskills:\nt1\n>>>>>>> REPLACE\n"
    cfg = config(max_iterations=1, diff_max_tries=2)
    run = harness.new_run(cfg)
    harness.run(run, cfg, [bad, learn("t1")])
    child = harness.archive.agents(run)[1]
    tries = harness.archive.agent(child.id).origin["tries"]
    assert tries[0]["errors"] == [
        "block 1 (skills.txt): SEARCH text not found in skills.txt; the closest line is line 1: 'skills:'"
    ]
    assert tries[1]["errors"] == []
    second_request = harness.archive.llm_calls(run)[1].request.decode()
    assert "SEARCH text not found in skills.txt" in second_request


def test_diff_gives_up_after_max_tries_and_says_why(harness: Harness) -> None:
    bad = "skills.txt\n<<<<<<< SEARCH\nskilz:\n=======\nx\n>>>>>>> REPLACE\n"
    cfg = config(max_iterations=1, diff_max_tries=2)
    run = harness.new_run(cfg)
    harness.run(run, cfg, [bad, "I cannot do it."])
    assert len(harness.archive.agents(run)) == 1
    (failed,) = harness.archive.events(run, kinds=["expansion_failed"])
    assert failed.payload["reason"].startswith(
        "no applicable SEARCH/REPLACE edit after 2 tries: no SEARCH/REPLACE blocks found"
    )


def test_evaluation_budget_stops_cleanly(harness: Harness) -> None:
    cfg = config(max_evaluations=5, workers=2)
    run = harness.new_run(cfg)
    reason, _ = harness.run(run, cfg, [])
    assert reason == "evaluation budget of 5 reached"
    assert len(harness.evaluated_pairs(run)) == 5
    assert harness.archive.run(run).status == "stopped"
    assert harness.archive.agents(run)[0].status == "evaluating"


def test_usd_budget_stops_cleanly(harness: Harness) -> None:
    cfg = config(budget_usd=1.0)
    run = harness.new_run(cfg)
    ev = SkillEvaluator(harness.archive)
    reason, engine = harness.run(run, cfg, [], evaluator=ev, spent_usd=lambda: 0.4 * ev.calls)
    assert reason == "USD budget of 1 reached"
    assert len(harness.evaluated_pairs(run)) == 3  # 0.4, 0.8, 1.2: the third crossed it
    assert engine.progress().usd_left == 0.0


def test_wall_clock_budget_finishes_the_job_in_flight(harness: Harness) -> None:
    now = [0.0]  # the engine's clock: time passes only while an evaluation runs

    class Slow(SkillEvaluator):
        def evaluate(self, *a, **kw):  # type: ignore[no-untyped-def]
            now[0] += 0.2
            return super().evaluate(*a, **kw)

    cfg = config(wall_clock_s=0.1)
    run = harness.new_run(cfg)
    reason, _ = harness.run(run, cfg, [], evaluator=Slow(harness.archive), clock=lambda: now[0])
    assert reason == "wall clock budget of 0.1 s reached"
    assert len(harness.evaluated_pairs(run)) == 1  # started before the deadline, finished after it


def test_a_failing_evaluation_is_recorded_and_the_run_goes_on(harness: Harness) -> None:
    cfg = config(max_iterations=1)
    run = harness.new_run(cfg)
    harness.run(run, cfg, [learn("t1")], evaluator=SkillEvaluator(harness.archive, fail_on=1))
    seed = harness.archive.agents(run)[0]
    first = harness.archive.evaluations(seed.id)[0]
    assert first.error_kind == "engine_error" and b"sandbox fell over" in first.logs
    assert len(harness.archive.agents(run)) == 2


class Crash(BaseException):
    """Stands in for the process dying mid-evaluation (the subprocess kill -9 test is in
    test_cli_run.py)."""


def test_resume_after_a_crash_loses_nothing_and_repeats_nothing(harness: Harness) -> None:
    cfg = config(max_iterations=3, selector="best")
    answers = [learn("t1"), learn("t2"), learn("t3")]
    run = harness.new_run(cfg)
    with pytest.raises(Crash):
        harness.run(
            run, cfg, answers, evaluator=SkillEvaluator(harness.archive, fail_on=10, exc=Crash())
        )
    before = harness.evaluated_pairs(run)
    assert len(before) == 9  # the 10th was in flight when it died
    done_iterations = len(harness.archive.agents(run)) - 1
    reason, _ = harness.run(run, cfg, answers[done_iterations:])
    after = harness.evaluated_pairs(run)
    assert after[: len(before)] == before, "nothing evaluated is lost"
    assert len(after) == len(set(after)) == 4 * len(TASKS), (
        "nothing is done twice, the in-flight one is redone"
    )
    assert reason == "done: 3 iterations"
    assert scores(harness, run) == pytest.approx([0, 1 / 6, 2 / 6, 3 / 6])
    sessions = harness.archive.events(run, kinds=["session_started"])
    assert [s.payload["resumed"] for s in sessions] == [False, True]


def test_a_resume_with_nothing_to_do_keeps_the_runs_end(harness: Harness) -> None:
    cfg = config(max_iterations=1, selector="best")
    run = harness.new_run(cfg)
    harness.run(run, cfg, [learn("t1")])
    ended = harness.archive.run(run)
    assert ended.status == "finished" and ended.finished_at is not None
    evaluations = harness.evaluated_pairs(run)

    reason, engine = harness.run(run, cfg, [])  # a finished run resumed: no job to start
    again = harness.archive.run(run)
    assert engine.session_jobs == 0 and reason == "done: 1 iterations"
    assert (again.status, again.finished_at) == ("finished", ended.finished_at)
    assert harness.evaluated_pairs(run) == evaluations

    more = config(max_iterations=2, selector="best")  # a resume with work ends anew
    harness.run(run, more, [learn("t2")])
    assert harness.archive.run(run).finished_at > ended.finished_at  # type: ignore[operator]


def test_same_seed_same_run(harness: Harness, tmp_path_factory: pytest.TempPathFactory) -> None:
    def tree(h: Harness, seed: int) -> list[tuple[int, float | None]]:
        cfg = config(selector="score_prop", max_iterations=5, seed=seed)
        run = h.new_run(cfg)
        h.run(run, cfg, [learn(t) for t in TASKS[:5]])
        agents = h.archive.agents(run)
        index = {a.id: i for i, a in enumerate(agents)}
        return [(index.get(a.parent_id, -1), a.score) for a in agents]

    other = Harness(tmp_path_factory.mktemp("other") / "archive.db")
    assert tree(harness, 5) == tree(other, 5)
    trees = {
        tuple(tree(Harness(tmp_path_factory.mktemp(f"s{s}") / "archive.db"), s)) for s in range(6)
    }
    assert len(trees) > 1, "the seed must matter"


class NumberProblem:
    """A problem's evaluator in miniature: the program is a number in value.txt, scored as it
    is (lower is better); anything else fails, with its reason recorded like the real one's."""

    def __init__(self, archive: Any) -> None:
        self.archive = archive

    def evaluate(
        self, agent_id: str, files: Mapping[str, bytes], task_id: str, stage: str
    ) -> Outcome:
        text = files["value.txt"].decode().strip()
        try:
            value: float | None = float(text)
        except ValueError:
            value = None
        failure = None if value is not None else f"not a number: {text!r}"
        self.archive.record_evaluation(
            agent_id,
            task_id,
            attempt=1,
            stage=stage,
            resolved=value is not None,
            score=value,
            tests={},
            duration_s=0.01,
            logs=failure or "",
            error_kind=None if value is not None else "problem_failed",
            metrics={"value": value} if value is not None else {},
        )
        return Outcome(value is not None, value, failure)


def change(old: str, new: str) -> str:
    return f"value.txt\n<<<<<<< SEARCH\n{old}\n=======\n{new}\n>>>>>>> REPLACE\n"


def test_a_problem_run_scores_floats_with_a_direction_and_fails_invalid_programs(
    harness: Harness,
) -> None:
    cfg = config(selector="best", max_iterations=3, stages=[Stage(name="problem", tasks=["t1"])])
    run = harness.archive.create_run("p", config=cfg.model_dump(), seed=1, direction="min")
    reason, engine = harness.run(
        run,
        cfg,
        [change("10", "7"), change("7", "oops"), change("7", "5")],
        evaluator=NumberProblem(harness.archive),
        seed={"value.txt": b"10\n"},
        direction="min",
        admit=admit_program,
    )
    assert reason == "done: 3 iterations"
    seed, better, broken, best = harness.archive.agents(run)
    # Fitness in the archive (higher is better), the problem's own numbers everywhere else.
    assert [a.score for a in (seed, better, best)] == [-10.0, -7.0, -5.0]
    assert [objective(a.score, "min") for a in (seed, better, broken, best)] == [10, 7, None, 5]
    assert harness.archive.evaluations(best.id)[0].score == 5.0
    assert harness.archive.evaluations(best.id)[0].metrics == {"value": 5.0}
    assert (
        broken.status == "failed" and broken.reason == "the evaluation failed: not a number: 'oops'"
    )
    assert harness.archive.evaluations(broken.id)[0].error_kind == "problem_failed"
    # `best` saw rank fitness: the lowest number was the parent each time, never the failure.
    assert [a.parent_id for a in (better, broken, best)] == [seed.id, better.id, better.id]
    assert harness.archive.best_agent(run).id == best.id  # type: ignore[union-attr]
    assert engine.progress().best == 5.0


def test_a_problem_run_resumes_its_failed_and_scored_programs(harness: Harness) -> None:
    cfg = config(selector="best", max_iterations=2, stages=[Stage(name="problem", tasks=["t1"])])
    run = harness.archive.create_run("p", config=cfg.model_dump(), seed=1, direction="max")
    problem = dict(seed={"value.txt": b"1\n"}, direction="max", admit=admit_program)

    class Dies(NumberProblem):
        def evaluate(
            self, agent_id: str, files: Mapping[str, bytes], task_id: str, stage: str
        ) -> Outcome:
            if files["value.txt"] == b"3\n":
                raise Crash()
            return super().evaluate(agent_id, files, task_id, stage)

    with pytest.raises(Crash):
        harness.run(
            run,
            cfg,
            [change("1", "2"), change("2", "3")],
            evaluator=Dies(harness.archive),
            **problem,
        )  # type: ignore[arg-type]
    reason, _ = harness.run(run, cfg, [], evaluator=NumberProblem(harness.archive), **problem)  # type: ignore[arg-type]
    assert reason == "done: 2 iterations"
    assert [a.score for a in harness.archive.agents(run)] == [1.0, 2.0, 3.0]
    assert len(harness.evaluated_pairs(run)) == 3


def test_the_event_log_writes_every_event_in_order_and_loses_only_a_bad_one(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from archive import open_archive
    from dgm.loop import EventLog

    archive = open_archive(str(tmp_path / "a.db"))
    run = archive.create_run("r")
    log = EventLog(archive, run)
    for i in range(300):  # emitted faster than one commit each: written in batches
        log.emit("tick", {"i": i})
        if i == 150:
            log.emit("bad", {"x": object()})  # not JSON: only it is lost
    log.close()
    events = archive.events(run)
    assert [e.payload["i"] for e in events] == list(range(300))
    assert {e.kind for e in events} == {"tick"}
    assert "could not record event bad" in caplog.text
    archive.close()
