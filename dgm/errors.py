"""Errors a user can act on. The CLI prints them as one line and exits 2.

`invalid_value` turns a pydantic ValidationError about something a user typed into that
line: the field, what is wrong, the valid range (read from the model's own constraints, so
it cannot fall behind) and the fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pydantic is imported only when a value is checked: `dgm --help` stays quick
    from pydantic import BaseModel, ValidationError


BOUND_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


class UserError(Exception):
    """Bad input or a missing prerequisite; the message names what and what to do."""


def field_range(model: type[BaseModel], loc: tuple[int | str, ...]) -> str | None:
    """'at least 1 and at most 64', 'a finite number above 0', ... for the numeric field at
    `loc` of `model` (nested models and lists of them followed), or None if it has no bounds."""
    from annotated_types import Ge, Gt, Le, Lt
    from pydantic import BaseModel

    current: Any = model
    info = None
    for part in loc:
        if isinstance(part, int):
            continue  # an index into a list of models
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(part)
        if info is None:
            return None
        current = model_of(info.annotation)
    if info is None:
        return None
    low = high = None
    metadata = constraints(info.metadata, info.annotation)
    for m in metadata:
        if isinstance(m, Ge):
            low = f"at least {m.ge}"
        elif isinstance(m, Gt):
            low = f"above {m.gt}"
        elif isinstance(m, Le):
            high = f"at most {m.le}"
        elif isinstance(m, Lt):
            high = f"below {m.lt}"
    finite = any(getattr(m, "allow_inf_nan", None) is False for m in metadata)
    parts = [p for p in (low, high) if p]
    if not parts:
        return "a finite number" if finite else None
    return ("a finite number " if finite else "") + " and ".join(parts)


def constraints(metadata: list[Any], annotation: Any) -> list[Any]:
    """A field's constraints: its own, and those of a shared bounds type it holds as an
    optional (`Seconds | None`: pydantic keeps them inside the union's Annotated arm)."""
    from pydantic.fields import FieldInfo

    found = list(metadata)
    for arg in getattr(annotation, "__args__", ()):
        for m in getattr(arg, "__metadata__", ()):
            found.extend(m.metadata if isinstance(m, FieldInfo) else [m])
    return found


def model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model a field holds: itself, or the items of a list (or optional) of it."""
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = model_of(arg)
        if found is not None:
            return found
    return None


def invalid_value(error: ValidationError, model: type[BaseModel], what: str, fix: str) -> str:
    """The first problem of `error` as one line: "invalid {what} 'field': problem (got X;
    valid: range); {fix}"."""
    first = error.errors()[0]
    loc = tuple(first["loc"])
    where = ".".join(str(p) for p in loc) or what
    msg = first["msg"].removeprefix("Value error, ")
    got = first.get("input")
    notes = []
    if got is not None and not isinstance(got, (dict, list)):
        notes.append(f"got {_short(got)}")
    valid = field_range(model, loc)
    if valid is not None:
        notes.append(f"valid: {valid}")
        if first["type"] in BOUND_ERRORS:  # pydantic's text repeats one bound of `valid`
            msg = "out of range"
    shown = f" ({'; '.join(notes)})" if notes else ""
    return f"invalid {what} '{where}': {msg}{shown}; {fix}"


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def in_range(
    option: str,
    value: float,
    low: float | None = None,
    high: float | None = None,
    *,
    above: bool = False,
) -> None:
    """Raise a UserError naming `option`, its valid range and the fix unless `value` is a
    finite number in [low, high] (`above`: strictly greater than `low`). For command-line
    numbers: click's ranges let NaN and infinity through."""
    import math

    ok = math.isfinite(value)
    ok = ok and (low is None or (value > low if above else value >= low))
    ok = ok and (high is None or value <= high)
    if ok:
        return
    bounds = [
        f"{'above' if above else 'at least'} {_num(low)}" if low is not None else "",
        f"at most {_num(high)}" if high is not None else "",
    ]
    valid = " and ".join(b for b in bounds if b)
    raise UserError(
        f"{option} {_num(value)} is out of range: give a finite number{' ' + valid if valid else ''}"
    )


def _num(x: float) -> str:
    """1000000 rather than 1e+06; 0.5 as 0.5; nan and inf as such."""
    import math

    if math.isfinite(x) and float(x).is_integer() and abs(x) < 1e18:
        return str(int(x))
    return repr(float(x))


def yaml_problem(error: Exception) -> str:
    """'line 3, column 5: mapping values are not allowed here' from a yaml.YAMLError."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or (str(error).splitlines() or [repr(error)])[0]
    if mark is None:
        return problem
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
