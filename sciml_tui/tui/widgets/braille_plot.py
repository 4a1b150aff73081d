"""A small line/scatter plot on a log y axis (and optionally log x) drawn with braille dots.

Each terminal cell holds a 2 x 4 grid of dots, so a W x H plot area has 2W x 4H dots. Only
plain Unicode braille characters and colours are used: it renders the same in tmux over SSH.
Without colour (NO_COLOR) each series also gets its own marker glyph (o x + * ...); when the
terminal cannot show braille the plot is drawn with ASCII characters (`render_plot(ascii_only=True)`:
the axis and legend symbols of the ASCII `tui.format.Glyphs`, ':' '.' for dots, labels through
its `text`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Sequence

from rich.text import Text
from textual.widget import Widget

from sciml_tui.tui.format import Glyphs, glyphs_for, glyphs_of

_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))  # [row][col] within a cell
PALETTE = ("#e8793a", "#3b8fd9", "#43a047", "#c94fc9", "#d4b000", "#17a2a2", "#e0475b", "#8d6e63")
GLYPHS = ("o", "x", "+", "*", "#", "%", "@", "&")  # one marker per series where colour is missing
MAX_GLYPHS = 12  # glyph markers on one series at most, so a long curve stays readable


@dataclass
class Series:
    """One curve. `xs`, `ys` in data units; `lo`/`hi` optional spread bars at each x.

    `hline=True` draws ys[0] as a dashed horizontal reference across the whole x range.
    """

    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    color: str = PALETTE[0]
    lo: Optional[Sequence[float]] = None
    hi: Optional[Sequence[float]] = None
    markers: bool = False
    hline: bool = False
    lines: bool = True
    style: Optional[int] = None  # which GLYPHS marker (default: the series' position)


def _ok(v) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v) and v > 0


def _fmt_tick(v: float, decade: bool) -> str:
    """A y/x label of at most 5 characters."""
    e = math.floor(math.log10(v) + 1e-9)
    if decade and abs(v - 10.0**e) < 1e-9 * v:
        return {-2: "0.01", -1: "0.1", 0: "1", 1: "10", 2: "100", 3: "1k", 4: "10k"}.get(e, f"1e{e}")
    if 1e-3 <= v < 1e5:
        t = f"{v:.3g}"
        return t if len(t) <= 5 else f"{v:.0e}"
    return f"{v:.0e}".replace("e-0", "e-").replace("e+0", "e")


@dataclass
class PlotSpec:
    series: list[Series] = field(default_factory=list)
    log_x: bool = False
    x_label: str = ""
    x_ticks: Sequence[float] = ()  # extra labelled x values (e.g. the N ladder)
    empty: str = "no data yet"
    title: str = ""  # what the panel shows; kept whole on the legend line


def _glyph(spec: PlotSpec, s: Series) -> str:
    i = s.style if s.style is not None else spec.series.index(s)
    return GLYPHS[i % len(GLYPHS)]


def _legend(spec: PlotSpec, width: int, plain: bool, g: Glyphs) -> Text:
    """Title first (never cut), then one key per series, then the x label if it fits."""
    legend = Text(" ")
    if spec.title:
        legend.append(g.text(spec.title), style="bold")
        legend.append("  ")
    for s in spec.series:
        if plain and not s.hline:
            key = f"{_glyph(spec, s)}{g.legend_key} "
        else:
            key = f"{g.legend_line if not s.markers else g.legend_marker} "
        legend.append(key, style=s.color)
        if s.label:
            legend.append(g.text(s.label) + "  ")
    x_label = g.text(spec.x_label)
    if x_label and legend.cell_len + len(x_label) + 2 <= width:
        legend.append(" " * (width - legend.cell_len - len(x_label) - 1) + x_label, style="dim")
    legend.truncate(width)
    return legend


class _Canvas:
    """Braille dots on a pw x ph cell grid, in log y (and optionally log x) data coordinates."""

    def __init__(self, pw: int, ph: int, xr: tuple[float, float], yr: tuple[float, float], log_x: bool) -> None:
        self.pw, self.ph, self.log_x = pw, ph, log_x
        (self.x0, self.x1), (self.y0, self.y1) = xr, yr
        self.dots_w, self.dots_h = pw * 2, ph * 4
        self.grid = [[0] * pw for _ in range(ph)]
        self.color: list[list[Optional[str]]] = [[None] * pw for _ in range(ph)]
        self.glyph: dict[tuple[int, int], str] = {}

    def px(self, x: float) -> float:
        xv = math.log10(x) if self.log_x else x
        return (xv - self.x0) / (self.x1 - self.x0) * (self.dots_w - 1)

    def py(self, y: float) -> float:
        return (self.y1 - math.log10(y)) / (self.y1 - self.y0) * (self.dots_h - 1)

    def dot(self, px: float, py: float, c: str) -> None:
        ix, iy = int(round(px)), int(round(py))
        if 0 <= ix < self.dots_w and 0 <= iy < self.dots_h:
            self.grid[iy // 4][ix // 2] |= _BITS[iy % 4][ix % 2]
            self.color[iy // 4][ix // 2] = c

    def segment(self, a: tuple[float, float], b: tuple[float, float], c: str, dash: int = 0) -> None:
        n = int(max(abs(b[0] - a[0]), abs(b[1] - a[1]))) + 1
        for i in range(n + 1):
            if dash and (i // dash) % 2:
                continue
            t = i / n
            self.dot(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, c)

    def mark(self, px: float, py: float, glyph: str, c: str) -> None:
        ix, iy = int(round(px)) // 2, int(round(py)) // 4
        if 0 <= ix < self.pw and 0 <= iy < self.ph:
            self.glyph[(iy, ix)] = glyph
            self.color[iy][ix] = c

    def char(self, r: int, c: int, ascii_only: bool) -> str:
        if (r, c) in self.glyph:
            return self.glyph[(r, c)]
        bits = self.grid[r][c]
        if not bits:
            return " "
        if not ascii_only:
            return chr(0x2800 + bits)
        top, bottom = bits & 0x1B, bits & 0xE4  # dot rows 1-2 / rows 3-4 of the cell
        return ":" if top and bottom else ("'" if top else ".")


def _draw(cv: _Canvas, spec: PlotSpec, s: Series, glyphs: bool) -> None:
    if s.hline:
        if s.ys and _ok(s.ys[0]):
            py = cv.py(s.ys[0])
            cv.segment((0, py), (cv.dots_w - 1, py), s.color, dash=3)
        return
    p = [(cv.px(x), cv.py(y)) for x, y in zip(s.xs, s.ys) if _ok(y) and (_ok(x) or (not spec.log_x and x is not None))]
    if s.lines:
        for a, b in zip(p, p[1:]):
            cv.segment(a, b, s.color)
    if s.lo is not None and s.hi is not None:
        for x, lo, hi in zip(s.xs, s.lo, s.hi):
            if _ok(lo) and _ok(hi) and (_ok(x) or not spec.log_x):
                cv.segment((cv.px(x), cv.py(hi)), (cv.px(x), cv.py(lo)), s.color)
    if glyphs:
        step = max(1, math.ceil(len(p) / MAX_GLYPHS)) if not s.markers else 1
        for px, py in p[::step] + ([p[-1]] if p and (len(p) - 1) % step else []):
            cv.mark(px, py, _glyph(spec, s), s.color)
    elif s.markers:
        for px, py in p:
            for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1), (-1, 0), (0, -1)):
                cv.dot(px + dx, py + dy, s.color)


def _ranges(spec: PlotSpec, pts: list) -> tuple[tuple[float, float], tuple[float, float]]:
    ys = [y for _, y in pts]
    y0, y1 = math.log10(min(ys)), math.log10(max(ys))
    pad = max(0.05 * (y1 - y0), 0.05)
    xs = [x for s in spec.series if not s.hline for x in s.xs if x is not None and (_ok(x) or not spec.log_x)]
    if not xs:
        xs = [1.0, 10.0] if spec.log_x else [0.0, 1.0]
    x0, x1 = (math.log10(min(xs)), math.log10(max(xs))) if spec.log_x else (min(0.0, min(xs)), max(xs))
    return (x0, x1 if x1 > x0 else x0 + 1), (y0 - pad, y1 + pad)


def _y_ticks(cv: _Canvas) -> dict[int, str]:
    y0, y1, ticks = cv.y0, cv.y1, {}
    mults = (1,) if y1 - y0 > 2.5 else (1, 2, 5) if y1 - y0 > 0.8 else (1, 1.5, 2, 3, 5, 7)
    for e in range(math.floor(y0), math.ceil(y1) + 1):
        for m in mults:
            v = m * 10.0**e
            if y0 <= math.log10(v) <= y1:
                row = int(round((y1 - math.log10(v)) / (y1 - y0) * (cv.dots_h - 1))) // 4
                ticks.setdefault(row, _fmt_tick(v, m == 1))
    return ticks


def _x_axis(cv: _Canvas, spec: PlotSpec, label_w: int, g: Glyphs) -> Text:
    pw, x0, x1 = cv.pw, cv.x0, cv.x1
    axis = Text(" " * label_w + g.plot_corner, style="dim")
    labels = [(0, _fmt_tick(10**x0, False) if spec.log_x else f"{x0:g}")]
    if spec.log_x and not spec.x_ticks:
        for e in range(math.ceil(x0), math.floor(x1) + 1):
            labels.append((int(round((e - x0) / (x1 - x0) * (pw - 1))), _fmt_tick(10.0**e, True)))
    if spec.log_x:
        for v in spec.x_ticks:
            if _ok(v) and x0 <= math.log10(v) <= x1:
                labels.append((int(round((math.log10(v) - x0) / (x1 - x0) * (pw - 1))), _fmt_tick(v, False)))
    else:
        for k in range(1, 4):
            labels.append((int(round(k / 3 * (pw - 1))), f"{x0 + (x1 - x0) * k / 3:.0f}"))
    row = [" "] * pw
    for pos, lab in labels:
        start = min(max(0, pos - len(lab) // 2), pw - len(lab))
        if all(ch == " " for ch in row[max(0, start - 1):start + len(lab) + 1]):
            row[start:start + len(lab)] = list(lab)
    axis.append("".join(row), style="dim")
    return axis


def render_plot(spec: PlotSpec, width: int, height: int, plain: bool = False, ascii_only: bool = False) -> list[Text]:
    """Lines of a plot `width` x `height` cells: legend, plot rows with y labels, x axis.

    plain: no colour to tell series apart (NO_COLOR), so each gets a marker glyph;
    ascii_only: the terminal cannot show braille or box drawing (implies glyph markers).
    """
    width, height = max(width, 10), max(height, 4)
    g = glyphs_for(ascii_only)
    glyphs = plain or ascii_only
    pts = [(x, y) for s in spec.series for x, y in zip(s.xs, s.ys) if _ok(y) and (s.hline or _ok(x) or not spec.log_x)]
    pts += [(x, v) for s in spec.series for x, v in zip(s.xs, list(s.lo or []) + list(s.hi or [])) if _ok(v)]
    legend = _legend(spec, width, glyphs, g)
    label_w = 5
    pw, ph = width - label_w - 1, height - 2  # plot cells: minus legend and x axis rows
    if not pts:
        lines = [legend] + [Text("") for _ in range(height - 2)] + [Text(f" {g.text(spec.empty)}", style="dim")]
    elif pw < 4 or ph < 2:
        lines = [legend]
    else:
        cv = _Canvas(pw, ph, *_ranges(spec, pts), spec.log_x)
        for s in spec.series:
            _draw(cv, spec, s, glyphs)
        ticks = _y_ticks(cv)
        lines = [legend]
        for r in range(ph):
            line = Text(f"{ticks.get(r, ''):>{label_w}}", style="dim")
            line.append(g.plot_tick if r in ticks else g.plot_axis, style="dim")
            for c in range(pw):
                line.append(cv.char(r, c, ascii_only), style=cv.color[r][c] or "")
            lines.append(line)
        lines.append(_x_axis(cv, spec, label_w, g))
    return lines[:height]


class BraillePlot(Widget):
    """Renders a PlotSpec; call `show(spec)` to redraw (only this widget repaints)."""

    DEFAULT_CSS = "BraillePlot { height: 1fr; min-height: 6; }"

    def __init__(self, spec: Optional[PlotSpec] = None, **kw) -> None:
        super().__init__(**kw)
        self.spec = spec or PlotSpec()

    def show(self, spec: PlotSpec) -> None:
        self.spec = spec
        self.refresh()

    def render(self) -> Text:
        lines = render_plot(self.spec, self.size.width, self.size.height,
                            plain=bool(getattr(self.app, "no_color", False)), ascii_only=glyphs_of(self).ascii)
        return Text("\n").join(lines)
