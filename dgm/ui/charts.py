"""Small SVG line charts rendered on the server (no script needed to draw them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from dgm.ui.html import render

W, H = 640, 240
PAD_L, PAD_R, PAD_T, PAD_B = 64, 22, 12, 34
MAX_POINTS = 400  # a polyline of 100k points is slow to draw and no clearer


@dataclass(frozen=True)
class Series:
    label: str
    css: str  # class of the line (its colour lives in app.css)
    points: list[tuple[float, float]]
    step: bool = False


def thin(
    points: Sequence[tuple[float, float]], limit: int = MAX_POINTS
) -> list[tuple[float, float]]:
    """At most `limit` evenly spaced points, the last one always kept."""
    if len(points) <= limit:
        return list(points)
    stride = len(points) / limit
    out = [points[int(i * stride)] for i in range(limit)]
    if out[-1] != points[-1]:
        out.append(points[-1])
    return out


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


def _fmt(v: float, span: float) -> str:
    """Enough decimals to tell ticks `span / 4` apart."""
    if abs(v) >= 1000 and span >= 4000:
        return f"{v / 1000:.0f}k"
    digits = 0
    while digits < 6 and span > 0 and span / 4 < 10**-digits:
        digits += 1
    if 0 < span < 10:
        digits += 1  # quarter steps (0.25) need one more
    return f"{v:.{digits}f}"


@dataclass(frozen=True)
class Tick:
    at: str  # the position along its axis, in SVG units
    text: str
    text_at: str = ""  # where a y tick's label sits (a little below its line)


@dataclass(frozen=True)
class Line:
    css: str
    label: str
    points: str  # "x,y x,y ..." in SVG units
    dot: tuple[str, str] | None  # a lone point is drawn as a dot too


def line_chart(
    series: list[Series], xlabel: str, ylabel: str, y_range: tuple[float, float] | None = None
) -> Markup:
    pts = [p for s in series for p in s.points]
    if not pts:
        return render("empty.html", note="Nothing to plot yet.")
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = y_range or (min(0.0, min(p[1] for p in pts)), max(p[1] for p in pts) or 1.0)
    x1 = x1 if x1 > x0 else x0 + 1
    y1 = y1 if y1 > y0 else y0 + 1

    def sx(x: float) -> float:
        return PAD_L + (x - x0) / (x1 - x0) * (W - PAD_L - PAD_R)

    def sy(y: float) -> float:
        return H - PAD_B - (y - y0) / (y1 - y0) * (H - PAD_T - PAD_B)

    lines = []
    for s in series:
        coords: list[str] = []
        prev_y: float | None = None
        for x, y in thin(s.points):
            if s.step and prev_y is not None:
                coords.append(f"{sx(x):.1f},{sy(prev_y):.1f}")
            coords.append(f"{sx(x):.1f},{sy(y):.1f}")
            prev_y = y
        cx, _, cy = coords[0].partition(",")
        lines.append(Line(s.css, s.label, " ".join(coords), (cx, cy) if len(coords) == 1 else None))
    return render(
        "chart.svg",
        w=W,
        h=H,
        left=PAD_L,
        right=W - PAD_R,
        bottom=H - PAD_B,
        mid=(H - PAD_B + PAD_T) / 2,
        xlabel=xlabel,
        ylabel=ylabel,
        y_ticks=[
            Tick(f"{sy(t):.1f}", _fmt(t, y1 - y0), f"{sy(t) + 4:.1f}") for t in _ticks(y0, y1)
        ],
        x_ticks=[Tick(f"{sx(t):.1f}", _fmt(t, x1 - x0)) for t in _ticks(x0, x1)],
        lines=lines,
    )
