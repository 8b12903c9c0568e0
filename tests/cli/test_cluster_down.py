"""`dgm cluster down` acts only on what `dgm cluster up` provably started: a state file that
names another user's folder (which a non-Ray process mentions on its command line), an empty
temp_dir, or a file without the cluster's token is refused in one line, and the decoy process
and folder survive. The real cluster's up/down is tests/ray/test_cluster_cli.py."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import dgm, one_line_error, snapshot


@pytest.fixture
def decoy(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[bytes]]]:
    """Another user's folder, and a non-Ray process naming it on its command line."""
    folder = tmp_path / "someone-else"
    (folder / "work").mkdir(parents=True)
    (folder / "work" / "thesis.txt").write_text("years of work\n")
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)", str(folder), "--temp-dir", ""]
    )
    try:
        yield folder, proc
    finally:
        proc.kill()
        proc.wait()


def state_file(cwd: Path, **fields: object) -> Path:
    path = cwd / ".dgm" / "cluster.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"address": "127.0.0.1:6379", "workers": [], **fields}))
    return path


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"temp_dir": "{decoy}"}, id="a foreign folder, no token"),
        pytest.param({"temp_dir": "{decoy}", "token": "f" * 32}, id="a foreign folder, a token"),
        pytest.param({"temp_dir": ""}, id="empty temp_dir"),
        pytest.param({"temp_dir": "", "token": "f" * 32}, id="empty temp_dir, a token"),
        pytest.param({"temp_dir": "/", "token": "f" * 32}, id="the root"),
        pytest.param({"temp_dir": "relative", "token": "f" * 32}, id="a relative path"),
    ],
)
def test_down_refuses_what_it_did_not_start(
    fields: dict[str, str], tmp_path: Path, decoy: tuple[Path, subprocess.Popen[bytes]]
) -> None:
    folder, proc = decoy
    cwd = tmp_path / "here"
    cwd.mkdir()
    state = state_file(cwd, **{k: v.format(decoy=folder) for k, v in fields.items()})
    before = snapshot(folder)
    err = one_line_error(dgm("cluster", "down", cwd=cwd), "nothing stopped")
    assert proc.poll() is None, "the non-Ray process naming the folder was not touched"
    assert snapshot(folder) == before, "the folder was not touched"
    assert state.exists(), "the state file stays, for the user to look at"
    assert "Traceback" not in err


def test_a_token_in_the_state_file_alone_proves_nothing(
    tmp_path: Path, decoy: tuple[Path, subprocess.Popen[bytes]]
) -> None:
    """The marker must be in the folder: copying a token into the state file is not enough,
    and a marker with another token is another cluster's folder."""
    folder, proc = decoy
    (folder / "dgm-cluster-token").write_text("a" * 32)
    cwd = tmp_path / "here"
    cwd.mkdir()
    state_file(cwd, temp_dir=str(folder), token="b" * 32)
    one_line_error(dgm("cluster", "down", cwd=cwd), "was not created by `dgm cluster up`")
    assert proc.poll() is None and (folder / "work" / "thesis.txt").exists()
