"""The digest chart: a department's churn by reason over the last periods, drawn with matplotlib.

Why matplotlib (over Vega-Altair + vl-convert): it renders PNG and SVG offline in-process with
its own bundled font (DejaVu Sans), so output is the same on every machine and in CI, with no
JavaScript engine or system fonts involved; it is among the best-kept plotting libraries in
Python. The PNG goes inline into e-mail (clients show images, not SVG or scripts); the SVG is
written beside the HTML digest for the browser and for print.

Readable by design: the y axis has whole-number (or money) ticks, every period is labelled with
its year and ISO week or month, and colours follow the Okabe-Ito palette, which stays
distinguishable with the common colour-vision deficiencies.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from functools import cache

# Okabe & Ito (2008) colour-blind-safe palette, one colour per reason category, shared with the
# HTML legend.
CATEGORY_COLOURS: dict[str, str] = {
    "product": "#0072B2",
    "pricing": "#E69F00",
    "service": "#D55E00",
    "success_process": "#009E73",
    "competitor": "#CC79A7",
    "relationship": "#56B4E9",
    "company": "#999999",
    "needs": "#F0E442",
    "involuntary": "#000000",
    "unknown": "#BBBBBB",
}
_FALLBACK_COLOUR = "#777777"
# Fits the 640 px e-mail body with its 24 px side padding (rendered at 2x for sharp screens).
CHART_WIDTH, CHART_HEIGHT = 592, 260
_DPI = 100
_SCALE = 2


@dataclass(frozen=True)
class ChartData:
    periods: list[str]                       # oldest first: "2026-W47" or "2026-11"
    labels: list[str]                        # axis label per period
    series: dict[str, list[float]]           # category -> value per period
    title: str = "Churned accounts by reason"
    measure: str = "count"                   # count | revenue

    def total(self) -> float:
        return sum(sum(values) for values in self.series.values())


def colour_of(category: str) -> str:
    return CATEGORY_COLOURS.get(category, _FALLBACK_COLOUR)


@cache
def _pyplot():  # noqa: ANN202 - the pyplot module
    # matplotlib caches its font list in ~/.config or ~/.cache unless told otherwise; churnkb
    # writes nothing outside its data directory and the system temp directory.
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "churnkb-matplotlib"))
    import matplotlib

    matplotlib.use("Agg")  # no display, no GUI toolkit
    matplotlib.rcParams.update({
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "svg.hashsalt": "churnkb",          # stable ids: the same chart gives the same SVG
        "svg.fonttype": "none",             # text stays text in the SVG (searchable, small)
        "axes.spines.top": False,
        "axes.spines.right": False,
    })
    import matplotlib.pyplot as plt

    return plt


def _figure(data: ChartData):  # noqa: ANN202 - a matplotlib Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(CHART_WIDTH / _DPI, CHART_HEIGHT / _DPI), dpi=_DPI)
    positions = list(range(len(data.periods)))
    base = [0.0] * len(positions)
    for category, values in data.series.items():
        axes.bar(positions, values, bottom=base, width=0.7, color=colour_of(category),
                 label=category.replace("_", " "), edgecolor="white", linewidth=0.5)
        base = [b + v for b, v in zip(base, values, strict=True)]
    axes.set_xticks(positions, [_axis_label(p) for p in data.periods], rotation=45, ha="right",
                    rotation_mode="anchor", fontsize=8)
    axes.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True, min_n_ticks=2))
    if data.measure == "revenue":
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: _short_money(value)))
    axes.set_ylim(0, max(max(base, default=0) * 1.15, 1))
    axes.grid(axis="y", color="#e6e6e6", linewidth=0.8)
    axes.set_axisbelow(True)
    axes.set_title(data.title, loc="left", fontsize=10, color="#172b4d")
    if data.series:
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    else:
        axes.text(0.5, 0.5, "No churn in these periods", transform=axes.transAxes,
                  ha="center", va="center", color="#6b778c")
    figure.tight_layout()
    return figure


def _axis_label(period: str) -> str:
    # "2026-W47" -> "2026 W47"; "2026-11" -> "Nov 2026"
    if "-W" in period:
        return period.replace("-W", " W")
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    year, _, month = period.partition("-")
    return f"{months[int(month) - 1]} {year}" if month.isdigit() else period


def _short_money(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 1_000:
        return f"{value / 1_000:.0f}k"
    return f"{value:.0f}"


def _render(data: ChartData, fmt: str) -> bytes:
    plt = _pyplot()
    figure = _figure(data)
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    try:
        figure.savefig(buffer, format=fmt, dpi=_DPI * _SCALE, metadata=metadata)
    finally:
        plt.close(figure)
    return buffer.getvalue()


def render_chart(data: ChartData) -> bytes:
    """The chart as PNG (for e-mail, inline by Content-ID)."""
    return _render(data, "png")


def render_chart_svg(data: ChartData) -> bytes:
    """The same chart as SVG (beside the HTML digest)."""
    return _render(data, "svg")
