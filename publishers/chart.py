"""A dependency-free PNG stacked-bar chart: churn by reason over the last periods.

Email clients show images but not SVG or scripts, and matplotlib is a heavy dependency for one
chart, so this draws rectangles into an RGB buffer and encodes it with zlib. Axis text is limited
to digits (a 3x5 pixel font); the legend lives in the HTML next to the image.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

# Category colours (colour-blind friendly, Okabe-Ito order), shared with the HTML legend.
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
    "unknown": "#CCCCCC",
}
_FALLBACK_COLOUR = "#777777"
# Fits the 640 px email body with its 24 px side padding.
CHART_WIDTH, CHART_HEIGHT = 592, 220
_BACKGROUND = (255, 255, 255)
_AXIS = (120, 120, 120)
_GRID = (230, 230, 230)

_DIGITS = {  # 3x5 bitmaps, one string per row
    "0": ("111", "101", "101", "101", "111"), "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"), "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"), "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"), "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"), "9": ("111", "101", "111", "001", "111"),
    "-": ("000", "000", "111", "000", "000"),
}


@dataclass(frozen=True)
class ChartData:
    periods: list[str]                       # oldest first
    labels: list[str]                        # short axis label per period (digits and '-')
    series: dict[str, list[int]]             # category -> count per period

    def total(self) -> int:
        return sum(sum(values) for values in self.series.values())


def colour_of(category: str) -> str:
    return CATEGORY_COLOURS.get(category, _FALLBACK_COLOUR)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(_BACKGROUND) * (width * height))

    def rect(self, x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int]) -> None:
        x0, x1 = max(0, min(x0, x1)), min(self.width, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(self.height, max(y0, y1))
        row = bytes(colour) * (x1 - x0)
        for y in range(y0, y1):
            start = (y * self.width + x0) * 3
            self.pixels[start : start + len(row)] = row

    def text(self, x: int, y: int, text: str, scale: int = 2) -> None:
        for index, char in enumerate(text):
            glyph = _DIGITS.get(char)
            if glyph is None:
                continue
            left = x + index * 4 * scale
            for gy, bits in enumerate(glyph):
                for gx, bit in enumerate(bits):
                    if bit == "1":
                        self.rect(left + gx * scale, y + gy * scale,
                                  left + (gx + 1) * scale, y + (gy + 1) * scale, _AXIS)

    def png(self) -> bytes:
        raw = b"".join(
            b"\x00" + bytes(self.pixels[y * self.width * 3 : (y + 1) * self.width * 3])
            for y in range(self.height)
        )
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
                + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b""))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def render_chart(data: ChartData, width: int = CHART_WIDTH, height: int = CHART_HEIGHT) -> bytes:
    """Stacked bars, one per period, coloured by reason category; y axis labelled with the max."""
    canvas = _Canvas(width, height)
    left, right, top, bottom = 40, 10, 12, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(values[i] for values in data.series.values()) for i in range(len(data.periods))]
    peak = max(totals, default=0) or 1
    for fraction in (0.25, 0.5, 0.75, 1.0):
        y = top + plot_h - int(plot_h * fraction)
        canvas.rect(left, y, left + plot_w, y + 1, _GRID)
    canvas.rect(left - 1, top, left, top + plot_h + 1, _AXIS)
    canvas.rect(left - 1, top + plot_h, left + plot_w, top + plot_h + 1, _AXIS)
    canvas.text(4, top - 2, str(peak))
    canvas.text(4, top + plot_h - 10, "0")
    slot = plot_w / max(len(data.periods), 1)
    bar_w = max(int(slot * 0.7), 1)
    for index, label in enumerate(data.labels):
        x0 = left + int(index * slot + (slot - bar_w) / 2)
        base = top + plot_h
        for category, values in data.series.items():
            bar_h = round(plot_h * values[index] / peak)
            if bar_h:
                canvas.rect(x0, base - bar_h, x0 + bar_w, base, _rgb(colour_of(category)))
                base -= bar_h
        canvas.text(x0 + max(bar_w // 2 - len(label) * 4, 0), top + plot_h + 6, label)
    return canvas.png()
