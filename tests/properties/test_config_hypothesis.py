"""Configs (dgm/config.py): whatever a YAML file holds, loading gives a RunConfig or one
UserError line; a valid config survives a round trip through YAML unchanged."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from dgm.config import RunConfig, load_config, validate
from dgm.errors import UserError
from tests.properties.settings import FEW

pytestmark = pytest.mark.timeout(120)

FIELDS = [*RunConfig.model_fields, "agent_limits", "colour"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["timeout_s", "memory_mb", "cpus", "name", "x"]), inner)
    ),
    max_leaves=6,
)
mappings = st.dictionaries(st.sampled_from(FIELDS), values, max_size=5)


def load_text(data: bytes) -> RunConfig:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.yaml"
        path.write_bytes(data)
        return load_config(str(path))


def one_line_or_config(call: Any) -> RunConfig | None:
    try:
        return call()
    except UserError as e:
        assert "\n" not in str(e) and str(e), repr(e)
        return None


@FEW
@given(st.binary(max_size=200))
def test_any_bytes_load_or_fail_in_one_line(data: bytes) -> None:
    one_line_or_config(lambda: load_text(data))


@FEW
@given(st.text(alphabet=st.sampled_from(list("ab:-[]{}\n\t '\"!&*#%@|>0123456789.")), max_size=80))
def test_yaml_like_text_loads_or_fails_in_one_line(text: str) -> None:
    one_line_or_config(lambda: load_text(text.encode()))


@FEW
@given(mappings)
def test_any_mapping_validates_or_fails_in_one_line(data: dict[str, Any]) -> None:
    config = one_line_or_config(lambda: validate(data))
    if config is not None:  # what is accepted is within its declared bounds
        assert 0 <= config.seed < 2**63
        assert config.agent_limits.memory_mb <= 1 << 20


@FEW
@given(mappings)
def test_a_valid_config_round_trips_through_yaml_and_validation_is_idempotent(
    data: dict[str, Any],
) -> None:
    config = one_line_or_config(lambda: validate(data))
    if config is None:
        return
    dumped = config.model_dump()
    assert validate(dumped) == config
    assert load_text(yaml.safe_dump(dumped).encode()) == config
