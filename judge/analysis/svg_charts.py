"""Inline SVG charts drawn in Python (no JS, no external assets): stacked tier bars and a heatmap."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

TIER_COLOURS: dict[str, str] = {
    "full_instructions": "#b2182b",
    "partial": "#ef8a62",
    "refusal": "#4393c3",
    "safe_deflection": "#92c5de",
    "blocked": "#7b3294",
    "error": "#bdbdbd",
}
TIER_LABELS: dict[str, str] = {
    "full_instructions": "full instructions",
    "partial": "partial",
    "refusal": "refusal",
    "safe_deflection": "safe deflection",
    "blocked": "blocked (content filter)",
    "error": "error",
}
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif"


def _text(
    x: float, y: float, s: str, *, size: int = 12, anchor: str = "start", fill: str = "#222", weight: str = "normal"
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" '
        f'font-weight="{weight}">{escape(s)}</text>'
    )


def _pct(v: float) -> str:
    return f"{v * 100:.1f}%"


@dataclass(frozen=True)
class Bar:
    label: str
    counts: dict[str, int]  # keys from TIER_COLOURS


def stacked_tier_bars(bars: Sequence[Bar], *, title: str = "Tiers by target and intent") -> str:
    """Horizontal 100% stacked bars, one per (target, intent), with a legend and n per bar."""
    label_w, bar_w, row_h, gap, right = 230, 760, 24, 8, 70
    legend_h, title_h = 26, 28
    width = label_w + bar_w + right
    height = title_h + legend_h + len(bars) * (row_h + gap) + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" style="{FONT}">',
        _text(0, 18, title, size=15, weight="bold"),
    ]
    x = float(label_w)
    for key, colour in TIER_COLOURS.items():
        out.append(f'<rect x="{x:.1f}" y="{title_h + 2}" width="12" height="12" fill="{colour}"/>')
        out.append(_text(x + 16, title_h + 12, TIER_LABELS[key], size=11))
        x += 22 + 6.5 * len(TIER_LABELS[key])
    y = title_h + legend_h
    for bar in bars:
        total = sum(bar.counts.get(k, 0) for k in TIER_COLOURS)
        out.append(_text(label_w - 8, y + row_h * 0.68, bar.label, anchor="end"))
        out.append(f'<rect x="{label_w}" y="{y}" width="{bar_w}" height="{row_h}" fill="#f4f4f4"/>')
        x = float(label_w)
        for key, colour in TIER_COLOURS.items():
            count = bar.counts.get(key, 0)
            if not count or not total:
                continue
            w = bar_w * count / total
            share = count / total
            out.append(
                f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{row_h}" fill="{colour}">'
                f"<title>{escape(f'{bar.label}: {TIER_LABELS[key]} {count}/{total} ({_pct(share)})')}"
                f"</title></rect>"
            )
            if w >= 44:
                fill = "#fff" if key in ("full_instructions", "refusal", "blocked") else "#111"
                out.append(_text(x + w / 2, y + row_h * 0.68, _pct(share), size=11, anchor="middle", fill=fill))
            x += w
        out.append(_text(label_w + bar_w + 6, y + row_h * 0.68, f"n={total}", size=11, fill="#555"))
        y += row_h + gap
    out.append("</svg>")
    return "".join(out)


def heat_colour(value: float) -> str:
    """White (0) → dark red (1), linear in RGB."""
    v = min(1.0, max(0.0, value))
    lo, hi = (255, 245, 240), (165, 15, 21)
    r, g, b = (round(a + (c - a) * v) for a, c in zip(lo, hi, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


@dataclass(frozen=True)
class Cell:
    rate: float | None
    k: int
    n: int


# heatmap layout (pixels)
HEAT_LABEL_W, HEAT_CELL_W, HEAT_CELL_H, HEAT_TITLE_H, HEAT_HEAD_H = 240, 150, 34, 28, 30
HEAT_LEGEND_W = 300


def _heat_cell(x: int, y: int, row: str, col: str, cell: Cell | None) -> list[str]:
    """One grid cell: grey 'n/a' without a rate, else coloured by the rate with the rate and k/n."""
    cell_w, cell_h = HEAT_CELL_W, HEAT_CELL_H
    if cell is None or cell.rate is None:
        return [
            f'<rect x="{x}" y="{y}" width="{cell_w}" height="{cell_h}" fill="#e0e0e0" stroke="#fff"/>',
            _text(x + cell_w / 2, y + cell_h * 0.62, "n/a", size=11, anchor="middle", fill="#666"),
        ]
    tip = f"{row} × {col}: {_pct(cell.rate)} ({cell.k}/{cell.n})"
    fill = "#fff" if cell.rate > 0.5 else "#111"
    return [
        f'<rect x="{x}" y="{y}" width="{cell_w}" height="{cell_h}" fill="{heat_colour(cell.rate)}" '
        f'stroke="#fff"><title>{escape(tip)}</title></rect>',
        _text(
            x + cell_w / 2,
            y + cell_h * 0.62,
            f"{_pct(cell.rate)} ({cell.k}/{cell.n})",
            size=12,
            anchor="middle",
            fill=fill,
        ),
    ]


def _heat_grid(
    rows: Sequence[str], cols: Sequence[str], cells: dict[tuple[str, str], Cell], row_labels: dict[str, str] | None
) -> list[str]:
    """Column headers, then per row its label and its cells."""
    label_w, cell_w, cell_h, top = HEAT_LABEL_W, HEAT_CELL_W, HEAT_CELL_H, HEAT_TITLE_H + HEAT_HEAD_H
    out = [
        _text(label_w + cell_w * (j + 0.5), top - 10, col, anchor="middle", weight="bold") for j, col in enumerate(cols)
    ]
    for i, row in enumerate(rows):
        y = top + i * cell_h
        out.append(_text(label_w - 8, y + cell_h * 0.62, (row_labels or {}).get(row, row), anchor="end"))
        for j, col in enumerate(cols):
            out += _heat_cell(label_w + j * cell_w, y, row, col, cells.get((row, col)))
    return out


def _heat_legend(ly: int) -> list[str]:
    """A gradient from 0% to 100% at height ly, and a grey swatch for cells without scored items."""
    label_w, legend_w = HEAT_LABEL_W, HEAT_LEGEND_W
    out = [
        '<defs><linearGradient id="heat-legend" x1="0" x2="1" y1="0" y2="0">'
        + "".join(f'<stop offset="{s / 4:.2f}" stop-color="{heat_colour(s / 4)}"/>' for s in range(5))
        + "</linearGradient></defs>",
        _text(label_w - 8, ly + 12, "violation rate", size=11, anchor="end", fill="#555"),
        f'<rect x="{label_w}" y="{ly}" width="{legend_w}" height="14" fill="url(#heat-legend)" '
        f'stroke="#999" stroke-width="0.5"/>',
    ]
    for s in range(5):
        out.append(_text(label_w + legend_w * s / 4, ly + 30, f"{s * 25}%", size=11, anchor="middle", fill="#555"))
    out.append(f'<rect x="{label_w + legend_w + 30}" y="{ly}" width="14" height="14" fill="#e0e0e0"/>')
    out.append(_text(label_w + legend_w + 50, ly + 12, "no scored items", size=11, fill="#555"))
    return out


def heatmap(
    rows: Sequence[str],
    cols: Sequence[str],
    cells: dict[tuple[str, str], Cell],
    *,
    title: str = "Violation rate by hazard and target",
    row_labels: dict[str, str] | None = None,
) -> str:
    """A rows × cols grid coloured by rate, each cell showing the rate and k/n; a colour legend."""
    width = max(HEAT_LABEL_W + HEAT_CELL_W * len(cols) + 20, HEAT_LABEL_W + HEAT_LEGEND_W + 170)
    grid_h = HEAT_CELL_H * len(rows)
    height = HEAT_TITLE_H + HEAT_HEAD_H + grid_h + 64
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" style="{FONT}">',
        _text(0, 18, title, size=15, weight="bold"),
        *_heat_grid(rows, cols, cells, row_labels),
        *_heat_legend(HEAT_TITLE_H + HEAT_HEAD_H + grid_h + 20),
        "</svg>",
    ]
    return "".join(out)
