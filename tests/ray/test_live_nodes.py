"""The Ray executor's node list (ray_executor.LiveNodes): every job in flight checks on its
node every POLL_S; one list, asked of the head at most once per POLL_S, serves them all, and
a node that joined after the list was made is not taken for dead."""

from __future__ import annotations

import threading

from dgm.executors.ray_executor import POLL_S, LiveNodes, NodeInfo


def node(node_id: str) -> NodeInfo:
    return {
        "NodeID": node_id,
        "NodeManagerAddress": "127.0.0.1",
        "Alive": True,
        "Resources": {"CPU": 2.0, "dgm_sandbox": 2.0},
    }


class Head:
    """What the head answers (`nodes`), counting the questions; a clock the test moves."""

    def __init__(self, *ids: str) -> None:
        self.nodes = [node(i) for i in ids]
        self.asked = 0
        self.now = 0.0

    def fetch(self) -> list[NodeInfo]:
        self.asked += 1
        return list(self.nodes)


def test_jobs_waiting_at_once_share_one_question_per_poll() -> None:
    head = Head("a", "b")
    live = LiveNodes(head.fetch, clock=lambda: head.now)
    jobs = [threading.Thread(target=lambda: [live.lives("a") for _ in range(50)]) for _ in range(8)]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join()
    assert head.asked == 1  # 400 checks, one list
    head.now += POLL_S
    assert live.lives("b") and head.asked == 2  # a list POLL_S old is asked again


def test_a_dead_node_is_dead_and_a_new_one_is_not() -> None:
    head = Head("a", "b")
    live = LiveNodes(head.fetch, clock=lambda: head.now)
    assert live.lives("a")
    head.nodes = [node("b"), node("c")]  # a died; c joined (a job may start there at once)
    assert live.lives("c")  # not in the shared list: asked again, found
    assert not live.lives("a")  # the head says it is gone
    assert [n["NodeID"] for n in live.get()] == ["b", "c"]
