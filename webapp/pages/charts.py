"""Small charts drawn on the server as inline SVG: no script, no inline style (SVG presentation
attributes and CSS classes only), so the pages' Content-Security-Policy stays strict.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

PALETTE = 8  # CSS classes c0..c7 colour the answers over time


def _svg(width: int, height: int, title: str, body: list[str], css: str) -> Markup:
    return Markup(f'<svg class="{css}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
                  f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
                  + "".join(body) + "</svg>")


def _rect(x: float, y: float, w: float, h: float, css: str, tip: str = "") -> str:
    title = f"<title>{escape(tip)}</title>" if tip else ""
    return (f'<rect class="{css}" x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.0):.1f}" '
            f'height="{max(h, 0.0):.1f}">{title}</rect>')


def _bin_names(histogram: dict[str, Any]) -> list[str]:
    if "categories" in histogram:
        return [str(c) for c in histogram["categories"]]
    edges = histogram.get("edges") or []
    return [f"{edges[i]:.4g} to {edges[i + 1]:.4g}" for i in range(len(edges) - 1)]


def histogram_svg(histogram: dict[str, Any] | None, feature: str, width: int = 180,
                  height: int = 44) -> Markup:
    """Reference (grey, full width) and current (blue, narrower) shares per shared bin."""
    if not histogram or not histogram.get("reference"):
        return Markup("")
    ref, cur = histogram["reference"], histogram.get("current") or []
    names = _bin_names(histogram)
    top = max([*ref, *cur, 1e-9])
    step = width / len(ref)
    body = [f'<line class="axis" x1="0" x2="{width}" y1="{height - 0.5}" y2="{height - 0.5}"></line>']
    for i, share in enumerate(ref):
        now = cur[i] if i < len(cur) else 0.0
        tip = f"{names[i] if i < len(names) else i}: reference {share:.1%}, current {now:.1%}"
        h_ref, h_cur = share / top * (height - 2), now / top * (height - 2)
        body.append(_rect(i * step, height - 1 - h_ref, step - 0.5, h_ref, "ref", tip))
        body.append(_rect(i * step + step * 0.25, height - 1 - h_cur, step * 0.5, h_cur, "cur", tip))
    return _svg(width, height, f"{feature}: reference (grey) against current (blue)", body, "hist")


def _stack(bucket: dict[str, Any], x: float, w: float, height: int, top: float,
           colours: dict[str, int]) -> list[str]:
    rows, y, out = bucket.get("rows", 0), height - 1.0, []
    for label, share in (bucket.get("shares") or {}).items():
        h = rows * share / top * (height - 2)
        out.append(_rect(x, y - h, w, h, f"c{colours[label] % PALETTE}",
                         f"{label}: {share:.0%} of {rows} answers"))
        y -= h
    if not bucket.get("shares"):
        h = rows / top * (height - 2)
        mean = bucket.get("mean")
        tip = f"{rows} answers" + (f", mean {mean:.4g}" if mean is not None else "")
        out.append(_rect(x, y - h, w, h, "c0", tip))
    return out


def timeline_svg(timeline: dict[str, Any] | None, labels: list[str], width: int = 360,
                 height: int = 64) -> Markup:
    """Answers per time bucket, stacked by label for a classifier (one colour per label)."""
    buckets = (timeline or {}).get("buckets") or []
    if not buckets:
        return Markup("")
    colours = {label: i for i, label in enumerate(labels)}
    for bucket in buckets:
        for label in bucket.get("shares") or {}:
            colours.setdefault(label, len(colours))
    top = max([b.get("rows", 0) for b in buckets] + [1])
    step = width / len(buckets)
    body = [f'<line class="axis" x1="0" x2="{width}" y1="{height - 0.5}" y2="{height - 0.5}"></line>']
    for i, bucket in enumerate(buckets):
        body += _stack(bucket, i * step + 1, step - 2, height, top, colours)
    return _svg(width, height, "Answers over time, oldest on the left", body, "timeline")


def legend(labels: list[str]) -> list[tuple[str, str]]:
    """(label, CSS class) pairs for the timeline's legend."""
    return [(label, f"c{i % PALETTE}") for i, label in enumerate(labels)]
