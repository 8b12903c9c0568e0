"""swe-mini tasks on the `taskgraph` repository (dependency graphs and scheduling)."""

from benchmarks.swe_mini.make_tasks import Spec

TASKS = [
    Spec(
        number=1,
        difficulty="easy",
        statement="""
topological_order is not alphabetical among ready tasks

```python
>>> g = parse_graph("c:\\na:\\nb: a\\n")
>>> g.topological_order()
['a', 'c', 'b']
```

After `a` is done both `b` and `c` are ready, so by the documented rule ("among tasks that
are ready, alphabetical first") the order should be `['a', 'b', 'c']`. We diff plans in
CI, so the order has to be stable and as documented.
""",
        bug=[
            (
                "taskgraph/graph.py",
                """        ready = [name for name, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        order = []
        while ready:
            name = heapq.heappop(ready)
            order.append(name)
            for dependent in self._dependents[name]:
                waiting[dependent] -= 1
                if waiting[dependent] == 0:
                    heapq.heappush(ready, dependent)
""",
                """        ready = sorted(name for name, count in waiting.items() if count == 0)
        order = []
        while ready:
            name = ready.pop(0)
            order.append(name)
            for dependent in sorted(self._dependents[name]):
                waiting[dependent] -= 1
                if waiting[dependent] == 0:
                    ready.append(dependent)
""",
            )
        ],
        tests={
            "tests/test_graph.py": """
def test_ready_tasks_are_taken_alphabetically():
    from taskgraph import parse_graph

    assert parse_graph("c:\\na:\\nb: a\\n").topological_order() == ["a", "b", "c"]
    assert parse_graph("z:\\nm: z\\nb:\\na: b\\n").topological_order() == ["b", "a", "z", "m"]
"""
        },
    ),
    Spec(
        number=2,
        difficulty="easy",
        statement="""
Cycle error message doesn't show the whole cycle

```
>>> parse_graph("build: test\\ntest: build\\n").topological_order()
taskgraph.graph.CycleError: dependency cycle: build -> test
```

I expected `build -> test -> build`, the `CycleError` docstring says the first task is
repeated at the end. `find_cycle()` returns `['build', 'test']` too.
""",
        bug=[
            (
                "taskgraph/graph.py",
                "                    return path[path.index(dep):] + [dep]\n",
                "                    return path[path.index(dep):]\n",
            )
        ],
        tests={
            "tests/test_graph.py": """
def test_cycle_is_reported_closed():
    from taskgraph import parse_graph

    graph = parse_graph("build: test\\ntest: build\\nlint:\\n")
    assert graph.find_cycle() == ["build", "test", "build"]
    with pytest.raises(CycleError, match="dependency cycle: build -> test -> build") as info:
        graph.topological_order()
    assert info.value.cycle == ["build", "test", "build"]


def test_longer_cycle_starts_where_it_closes():
    graph = Graph()
    graph.add_task("a", 1, ["b"])
    graph.add_task("b", 1, ["c"])
    graph.add_task("c", 1, ["b"])
    assert graph.find_cycle() == ["b", "c", "b"]
"""
        },
    ),
    Spec(
        number=3,
        difficulty="medium",
        statement="""
Dependencies declared further down the file are rejected

```
Traceback (most recent call last):
  File "plan.py", line 9, in <module>
    graph = parse_graph(Path("release.plan").read_text())
  File ".../taskgraph/parse.py", line 45, in parse_graph
    raise GraphSyntaxError(number, f"{name!r} depends on {dep!r}, which is not declared")
taskgraph.parse.GraphSyntaxError: line 1: 'release' depends on 'test', which is not declared
```

Our plan file lists the goal first and the details below it. The format docs say a
dependency may be declared further down.
""",
        bug=[
            (
                "taskgraph/parse.py",
                """        for dep in deps:
            if not _NAME.match(dep):
                raise GraphSyntaxError(number, f"bad task name {dep!r}")
        declared[name] = number
        entries.append((number, name, int(duration) if duration else 1, deps))
    graph = Graph()
    for number, name, duration, deps in entries:
        for dep in deps:
            if dep not in declared:
                raise GraphSyntaxError(number, f"{name!r} depends on {dep!r}, which is not declared")
        graph.add_task(name, duration, deps)
""",
                """        for dep in deps:
            if not _NAME.match(dep):
                raise GraphSyntaxError(number, f"bad task name {dep!r}")
            if dep not in declared:
                raise GraphSyntaxError(number, f"{name!r} depends on {dep!r}, which is not declared")
        declared[name] = number
        entries.append((number, name, int(duration) if duration else 1, deps))
    graph = Graph()
    for number, name, duration, deps in entries:
        graph.add_task(name, duration, deps)
""",
            )
        ],
        tests={
            "tests/test_parse.py": """
def test_forward_references():
    graph = parse_graph("release: test\\ntest(3): build\\nbuild(2):\\n")
    assert graph.topological_order() == ["build", "test", "release"]
    assert graph.durations == {"release": 1, "test": 3, "build": 2}


def test_undeclared_is_still_an_error_with_forward_references():
    with pytest.raises(GraphSyntaxError, match="'release' depends on 'deploy'") as info:
        parse_graph("release: test, deploy\\ntest:\\n")
    assert info.value.line == 1
"""
        },
    ),
    Spec(
        number=4,
        difficulty="hard",
        statement="""
critical_path underestimates some projects

For one of our projects critical_path() says 6 days, but even with unlimited people
the schedule can't finish before day 9. For most plans it's right. I think it has to do
with plans that have more than one final deliverable.
""",
        bug=[
            (
                "taskgraph/schedule.py",
                "    end = min(finish, key=lambda name: (-finish[name], name))\n",
                "    end = graph.topological_order()[-1]\n",
            )
        ],
        tests={
            "tests/test_schedule.py": """
def test_critical_path_with_several_final_tasks():
    graph = parse_graph("design(2):\\nbuild(6): design\\nmanual(1): design\\nprint(3): manual\\n")
    assert critical_path(graph) == (8, ["design", "build"])
    assert critical_path(graph)[0] == max(s + graph.durations[t] for t, s in earliest_starts(graph).items())


def test_critical_path_tie_prefers_alphabetical_end():
    graph = parse_graph("a(2):\\nz(1): a\\nb(1): a\\n")
    assert critical_path(graph) == (3, ["a", "b"])
"""
        },
    ),
    Spec(
        number=5,
        difficulty="hard",
        statement="""
Hyphenated task names

We name tasks like `build-docs`. The parser rejects them, and when I build the graph in
code instead, the Graphviz output doesn't render (`dot` complains about a syntax error).
Dots and underscores work.
""",
        bug=[
            ("taskgraph/parse.py", 'NAME = r"[A-Za-z0-9_.-]+"', 'NAME = r"[A-Za-z0-9_.]+"'),
            (
                "taskgraph/render.py",
                """    if _BARE_ID.match(name):
        return name
    return '"' + name.replace("\\\\", "\\\\\\\\").replace('"', '\\\\"') + '"'
""",
                """    return name
""",
            ),
        ],
        tests={
            "tests/test_parse.py": """
def test_hyphenated_names():
    graph = parse_graph("build-docs(2):\\npublish-site: build-docs\\n")
    assert graph.dependencies("publish-site") == ["build-docs"]
""",
            "tests/test_render.py": """
def test_dot_quotes_names_that_need_it():
    from taskgraph import Graph

    graph = Graph()
    graph.add_task("publish-site", 1, ["build-docs", "lib.core"])
    lines = to_dot(graph).splitlines()
    assert '  "build-docs" [label="build-docs (1)"];' in lines
    assert '  "build-docs" -> "publish-site";' in lines
    assert '  "lib.core" -> "publish-site";' in lines
""",
        },
    ),
    Spec(
        number=6,
        difficulty="medium",
        statement="""
schedule() is not as good as it should be

With two workers and the plan

```
a(3):
d(3):
b(1):
c(4): b
```

`schedule(graph, 2)` finishes at time 8. Doing `b` first (it unblocks the long `c`) gives
6. The docstring says the worker takes the ready task with the most remaining work, which
for `b` is 5, more than `a` and `d`. It seems to prefer long tasks instead.
""",
        bug=[
            (
                "taskgraph/schedule.py",
                "    priority = remaining_work(graph)\n",
                "    priority = dict(graph.durations)\n",
            )
        ],
        tests={
            "tests/test_schedule.py": """
def test_schedule_prefers_most_remaining_work():
    graph = parse_graph("a(3):\\nd(3):\\nb(1):\\nc(4): b\\n")
    slots = schedule(graph, 2)
    assert slots == [Slot("b", 1, 0, 1), Slot("a", 2, 0, 3), Slot("c", 1, 1, 5), Slot("d", 2, 3, 6)]
    assert makespan(slots) == 6
"""
        },
    ),
    Spec(
        number=7,
        difficulty="easy",
        statement="""
Short tasks are missing from the Gantt chart

In a long project (total 100 days, chart width 40) the tasks that take a day or two have
an empty row: no `#` at all. Every task should get at least one `#` so you can see when
it runs.
""",
        bug=[
            (
                "taskgraph/render.py",
                "        end = max(slot.end * width // total, begin + 1)\n",
                "        end = slot.end * width // total\n",
            )
        ],
        tests={
            "tests/test_render.py": """
def test_short_tasks_are_visible():
    graph = parse_graph("short(1):\\nlong(99): short\\n")
    chart = gantt(schedule(graph, 1), width=40).splitlines()
    assert chart[0] == "short |#" + " " * 39 + "| w1"
    assert all("#" in row for row in chart)
"""
        },
    ),
]
