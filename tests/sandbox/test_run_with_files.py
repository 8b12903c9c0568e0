"""`run_with_files`: the files in, the command, and the files out in one exchange with the
sandbox (Docker: one request to the runner), under the checks and caps of the separate
calls: a symlink on the way is refused, the copy-out is capped in bytes, files and depth,
a flooding command still brings its files back, and a real problem scores the same as
with the three calls one after the other."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import pytest

from benchmarks.problems import Evaluator, load, open_problem_backend
from sandbox import FilesRun, Limits, SandboxBackend, SandboxError, Status
from sandbox.backend_base import TarFiles
from sandbox.docker_backend import RUNNER_SOURCE, DockerSandbox
from sandbox.protocol import WRITABLE_DIRS
from tests.sandbox.conftest import SMALL

pytestmark = pytest.mark.docker

WRITES_RESULT = (
    "set -e; mkdir -p /out/r/sub; cat /task/a/b.txt > /out/r/copy.txt; "
    "/task/run.sh > /out/r/sub/ran.txt; stat -c %a /task/run.sh /task/a/b.txt"
)


def test_files_in_the_command_and_files_out_in_one_call(backend: SandboxBackend) -> None:
    files = {"a/b.txt": b"in\x00bytes", "run.sh": b"#!/bin/sh\necho ran\n"}
    with backend.open(SMALL) as sb:
        done = sb.run_with_files(files, "/task", WRITES_RESULT, fetch="/out/r", timeout_s=10)
        assert done.result.status is Status.ok, done.result.stderr
        assert done.result.stdout.split() == ["755", "644"]  # as put_files sets modes
        assert done.files == {"copy.txt": b"in\x00bytes", "sub/ran.txt": b"ran\n"}
        assert done.files_error == ""
        one = sb.run_with_files({}, "/task", "true", fetch="/out/r/copy.txt")
        assert one.files == {"copy.txt": b"in\x00bytes"}  # a file: its name, as get_files
        missing = sb.run_with_files({}, "/task", "true", fetch="/out/none")
        assert missing.files == {} and "/out/none" in missing.files_error


def test_docker_makes_it_one_request_to_the_runner(
    docker_backend: SandboxBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    real = DockerSandbox._runner_call

    def counted(self: DockerSandbox, argv: list[str], *args: Any, **kwargs: Any) -> Any:
        calls.append(argv)
        return real(self, argv, *args, **kwargs)

    monkeypatch.setattr(DockerSandbox, "_runner_call", counted)
    with docker_backend.open(SMALL) as sb:
        done = sb.run_with_files(
            {"x.txt": b"x"}, "/task", "cp /task/x.txt /out/y.txt", fetch="/out/y.txt"
        )
    assert done.files == {"y.txt": b"x"}
    assert calls == [["sh", "-c", "cp /task/x.txt /out/y.txt"]]


def test_bad_destinations_and_names_are_refused(backend: SandboxBackend) -> None:
    with backend.open(SMALL) as sb:
        for files, dest in (
            ({"x": b"1"}, "/etc"),
            ({"../x": b"1"}, "/task"),
            ({"/x": b"1"}, "/task"),
        ):
            with pytest.raises(SandboxError):
                sb.run_with_files(files, dest, "true", fetch="/out")
        assert sb.run("echo still usable").stdout == "still usable\n"


def test_a_symlink_on_the_way_in_is_refused_never_followed(docker_backend: SandboxBackend) -> None:
    with docker_backend.open(SMALL) as sb:
        planted = sb.run(
            "ln -s /out /task/evil && ln -s /out/target /task/file && mkfifo /task/fifo"
        )
        assert planted.ok, planted.stderr
        with pytest.raises(SandboxError, match="evil/x"):
            sb.run_with_files({"evil/x": b"escaped"}, "/task", "true", fetch="/out")
        # The last component is replaced, not written through (a link, a fifo: no hang).
        done = sb.run_with_files(
            {"file": b"mine", "fifo": b"mine too"},
            "/task",
            "ls -A /out; cat /task/file /task/fifo; echo; test -L /task/file || echo replaced",
            fetch="/task/file",
        )
        assert done.result.stdout == "minemine too\nreplaced\n"  # /out stays empty
        assert done.files == {"file": b"mine"}


def test_links_and_special_files_do_not_come_out(docker_backend: SandboxBackend) -> None:
    with docker_backend.open(SMALL) as sb:
        done = sb.run_with_files(
            {},
            "/task",
            "mkdir -p /out/r && echo ok > /out/r/real && ln -s /etc/passwd /out/r/link && "
            "mkfifo /out/r/fifo && ln -s /etc /out/r/dir && ln -s /etc /out/alias",
            fetch="/out/r",
        )
        assert done.files == {"real": b"ok\n"}
        through = sb.run_with_files({}, "/task", "true", fetch="/out/alias")
        assert through.files == {} and through.files_error  # a linked top is not followed


def test_copy_out_is_capped_in_bytes_files_and_depth(docker_backend: SandboxBackend) -> None:
    limits = Limits(**{**SMALL.model_dump(), "copy_out_cap_mb": 1})
    with docker_backend.open(limits) as sb:
        big = sb.run_with_files(
            {}, "/task", "mkdir /out/r && head -c 2000000 /dev/zero > /out/r/big", fetch="/out/r"
        )
        assert big.result.ok and big.files == {} and "cap" in big.files_error
        many = sb.run_with_files(
            {},
            "/task",
            "rm -r /out/r && mkdir /out/r && cd /out/r && seq 10001 | xargs touch",
            fetch="/out/r",
        )
        assert many.files == {} and "more than 10000 files" in many.files_error
        deep = sb.run_with_files(
            {},
            "/task",
            "rm -r /out/r && mkdir /out/r && cd /out/r && "
            "for i in $(seq 70); do mkdir d && cd d; done && echo x > f",
            fetch="/out/r",
        )
        assert deep.files == {} and "levels" in deep.files_error
        wide = sb.run_with_files(  # more folders than a process may hold open at once
            {},
            "/task",
            "rm -r /out/r && mkdir /out/r && cd /out/r && seq 5000 | xargs mkdir && echo x > 9/f",
            fetch="/out/r",
        )
        assert wide.files == {"9/f": b"x\n"}, wide.files_error
        names = sb.run_with_files(  # empty files whose long names alone pass 1 MB
            {},
            "/task",
            "rm -r /out/r && mkdir /out/r && cd /out/r && "
            "seq 3000 | sed 's/$/" + "n" * 200 + "/' | xargs touch",
            fetch="/out/r",
        )
        assert names.files == {} and "cap" in names.files_error
        assert sb.run("echo usable").stdout == "usable\n"


def test_a_flooding_command_still_returns_its_files(docker_backend: SandboxBackend) -> None:
    with docker_backend.open(SMALL) as sb:
        done = sb.run_with_files(
            {"x": b"1"},
            "/task",
            "mkdir -p /out/r && echo before > /out/r/f && yes flood",
            fetch="/out/r",
            timeout_s=30,
        )
        assert done.result.flooded and done.result.status is Status.killed
        assert done.files == {"f": b"before\n"}
        assert sb.run("echo usable").stdout == "usable\n"


class Stepwise:
    """A sandbox backend whose sandboxes take the three steps one after the other (what
    problem evaluations did before `run_with_files`)."""

    def __init__(self, backend: SandboxBackend) -> None:
        self.backend = backend

    def open(
        self, limits: Limits, env: dict[str, str] | None = None, gateway_socket: Any = None
    ) -> Any:
        return StepwiseSandbox(self.backend.open(limits, env, gateway_socket))


class StepwiseSandbox:
    def __init__(self, sb: Any) -> None:
        self.sb = sb

    def run_with_files(
        self, files: Mapping[str, bytes], dest: str, cmd: list[str], **kw: Any
    ) -> FilesRun:
        return TarFiles.run_with_files(self.sb, files, dest, cmd, **kw)

    def __enter__(self) -> StepwiseSandbox:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.sb.close()


@pytest.mark.parametrize("name", ["bin_packing_online", "tsp_constructive"])
def test_a_real_problem_scores_as_with_three_calls(name: str) -> None:
    problem = load(name)
    with open_problem_backend(problem, pool_size=1, run_label="pytest-sandbox") as backend:
        one = Evaluator(problem, backend).evaluate()
        three = Evaluator(problem, Stepwise(backend)).evaluate()  # type: ignore[arg-type]
    assert one.ok and three.ok, (one.feedback, three.feedback)
    assert (one.score, one.metrics, one.feedback) == (three.score, three.metrics, three.feedback)


def test_the_runner_writes_where_the_host_checks() -> None:
    """The runner (standard library only, run as a script) keeps its own copy of the
    writable directories; it must be the host's."""
    tree = ast.parse(RUNNER_SOURCE)
    copies = [
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "WRITABLE_DIRS" for t in node.targets)
    ]
    assert copies == [WRITABLE_DIRS]
