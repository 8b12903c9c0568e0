"""SEARCH/REPLACE blocks (dgm/mutators/search_replace.py): parsing never fails, rendered
blocks parse back to themselves, and applying is all-or-nothing with a reason per failure."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dgm.mutators.search_replace import Block, apply_blocks, parse_blocks
from tests.properties.settings import FEW

pytestmark = pytest.mark.timeout(120)

MARKERS = ("<<<<<<< SEARCH", "=======", ">>>>>>> REPLACE")
line = st.text(
    alphabet=st.characters(
        blacklist_categories=["Cs"], blacklist_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
    ),
    max_size=20,
).filter(lambda s: not any(m in s for m in MARKERS) and not s.startswith(("=", ">", "<")))
body = st.lists(line, max_size=4).map(lambda ls: "".join(x + "\n" for x in ls))
path = st.from_regex(r"[a-z][a-z0-9_]{0,8}(/[a-z][a-z0-9_]{0,8}){0,2}\.py", fullmatch=True)
blocks = st.lists(st.builds(Block, path, body, body), min_size=1, max_size=3)


def render(bs: list[Block]) -> str:
    return "".join(
        f"{b.path}\n<<<<<<< SEARCH\n{b.search}=======\n{b.replace}>>>>>>> REPLACE\n" for b in bs
    )


@FEW
@given(st.text(max_size=400))
def test_parsing_any_text_gives_blocks_never_an_error(text: str) -> None:
    for b in parse_blocks(text):
        assert isinstance(b, Block)


@FEW
@given(blocks, st.text(max_size=40).filter(lambda s: not any(m in s for m in MARKERS)))
def test_rendered_blocks_parse_back_to_themselves(bs: list[Block], prose: str) -> None:
    text = f"{prose}\n" + render(bs)
    assert parse_blocks(text)[-len(bs) :] == bs
    assert parse_blocks(render(parse_blocks(render(bs)))) == bs  # idempotent


@FEW
@given(
    st.dictionaries(path, body.map(str.encode), max_size=3),
    st.lists(st.builds(Block, st.one_of(path, st.text(max_size=10)), body, body), max_size=3),
)
def test_apply_is_all_or_nothing(files: dict[str, bytes], bs: list[Block]) -> None:
    out, errors = apply_blocks(files, bs)
    if out is None:
        assert errors and all(isinstance(e, str) and e for e in errors)
    else:
        assert errors == []
        assert set(files) <= set(out)


@FEW
@given(path, body, body, body)
def test_a_unique_search_is_replaced_exactly_once(p: str, before: str, old: str, new: str) -> None:
    marker = "UNIQUE-LINE-7f3a\n"
    content = before + marker + old
    out, errors = apply_blocks({p: content.encode()}, [Block(p, marker, new)])
    assert errors == [] and out is not None
    assert out[p].decode() == before + new + old
