"""swe-mini tasks on the `quill` repository (Markdown, text helpers, templates)."""

from benchmarks.swe_mini.make_tasks import Spec

TASKS = [
    Spec(
        number=1,
        difficulty="easy",
        statement="""
slugify leaves double dashes

```python
>>> from quill import slugify
>>> slugify("Hello, World!")
'hello--world'
>>> slugify("Q&A: tips & tricks")
'q-a--tips---tricks'
```

Expected `'hello-world'` and `'q-a-tips-tricks'`: the docstring says anything that is not a
letter or digit becomes a *single* dash.
""",
        bug=[
            (
                "quill/text.py",
                '_NOT_SLUG = re.compile(r"[^a-z0-9]+")',
                '_NOT_SLUG = re.compile(r"[^a-z0-9]")',
            )
        ],
        tests={
            "tests/test_text.py": """
@pytest.mark.parametrize(
    "text, slug",
    [("Hello, World!", "hello-world"), ("Q&A: tips & tricks", "q-a-tips-tricks"), ("a -- b", "a-b")],
    ids=["comma", "ampersands", "dashes"],
)
def test_slugify_collapses_separators(text, slug):
    assert slugify(text) == slug
"""
        },
    ),
    Spec(
        number=2,
        difficulty="medium",
        statement="""
Template output is not safe inside HTML attributes

We render `<a href="/u/{{ handle }}" title="{{ bio }}">` with user-provided values. A bio
containing a double quote breaks out of the attribute:

```python
>>> render_template('<span title="{{ bio }}">', {"bio": 'x" onmouseover="alert(1)'})
'<span title="x" onmouseover="alert(1)">'
```

Autoescaping should make this safe. Markdown link titles (`[a](http://x "title")`) also
stopped rendering as a title attribute, I assume for the same reason.
""",
        bug=[
            (
                "quill/inline.py",
                """.replace(">", "&gt;").replace('"', "&quot;")""",
                """.replace(">", "&gt;")""",
            )
        ],
        tests={
            "tests/test_inline.py": """
def test_escape_quotes():
    assert escape('say "hi"') == "say &quot;hi&quot;"


def test_link_with_title():
    assert render_inline('[a](http://x "The title")') == '<a href="http://x" title="The title">a</a>'
""",
            "tests/test_template.py": """
def test_attribute_values_cannot_break_out():
    out = render_template('<span title="{{ bio }}">', {"bio": 'x" onmouseover="alert(1)'})
    assert out == '<span title="x&quot; onmouseover=&quot;alert(1)">'
""",
        },
    ),
    Spec(
        number=3,
        difficulty="medium",
        statement="""
Emphasis is applied inside code spans

Writing about math in our docs:

    The result is `2*3*4`, computed by `a_b_c()`.

renders as

    <p>The result is <code>2<em>3</em>4</code>, computed by <code>a<em>b</em>c()</code>.</p>

Nothing inside backticks should be interpreted as Markdown. Also `` `a < b` `` shows
`&amp;lt;` in the browser.
""",
        bug=[
            (
                "quill/inline.py",
                """    spans: list[str] = []

    def stash(match: re.Match[str]) -> str:
        spans.append(f"<code>{escape(match.group(2).strip())}</code>")
        return _PLACEHOLDER.format(len(spans) - 1)

    html = escape(_CODE.sub(stash, text))
    html = _LINK.sub(_link, html)
    html = _AUTOLINK.sub(r'<a href="\\1">\\1</a>', html)
    html = _STRONG.sub(r"<strong>\\2</strong>", html)
    html = _EM.sub(r"<em>\\2</em>", html)
    return re.sub("\\x00(\\\\d+)\\x00", lambda m: spans[int(m.group(1))], html)
""",
                """    html = escape(text)
    html = _LINK.sub(_link, html)
    html = _AUTOLINK.sub(r'<a href="\\1">\\1</a>', html)
    html = _STRONG.sub(r"<strong>\\2</strong>", html)
    html = _EM.sub(r"<em>\\2</em>", html)
    return _CODE.sub(lambda m: f"<code>{escape(m.group(2).strip())}</code>", html)
""",
            )
        ],
        tests={
            "tests/test_inline.py": """
def test_code_span_content_is_literal():
    assert render_inline("`2*3*4` and `a_b_c()`") == "<code>2*3*4</code> and <code>a_b_c()</code>"
    assert render_inline("`**not bold**`") == "<code>**not bold**</code>"


def test_code_span_is_escaped_once():
    assert render_inline("`a < b && c`") == "<code>a &lt; b &amp;&amp; c</code>"
"""
        },
    ),
    Spec(
        number=4,
        difficulty="easy",
        statement="""
Ordered lists written with `1)` are not recognized

```markdown
Steps:

1) unpack
2) run the installer
```

renders as one paragraph `<p>1) unpack 2) run the installer</p>`. `1.` works. CommonMark
allows both delimiters and the `blocks` module docstring mentions lists in general.
""",
        bug=[
            (
                "quill/blocks.py",
                r"""_ORDERED = re.compile(r"^[ ]{0,3}(\d{1,9})[.)][ \t]+(.*)$")""",
                r"""_ORDERED = re.compile(r"^[ ]{0,3}(\d{1,9})[.][ \t]+(.*)$")""",
            )
        ],
        tests={
            "tests/test_blocks.py": """
def test_ordered_list_with_parenthesis():
    assert markdown("Steps:\\n\\n1) unpack\\n2) run") == "<p>Steps:</p>\\n<ol>\\n<li>unpack</li>\\n<li>run</li>\\n</ol>"
    assert markdown("7) seven") == '<ol start="7">\\n<li>seven</li>\\n</ol>'
"""
        },
    ),
    Spec(
        number=5,
        difficulty="medium",
        statement="""
TOC links jump to the wrong section

Our API reference has an "Example" subsection under each of its endpoints. In the table of
contents, clicking the third "Example" takes me to the second one. The first two work.
""",
        bug=[("quill/blocks.py", "    taken[base] = count + 1\n", "    taken[base] = 1\n")],
        tests={
            "tests/test_toc.py": """
def test_every_duplicate_heading_gets_its_own_anchor():
    doc = "# API\\n## GET\\n### Example\\n## POST\\n### Example\\n## DELETE\\n### Example\\n"
    anchors = [h.anchor for h in headings(doc)]
    assert anchors == ["api", "get", "example", "post", "example-1", "delete", "example-2"]
""",
            "tests/test_blocks.py": """
def test_three_duplicate_headings():
    html = markdown("## Example\\n## Example\\n## Example")
    assert [line.split('"')[1] for line in html.splitlines()] == ["example", "example-1", "example-2"]
""",
        },
    ),
    Spec(
        number=6,
        difficulty="easy",
        statement="""
wrap() breaks lines that fit exactly

`wrap("aaa bbb", 7)` returns `['aaa', 'bbb']` although `"aaa bbb"` is exactly 7 characters
long and should stay on one line. Lines are never allowed to reach the full width.
""",
        bug=[
            (
                "quill/text.py",
                "elif len(current) + 1 + len(word) <= width:",
                "elif len(current) + 1 + len(word) < width:",
            )
        ],
        tests={
            "tests/test_text.py": """
def test_wrap_line_of_exactly_width():
    assert wrap("aaa bbb", 7) == ["aaa bbb"]
    assert wrap("one two three four", 9) == ["one two", "three", "four"]
    assert wrap("lorem ipsum dolor sit amet", 11) == ["lorem ipsum", "dolor sit", "amet"]
"""
        },
    ),
    Spec(
        number=7,
        difficulty="hard",
        statement="""
Weird anchors for headings with links

Since we started putting links in headings our anchors look like
`#installing-from-pypi-https-pypi-org-project-quill`, in the rendered page and in the
table of contents, and old links to `#installing-from-pypi` are dead. Headings with inline code or emphasis seem fine. The
anchor should only depend on the text a reader sees.
""",
        bug=[
            (
                "quill/blocks.py",
                "            anchor = heading_id(plain_text(text), taken)\n",
                "            anchor = heading_id(text, taken)\n",
            ),
            (
                "quill/toc.py",
                "            anchor = heading_id(title, taken)\n",
                "            anchor = heading_id(match.group(2), taken)\n",
            ),
        ],
        tests={
            "tests/test_blocks.py": """
def test_heading_with_link_anchor_uses_visible_text():
    html = markdown("## Installing from [PyPI](https://pypi.org/project/quill)")
    assert html.startswith('<h2 id="installing-from-pypi">')
""",
            "tests/test_toc.py": """
def test_toc_anchor_of_heading_with_link():
    doc = "# Intro\\n## Installing from [PyPI](https://pypi.org/project/quill)\\n"
    assert [h.anchor for h in headings(doc)] == ["intro", "installing-from-pypi"]
    assert '<a href="#installing-from-pypi">Installing from PyPI</a>' in table_of_contents(doc)
""",
        },
    ),
    Spec(
        number=8,
        difficulty="medium",
        statement="""
Dotted names don't work with objects

Passing a dataclass instead of a dict to a template crashes:

```
Traceback (most recent call last):
  File "send_mail.py", line 31, in <module>
    body = render_template(WELCOME, {"user": user})
  File ".../quill/template.py", line 190, in render_template
    return Template(source, strict=strict).render(context)
  ...
  File ".../quill/template.py", line 174, in _lookup
    value = value[part] if part in value else _MISSING
TypeError: argument of type 'User' is not iterable
```

The module docstring says dotted lookup works with "dict keys or attributes".
""",
        bug=[
            (
                "quill/template.py",
                """            if isinstance(value, dict):
                value = value.get(part, _MISSING)
            else:
                value = getattr(value, part, _MISSING)
""",
                """            value = value[part] if part in value else _MISSING
""",
            )
        ],
        tests={
            "tests/test_template.py": """
def test_dotted_lookup_on_attributes():
    from dataclasses import dataclass

    @dataclass
    class User:
        name: str
        email: str

    ctx = {"user": User("ada", "ada@example.org")}
    assert render_template("{{ user.name | title }} <{{ user.email }}>", ctx) == "Ada <ada@example.org>"
    assert render_template("[{{ user.phone }}]", ctx) == "[]"
"""
        },
    ),
    Spec(
        number=9,
        difficulty="easy",
        statement="""
loop.last is never true

```python
>>> render_template("{% for t in tags %}{{ t }}{% if not loop.last %}, {% endif %}{% endfor %}", {"tags": ["a", "b", "c"]})
'a, b, c, '
```

I expected `'a, b, c'`. `loop.first` works.
""",
        bug=[
            (
                "quill/template.py",
                '"last": index == len(items) - 1}',
                '"last": index == len(items)}',
            )
        ],
        tests={
            "tests/test_template.py": """
def test_loop_last():
    tpl = "{% for t in tags %}{{ t }}{% if not loop.last %}, {% endif %}{% endfor %}"
    assert render_template(tpl, {"tags": ["a", "b", "c"]}) == "a, b, c"
    assert render_template(tpl, {"tags": ["solo"]}) == "solo"
"""
        },
    ),
]
