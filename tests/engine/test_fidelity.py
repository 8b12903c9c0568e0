"""docs/fidelity.md and the presets agree: each parameter row's dgm value is what the
preset gives, a `same` row's original equals it, and every key a preset file sets has a
row (so a preset cannot drift from the table, nor grow an undocumented setting)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dgm.config import PRESETS_DIR, RunConfig, load_config, read_yaml

DOC = Path(__file__).resolve().parents[2] / "docs" / "fidelity.md"
# The presets that carry a system's name; a problem preset needs some problem to validate.
PRESETS = {"dgm-paper": {}, "reevo": {"problem": "any"}, "stop": {"problem": "any"}}
STATUSES = {"same", "fix", "design", "option", "scale", "dgm", "open"}
WHERE = re.compile(r"^(jennyzzt/dgm|ai4co/reevo|microsoft/stop) [\w./-]+\.(py|yaml|json):\d+")


@dataclass(frozen=True)
class Row:
    preset: str
    key: str
    dgm: str
    original: str
    where: str
    status: str
    note: str


def cell(text: str) -> str:
    return text.strip().strip("`")


def parameter_rows(doc: str) -> list[Row]:
    """The rows of the machine-read table (between the fidelity:parameters markers)."""
    block = doc.split("<!-- fidelity:parameters -->", 1)[1].split("<!-- /fidelity:parameters -->")[
        0
    ]
    lines = [line for line in block.strip().splitlines() if line.startswith("|")]
    return [Row(*(cell(c) for c in line.strip("|").split(" | "))) for line in lines[2:]]


def configured(preset: str, assignments: tuple[str, ...] = ()) -> RunConfig:
    return load_config(preset, PRESETS[preset], assignments)


def set_keys(data: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """The dotted keys a preset file sets (a nested mapping's fields one by one)."""
    for name, value in data.items():
        if isinstance(value, dict):
            yield from set_keys(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}"


ROWS = parameter_rows(DOC.read_text(encoding="utf-8"))


def test_the_table_is_read_and_covers_every_named_preset() -> None:
    assert {r.preset for r in ROWS} == set(PRESETS)
    assert all((PRESETS_DIR / f"{p}.yaml").is_file() for p in PRESETS)
    for r in ROWS:
        assert r.status in STATUSES, r
        assert WHERE.match(r.where), f"{r.preset} {r.key}: cite 'owner/repo path:line'"
        assert r.status == "same" or r.note, f"{r.preset} {r.key}: say why it differs"


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.preset}:{r.key}")
def test_the_preset_gives_the_documented_dgm_value(row: Row) -> None:
    preset = configured(row.preset)
    # Setting the documented value changes nothing iff the preset already has it.
    assert configured(row.preset, (f"{row.key}={row.dgm}",)) == preset, (
        f"{row.preset}: {row.key} is not {row.dgm} (fix the preset or docs/fidelity.md)"
    )
    if row.status == "same":
        assert configured(row.preset, (f"{row.key}={row.original}",)) == preset, (
            f"{row.preset}: {row.key} is marked same but the original is {row.original}"
        )


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_key_a_preset_sets_has_a_row(preset: str) -> None:
    documented = {r.key for r in ROWS if r.preset == preset}
    missing = sorted(set(set_keys(read_yaml(preset))) - documented)
    assert not missing, f"{preset} sets {missing}: add them to docs/fidelity.md"


def test_a_wrong_value_in_the_table_is_caught() -> None:
    """The check itself can fail: a value the preset does not have changes the config."""
    assert configured("stop", ("stop.runs=3",)) != configured("stop")
    assert configured("dgm-paper", ("agent_limits.max_steps=60",)) != configured("dgm-paper")
