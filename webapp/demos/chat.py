"""The demo chat: answers questions about Podium from its own README and docs, offline.

Each markdown section (split further at blank lines when long) becomes a passage whose source is
the file and the heading's anchor, as GitHub writes anchors; the TF-IDF index over them is saved as
arrays and JSON. Building twice from the same documents gives the same index.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from webapp.serving.chat.index import FILES, Passage, TfidfIndex

ROOT = Path(__file__).resolve().parents[2]
HEADING = re.compile(r"^(#{1,4})\s+(.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
MAX_CHARS = 1500
# 0.09: on these docs a question matching one common word ("like", "tell") scores 0.06-0.085
RETRIEVAL = {"top": 3, "min_score": 0.09, "history_weight": 0.5}


def documents(root: Path = ROOT) -> list[Path]:
    """README.md and docs/*.md, in a fixed order; whichever of them exist."""
    found = [root / "README.md"] if (root / "README.md").is_file() else []
    return found + sorted((root / "docs").glob("*.md"))


def slug(heading: str, seen: dict[str, int]) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, -1 for repeats."""
    base = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
    count = seen.get(base, 0)
    seen[base] = count + 1
    return base if count == 0 else f"{base}-{count}"


def sections(text: str) -> list[tuple[str, list[str]]]:
    """(heading, lines) for each section; `#` lines inside code fences are not headings."""
    found: list[tuple[str, list[str]]] = [("", [])]
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else HEADING.match(line)
        if heading:
            found.append((heading.group(2), []))
        else:
            found[-1][1].append(line)
    return [(h, lines) for h, lines in found if "".join(lines).strip()]


def _parts(lines: list[str]) -> list[str]:
    """The section's text in parts of at most about MAX_CHARS, cut at blank lines."""
    parts, current = [], ""
    for block in re.split(r"\n\s*\n", "\n".join(lines).strip()):
        if current and len(current) + len(block) > MAX_CHARS:
            parts.append(current)
            current = ""
        current = f"{current}\n\n{block}" if current else block
    return [*parts, current] if current else parts


def passages(path: Path, root: Path = ROOT) -> list[Passage]:
    text = path.read_text(encoding="utf-8")
    name = path.relative_to(root).as_posix()
    top = next((h for h, _ in sections(text) if h), path.stem)
    seen: dict[str, int] = {}
    found = []
    for heading, lines in sections(text):
        anchor = f"#{slug(heading, seen)}" if heading else ""
        title = top if not heading or heading == top else f"{top} › {heading}"
        found += [Passage(title, f"{name}{anchor}", part) for part in _parts(lines)]
    return found


def self_check(index: TfidfIndex) -> float:
    """Share of sections whose own title, asked as a question, finds them first: a smoke test of the index."""
    hits = [index.search(index.vector(p.title), 1)[0][0].title == p.title for p in index.passages]
    return float(np.mean(hits))


def helpdesk_v1(folder: Path, root: Path = ROOT) -> None:
    docs = documents(root)
    found = [p for doc in docs for p in passages(doc, root)]
    index = TfidfIndex.build(found)
    index.save(folder)
    manifest = {
        "framework": "chat", "task": "chat", "artifact": FILES[0],
        "description": "Answers questions about Podium from its README and docs: the best-matching "
                       "section, with a link to it (TF-IDF retrieval, works offline).",
        "chat": {"backend": "retrieval", "retrieval": RETRIEVAL},
        "files": list(FILES),  # every file of the version besides model.json
        "metrics": {"title_top1": round(self_check(index), 4)},
        "training_data": {"source": "the project's README.md and docs/*.md",
                          "documents": [d.relative_to(root).as_posix() for d in docs],
                          "passages": len(found), "terms": len(index.vectorizer.vocabulary_)},
        "deterministic": True,
    }
    (folder / "model.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")


# what `flask demos train` publishes: (model name, version) -> builder
DEMOS = {("helpdesk", 1): helpdesk_v1}
