"""A self-contained HTML page of a comparison: per KPI, each scenario's paired difference from
the baseline as a bar with its confidence interval (inline SVG, no scripts, no CDN)."""

from __future__ import annotations

import html
import math
from typing import Any

__all__ = ["chart_html"]

_W, _ROW, _LEFT, _PAD = 640, 26, 260, 20


def _panel(row: dict[str, Any]) -> str:
    items = [(name, e["difference"]) for name, e in row["scenarios"].items()]
    finite = [x for _, d in items for x in (d["low"], d["high"], d["mean"]) if x is not None]
    scale_pct = 100.0 if row["unit"] == "%" else 1.0
    span = max([abs(x) for x in finite] + [1e-12])
    width = _W - _LEFT - 2 * _PAD
    zero = _LEFT + _PAD + width / 2

    def x(v: float) -> float:
        return float(zero + v / span * width / 2)

    height = _ROW * len(items) + 30
    parts = [f'<svg width="{_W}" height="{height}" role="img" '
             f'aria-label="{html.escape(row["label"])}">',
             f'<line x1="{zero:.1f}" y1="0" x2="{zero:.1f}" y2="{height - 20}" '
             'stroke="#444"/>']  # fmt: skip
    for i, (name, d) in enumerate(items):
        y = 5 + i * _ROW
        parts.append(f'<text x="{_LEFT}" y="{y + 14}" text-anchor="end" '
                     f'font-size="12">{html.escape(name)}</text>')  # fmt: skip
        if d["mean"] is None:
            continue
        clear = d["low"] is not None and d["high"] is not None and not d["low"] <= 0 <= d["high"]
        colour = ("#c0392b" if d["mean"] > 0 else "#2471a3") if clear else "#999"
        a, b = sorted((x(0.0), x(d["mean"])))
        parts.append(f'<rect x="{a:.1f}" y="{y + 3}" width="{max(b - a, 1):.1f}" height="14" '
                     f'fill="{colour}"/>')  # fmt: skip
        if d["low"] is not None and d["high"] is not None and math.isfinite(d["low"]):
            lo, hi = x(d["low"]), x(d["high"])
            parts.append(f'<line x1="{lo:.1f}" y1="{y + 10}" x2="{hi:.1f}" y2="{y + 10}" '
                         'stroke="#000"/>')  # fmt: skip
            for e in (lo, hi):
                parts.append(f'<line x1="{e:.1f}" y1="{y + 5}" x2="{e:.1f}" y2="{y + 15}" '
                             'stroke="#000"/>')  # fmt: skip
        label = f"{d['mean'] * scale_pct:+.3g}"
        parts.append(f'<text x="{_W - 5}" y="{y + 14}" text-anchor="end" '
                     f'font-size="11">{label}</text>')  # fmt: skip
    unit = "points" if row["unit"] == "%" else row["unit"]
    parts.append(f'<text x="{zero:.1f}" y="{height - 5}" text-anchor="middle" font-size="11">'
                 f"change from the baseline ({html.escape(unit)}), "
                 f"±{span * scale_pct:.3g} full scale</text></svg>")  # fmt: skip
    return "".join(parts)


def chart_html(result: dict[str, Any], title: str) -> str:
    """The page for a comparison's ``to_json()``: a panel per KPI, the sentences under it."""
    body = [f"<h1>{html.escape(title)}</h1>",
            f"<p>{result['reps']} replications per variant, seed {result['seed']}, common "
            "random numbers; bars: mean paired difference from the baseline; whiskers: "
            f"{round(100 * result['confidence'])}% confidence interval; grey: no clear "
            "change.</p>"]  # fmt: skip
    for row in result["kpis"]:
        body.append(f"<h2>{html.escape(row['label'])}</h2>")
        body.append(_panel(row))
        body.append("<ul>" + "".join(f"<li>{html.escape(e['sentence'])}</li>"
                                     for e in row["scenarios"].values()) + "</ul>")  # fmt: skip
    style = f"body{{font-family:sans-serif;max-width:{_W + 40}px;margin:auto}}"
    head = f"<meta charset='utf-8'><title>{html.escape(title)}</title><style>{style}</style>"
    return f"<!DOCTYPE html><html><head>{head}</head><body>{''.join(body)}</body></html>\n"
