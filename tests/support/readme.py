"""The README's read-only curl examples and their sample answers, as a test replays them.

A sample may shorten an answer with `...`; a shortened object is compared on the keys it shows,
a shortened list on the elements before the `...`. Everything else must match in keys and types.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ELLIPSIS = "..."
# the values a reader would notice were stale, compared exactly (everything else by type)
EXACT_KEYS = {"call_path", "state", "error_code", "framework", "task", "status"}
_WRITES = ("-d", "-F", "-X", "-o", "-i", "|", "\\")


@dataclass
class Example:
    command: str
    sample: str


def examples(readme: Path) -> list[Example]:
    """Every `$ curl` line of a ```console block that changes nothing and shows a JSON answer."""
    found, block, lines = [], False, readme.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("```"):
            block = line == "```console"
            continue
        if not (block and line.startswith("$ curl")):
            continue
        command = line[2:].split("  #")[0].strip()
        answer = []
        for nxt in lines[i + 1:]:
            if nxt.startswith(("$", "```")) or not nxt.strip():
                break
            answer.append(nxt)
        if answer and answer[0].startswith("{") and not set(shlex.split(command)) & set(_WRITES):
            found.append(Example(command, "\n".join(answer)))
    return found


def loose_json(text: str) -> Any:
    """The sample as JSON, each `...` outside a string turned into a marker of what was left out."""
    out, stack, in_string, i = [], [], False, 0
    while i < len(text):
        ch = text[i]
        if in_string:
            out.append(ch)
            if ch == "\\":
                out.append(text[i + 1])
                i += 1
            elif ch == '"':
                in_string = False
        elif text.startswith(ELLIPSIS, i):
            before = "".join(out).rstrip()[-1:]
            out.append("null" if before == ":" else '"...": null' if stack[-1:] == ["{"] else '"..."')
            i += len(ELLIPSIS) - 1
        else:
            in_string = ch == '"'
            if ch in "{[":
                stack.append(ch)
            elif ch in "}]":
                stack.pop()
            out.append(ch)
        i += 1
    return json.loads("".join(out))


def mismatches(sample: Any, actual: Any, path: str = "$") -> list[str]:
    """Where `actual` differs in shape from `sample` (keys, types, the EXACT_KEYS' values)."""
    if sample is None:
        return []
    if isinstance(sample, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r:.80}"]
        found = [f"{path}: no key {k!r}" for k in sample if k != ELLIPSIS and k not in actual]
        if ELLIPSIS not in sample:
            found += [f"{path}: key {k!r} missing from the sample" for k in actual if k not in sample]
        for key, value in sample.items():
            if key in actual:
                found += mismatches(value, actual[key], f"{path}.{key}")
                if key in EXACT_KEYS and isinstance(value, str) and value != actual[key]:
                    found.append(f"{path}.{key}: sample says {value!r}, server {actual[key]!r}")
        return found
    if isinstance(sample, list):
        return _list_mismatches(sample, actual, path)
    if isinstance(sample, bool) or isinstance(actual, bool):
        return [] if type(sample) is type(actual) else [f"{path}: {sample!r} vs {actual!r}"]
    if isinstance(sample, int | float):
        return [] if isinstance(actual, int | float) else [f"{path}: expected a number, got {actual!r:.80}"]
    if isinstance(actual, type(sample)):
        return []
    return [f"{path}: expected {type(sample).__name__}, got {actual!r:.80}"]


def _list_mismatches(sample: list, actual: Any, path: str) -> list[str]:
    if not isinstance(actual, list):
        return [f"{path}: expected a list, got {actual!r:.80}"]
    shown = sample[:sample.index(ELLIPSIS)] if ELLIPSIS in sample else sample
    found = [] if ELLIPSIS in sample or len(sample) == len(actual) else [
        f"{path}: {len(sample)} elements in the sample, {len(actual)} served"]
    pairs = enumerate(zip(shown, actual, strict=False))
    return found + [m for i, (s, a) in pairs for m in mismatches(s, a, f"{path}[{i}]")]
