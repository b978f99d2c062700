"""Helpers for the page tests: CSRF tokens, test images, and an accessibility checker for HTML."""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
from PIL import Image

TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
LABELLED_INPUTS = ("input", "select", "textarea")
UNLABELLED_TYPES = ("hidden", "submit", "button", "reset", "image")


def csrf(html: str) -> str:
    match = TOKEN_RE.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def digit_png(store: Path, index: int = 0, size: int = 96) -> tuple[bytes, int]:
    """A held-out digit (never trained on) upscaled to a PNG, as a person would upload; (png, label)."""
    held = json.loads((store / "digits" / "1" / "heldout.json").read_text())
    pixels = np.asarray(held["x"][index], dtype=np.float64)[..., 0] / 16.0 * 255.0
    image = Image.fromarray(pixels.astype(np.uint8), mode="L").resize((size, size), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue(), int(held["y"][index])


class A11y(HTMLParser):
    """Collects what accessibility basics need: labels, ids, alt text, heading levels."""

    def __init__(self) -> None:
        super().__init__()
        self.label_for: set[str] = set()
        self.controls: list[dict[str, str | None]] = []
        self.images: list[dict[str, str | None]] = []
        self.headings: list[int] = []
        self.open_labels = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "label":
            self.open_labels += 1
            if a.get("for"):
                self.label_for.add(a["for"] or "")
        elif tag in LABELLED_INPUTS and a.get("type") not in UNLABELLED_TYPES:
            self.controls.append({**a, "_tag": tag, "_wrapped": "1" if self.open_labels else None})
        elif tag == "img":
            self.images.append(a)
        elif re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.open_labels = max(0, self.open_labels - 1)


def accessibility_problems(html: str) -> list[str]:
    """Unlabelled form controls, images without alt text, and skipped heading levels."""
    page = A11y()
    page.feed(html)
    problems = []
    for control in page.controls:
        named = control.get("aria-label") or control.get("aria-labelledby") or control.get("_wrapped")
        if not named and control.get("id") not in page.label_for:
            problems.append(f"no label for <{control['_tag']} name={control.get('name')!r}>")
    problems += [f"no alt text on <img src={(img.get('src') or '')[:40]!r}>"
                 for img in page.images if img.get("alt") is None]
    if page.headings[:1] != [1] or page.headings.count(1) != 1:
        problems.append(f"the page needs exactly one h1, first: {page.headings}")
    for before, after in zip(page.headings, page.headings[1:], strict=False):
        if after > before + 1:
            problems.append(f"heading level skips from h{before} to h{after}")
    return problems
