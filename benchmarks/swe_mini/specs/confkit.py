"""swe-mini tasks on the `confkit` repository (layered configuration)."""

from benchmarks.swe_mini.make_tasks import Spec

TASKS = [
    Spec(
        number=1,
        difficulty="easy",
        statement="""
URL fragments are cut off

```ini
[docs]
url = https://example.org/guide#install
```

`parse_ini(...)["docs"]["url"]` is `'https://example.org/guide'`. The `#install` part is
dropped as if it were a comment. The module docstring says an inline comment needs
whitespace before the `#`.
""",
        bug=[
            (
                "confkit/ini.py",
                r"""_INLINE_COMMENT = re.compile(r"\s+[#;].*$")""",
                r"""_INLINE_COMMENT = re.compile(r"[#;].*$")""",
            )
        ],
        tests={
            "tests/test_ini.py": """
def test_hash_without_space_is_part_of_the_value():
    parsed = parse_ini("[docs]\\nurl = https://example.org/guide#install\\ncolor = red;blue # note\\n")
    assert parsed["docs"]["url"] == "https://example.org/guide#install"
    assert parsed["docs"]["color"] == "red;blue"
"""
        },
    ),
    Spec(
        number=2,
        difficulty="easy",
        statement="""
`debug = off` is rejected

```
confkit.schema.ValidationError: invalid configuration:
  server.debug: not a boolean: 'off' (use true/false, yes/no, on/off or 1/0)
```

The error message itself says on/off is allowed.
""",
        bug=[
            (
                "confkit/types.py",
                'FALSE = {"0", "false", "no", "off"}',
                'FALSE = {"0", "false", "no"}',
            )
        ],
        tests={
            "tests/test_types.py": """
def test_off_is_false():
    assert to_bool("off") is False
    assert to_bool(" OFF ") is False
""",
            "tests/test_loader.py": """
def test_debug_off():
    assert load(SCHEMA, text=FILE.replace("debug = yes", "debug = off"))["server.debug"] is False
""",
        },
    ),
    Spec(
        number=3,
        difficulty="easy",
        statement="""
Decimal size units are treated as binary

`cache.size = 10MB` gives 10485760 bytes. We use `MiB` when we mean 1024-based units;
`MB` should be 10,000,000 (same for kB, GB, TB).
""",
        bug=[
            (
                "confkit/types.py",
                '"kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,',
                '"kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4,',
            )
        ],
        tests={
            "tests/test_types.py": """
@pytest.mark.parametrize("text, size", [("10MB", 10_000_000), ("1kB", 1000), ("2 GB", 2 * 10**9), ("1tb", 10**12)], ids=["mb", "kb", "gb", "tb"])
def test_decimal_size_units(text, size):
    assert to_size(text) == size
"""
        },
    ),
    Spec(
        number=4,
        difficulty="medium",
        statement="""
Can't put a literal `$` next to a brace in a value

Our database password is `pa${x}` (yes, really). The docs say `$$` is a literal dollar
sign, so I wrote `password = pa$${x}`, but loading fails with
`InterpolationError: db.password: unknown reference ${x}`. And `price = 5$$` comes back
as `5$$` instead of `5$`.
""",
        bug=[
            (
                "confkit/interpolate.py",
                r"""_REF = re.compile(r"\$\$|\$\{([^}]+)\}")""",
                r"""_REF = re.compile(r"\$\{([^}]+)\}")""",
            ),
            (
                "confkit/interpolate.py",
                """            if match.group(0) == "$$":
                return "$"
            return lookup""",
                """            return lookup""",
            ),
        ],
        tests={
            "tests/test_interpolate.py": """
def test_double_dollar_is_a_literal_dollar():
    assert interpolate({"db.password": "pa$${x}", "price": "5$$"}) == {"db.password": "pa${x}", "price": "5$"}
"""
        },
    ),
    Spec(
        number=5,
        difficulty="medium",
        statement="""
Environment variables don't override the config file

In production we set `APP_SERVER_HOST` in the container, but the service keeps using the
host from app.ini. The README says the environment has precedence over the file. It only
works for keys that are not in the file.
""",
        bug=[
            (
                "confkit/loader.py",
                """    if text is not None:
        layers.append(("file", interpolate(flatten(parse_ini(text)), env)))
    layers.append(("env", env_overrides(schema, env, env_prefix)))
""",
                """    layers.append(("env", env_overrides(schema, env, env_prefix)))
    if text is not None:
        layers.append(("file", interpolate(flatten(parse_ini(text)), env)))
""",
            )
        ],
        tests={
            "tests/test_loader.py": """
def test_environment_beats_file():
    config = load(SCHEMA, text=FILE, env={"APP_SERVER_HOST": "prod.example.org"})
    assert config["server.host"] == "prod.example.org"
    assert config.sources["server.host"] == "env"
"""
        },
    ),
    Spec(
        number=6,
        difficulty="medium",
        statement="""
RecursionError on a config with a reference cycle

A typo in our config (`url = ${base}` / `base = ${url}`) made the service crash at start
with a 1000-line `RecursionError: maximum recursion depth exceeded` traceback. The
interpolation docs say a cycle is reported as an InterpolationError naming its keys,
which would have saved us an hour.
""",
        bug=[
            (
                "confkit/interpolate.py",
                """        if key in chain:
            cycle = " -> ".join((*chain[chain.index(key):], key))
            raise InterpolationError(f"reference cycle: {cycle}")
""",
                "",
            )
        ],
        tests={
            "tests/test_interpolate.py": """
def test_cycle_is_reported():
    with pytest.raises(InterpolationError, match=r"reference cycle: (a -> b -> a|b -> a -> b)"):
        interpolate({"a": "${b}", "b": "${a}"})


def test_self_reference_is_a_cycle():
    with pytest.raises(InterpolationError, match="reference cycle: s.x -> s.x"):
        interpolate({"s.x": "${x}"})
"""
        },
    ),
    Spec(
        number=7,
        difficulty="medium",
        statement="""
--no-<flag> does not work

```
>>> parse_args(["--no-color"], flags=["color"])
Traceback (most recent call last):
  ...
confkit.cli.UsageError: --no-color needs a value
```

The module docstring documents `--flag / --no-flag` for booleans.
""",
        bug=[
            (
                "confkit/cli.py",
                """            elif name.startswith("no-") and name[3:] in flags:
                args.options[name[3:].replace("-", "_")] = False
""",
                "",
            )
        ],
        tests={
            "tests/test_cli.py": """
def test_negated_flag():
    assert parse_args(["--no-color"], flags=["color"]).options == {"color": False}
    assert parse_args(["--dry-run", "--no-dry-run"], flags=["dry-run"]).options == {"dry_run": False}
"""
        },
    ),
    Spec(
        number=8,
        difficulty="hard",
        statement="""
Multi-line lists come out as a single item

I switched our allowed hosts to the multi-line style because the list got long:

```ini
[server]
allowed_hosts =
    a.example.org
    b.example.org
```

and now only one host is allowed and it's called "a.example.org b.example.org". Comma
separated on one line still works.
""",
        bug=[
            (
                "confkit/ini.py",
                """sections[current][last_key] = (previous + "\\n" if previous else "") + _value(stripped, number)""",
                """sections[current][last_key] = (previous + " " if previous else "") + _value(stripped, number)""",
            ),
            (
                "confkit/types.py",
                '''    """Items separated by commas or newlines, trimmed; empty items dropped."""
    return [item.strip() for item in re.split(r"[,\\n]", text) if item.strip()]''',
                '''    """Items separated by commas, trimmed; empty items dropped."""
    return [item.strip() for item in text.split(",") if item.strip()]''',
            ),
        ],
        tests={
            "tests/test_ini.py": """
def test_continuation_lines_are_joined_with_newlines():
    parsed = parse_ini("[server]\\nhosts =\\n    a.example.org\\n    b.example.org  # backup\\nport = 1\\n")
    assert parsed["server"] == {"hosts": "a.example.org\\nb.example.org", "port": "1"}
""",
            "tests/test_types.py": """
def test_to_list_splits_lines():
    assert to_list("a\\nb, c\\n\\n d") == ["a", "b", "c", "d"]
""",
            "tests/test_loader.py": """
def test_multi_line_list():
    schema = Schema([Field("server.allowed_hosts", list, default=[])])
    text = "[server]\\nallowed_hosts =\\n    a.example.org\\n    b.example.org\\n"
    assert load(schema, text=text)["server.allowed_hosts"] == ["a.example.org", "b.example.org"]
""",
        },
    ),
    Spec(
        number=9,
        difficulty="easy",
        statement="""
--set with a URL value crashes

```
$ myapp --set db.url=postgres://app@db/app?sslmode=require
Traceback (most recent call last):
  File "/usr/local/bin/myapp", line 8, in <module>
    sys.exit(main())
  ...
  File ".../confkit/cli.py", line 53, in parse_args
    key, setting = value.split("=")
ValueError: too many values to unpack (expected 2)
```
""",
        bug=[
            (
                "confkit/cli.py",
                """                key, eq, setting = value.partition("=")
                if not eq or not key:
""",
                """                if "=" not in value:
                    raise UsageError(f"--set expects section.key=value, got {value!r}")
                key, setting = value.split("=")
                if not key:
""",
            )
        ],
        tests={
            "tests/test_cli.py": """
def test_set_value_containing_equals():
    args = parse_args(["--set", "db.url=postgres://app@db/app?sslmode=require", "--set=x.y=a=b"])
    assert args.overrides == {"db.url": "postgres://app@db/app?sslmode=require", "x.y": "a=b"}
"""
        },
    ),
    Spec(
        number=10,
        difficulty="medium",
        statement="""
Default values are not converted to the field's type

With `Field("cache.size", "size", default="64MiB")` and no `cache.size` in the file,
`config["cache.size"]` is the string `'64MiB'`; when the file sets it, it's an int.
Our code does `config["cache.size"] // 2` and crashes only on machines without the
setting. Defaults should go through the same conversion as everything else.
""",
        bug=[
            (
                "confkit/schema.py",
                """                    values[f.key] = f.default if not isinstance(f.default, str) else coerce(f.default, f.type)
""",
                """                    values[f.key] = f.default
""",
            )
        ],
        tests={
            "tests/test_loader.py": """
def test_string_defaults_are_converted():
    schema = Schema([Field("cache.size", "size", default="64MiB"), Field("workers", int, default="4"), Field("tags", list, default="a, b")])
    config = load(schema, text="")
    assert config["cache.size"] == 64 * 1024**2
    assert config["workers"] == 4
    assert config["tags"] == ["a", "b"]
"""
        },
    ),
    Spec(
        number=11,
        difficulty="medium",
        statement="""
${env:...} references don't work when loading the config

`interpolate({"paths.home": "${env:HOME}/app"}, os.environ)` works fine in a shell, but
the same line in app.ini fails when the app starts:

```
confkit.interpolate.InterpolationError: paths.home: environment variable HOME is not set
```

HOME is definitely set, and we pass `env=os.environ` to `load()`. Values from
`APP_...` variables do get picked up.
""",
        bug=[
            (
                "confkit/loader.py",
                "interpolate(flatten(parse_ini(text)), env)",
                "interpolate(flatten(parse_ini(text)))",
            )
        ],
        tests={
            "tests/test_loader.py": """
def test_file_can_reference_the_environment():
    schema = Schema([Field("paths.home", str), Field("paths.port", int, default=1)])
    text = "[paths]\\nhome = ${env:HOME}/app\\nport = ${env:PORT:-8080}\\n"
    config = load(schema, text=text, env={"HOME": "/home/ada", "PORT": "9000"})
    assert config["paths.home"] == "/home/ada/app"
    assert config["paths.port"] == 9000
"""
        },
    ),
]
