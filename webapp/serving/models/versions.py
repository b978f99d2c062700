"""Which versions a model serves and how a request's version or label resolves.

The rules, stated once: versions are positive integers; a model serves the newest
`version_policy.latest` versions (default 2), plus any version a label or `default_version`
names, unless its `config.json` says `"unloaded": true`; a request without a version gets
`default_version` when set, else the newest AVAILABLE version — unless the config holds a traffic
`split` ({"2": 90, "3": 10}), which then picks the version per caller.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any

from webapp.serving.errors import InvalidInput

DEFAULT_LATEST = 2
LABEL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$")


def versions_to_serve(available: list[int], config: dict[str, Any]) -> set[int]:
    """The versions of one model that every worker should hold loaded."""
    if config.get("unloaded"):
        return set()
    policy = config.get("version_policy") or {}
    if policy.get("all"):
        wanted = set(available)
    elif isinstance(policy.get("specific"), list):
        wanted = {v for v in policy["specific"] if v in available}
    else:
        latest = policy.get("latest", DEFAULT_LATEST)
        latest = latest if isinstance(latest, int) and latest > 0 else DEFAULT_LATEST
        wanted = set(sorted(available)[-latest:])
    pinned = set(labels_of(config).values()) | set(split_of(config) or {})
    default = config.get("default_version")
    if isinstance(default, int):
        pinned.add(default)
    return wanted | (pinned & set(available))


def labels_of(config: dict[str, Any]) -> dict[str, int]:
    """The model's labels as {label: version}, ignoring malformed entries."""
    labels = config.get("labels") or {}
    if not isinstance(labels, dict):
        return {}
    return {str(k): v for k, v in labels.items() if isinstance(v, int) and not isinstance(v, bool)}


class InvalidVersion(InvalidInput):
    """A version that is not a positive integer; keeps the text so a protocol can word it its way."""

    def __init__(self, text: object) -> None:
        self.text = str(text)[:40]
        super().__init__(f"The version must be a positive integer, got {self.text!r}")


def parse_version(text: str | int | None) -> int | None:
    """A version as a URL, form, JSON body or command line gives it → int; None and "" stay None.

    Raises InvalidVersion for anything but a positive integer (bools and floats included).
    """
    if text is None or text == "":
        return None
    if isinstance(text, int) and not isinstance(text, bool):
        if text <= 0:
            raise InvalidVersion(text)
        return text
    if not isinstance(text, str):
        raise InvalidVersion(text)
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) <= 0:
        raise InvalidVersion(text)
    return int(text)


def require_version(text: str | int | None) -> int:
    """parse_version for places where a version must be given; raises InvalidVersion."""
    number = parse_version(text)
    if number is None:
        raise InvalidVersion(text if text is not None else "")
    return number


def split_of(config: dict[str, Any]) -> dict[int, int] | None:
    """The model's traffic split as {version: weight}, or None when absent or malformed."""
    raw = config.get("split")
    if not isinstance(raw, dict) or len(raw) < 2:
        return None
    try:
        split = {require_version(str(k)): w for k, w in raw.items()}
    except InvalidInput:
        return None
    if any(not isinstance(w, int) or isinstance(w, bool) or w <= 0 for w in split.values()):
        return None
    return split


def default_version(config: dict[str, Any], ready: frozenset[int]) -> int | None:
    """The version a request naming none gets: `default_version` once it is ready, else the
    newest ready one (so a newly pinned version that is still loading never turns away requests)."""
    pinned = config.get("default_version")
    if isinstance(pinned, int) and pinned in ready:
        return pinned
    return max(ready, default=None)


def choose_split_version(split: dict[int, int], caller: str | None) -> int:
    """Pick a version by weight: the same caller always lands on the same version.

    The caller's key hashes to a point in [0, total weight); versions own consecutive ranges in
    ascending order. With no caller, the point is random (still weighted).
    """
    total = sum(split.values())
    if caller:
        digest = hashlib.sha256(caller.encode("utf-8", "surrogatepass")).digest()
        point = int.from_bytes(digest[:8], "big") % total
    else:
        point = random.randrange(total)
    for version in sorted(split):
        point -= split[version]
        if point < 0:
            return version
    return max(split)  # unreachable: the ranges cover [0, total)


def check_label(label: str) -> None:
    """Raise InvalidInput unless `label` is a usable label name."""
    if not isinstance(label, str) or not LABEL_RE.match(label):
        raise InvalidInput("A label must be 1-64 letters, digits, '_', '.', '-', starting with a letter")


def parse_split(given: str | dict[Any, Any] | None) -> dict[int, int] | None:
    """A traffic split as a person or a program writes it → {version: weight}; raises InvalidInput.

    Takes `"2=90, 3=10"` (or `2:90 3:10`, as the admin form and the CLI give it) or a mapping
    `{"2": 90, "3": 10}` (the JSON API); empty means no split (None).
    """
    if given is None or (isinstance(given, str) and not given.strip()):
        return None
    if isinstance(given, str):
        given = dict(_pair(part) for part in given.replace(",", " ").split())
    if not isinstance(given, dict):
        raise InvalidInput('A split is {"<version>": <weight>, ...}')
    weights = {require_version(k if isinstance(k, int) else str(k)): w for k, w in given.items()}
    check_split(weights)
    return weights


def _pair(text: str) -> tuple[str, int]:
    version, _, weight = text.replace(":", "=").partition("=")
    if not (weight.isascii() and weight.isdigit()):
        raise InvalidInput(f"Write a split as version=weight pairs, e.g. 1=90, 2=10 (could not read "
                           f"{text[:20]!r})")
    return version, int(weight)


def check_split(weights: dict[int, int]) -> None:
    """Raise InvalidInput unless `weights` is a valid split: 2+ versions, integer weights summing to 100."""
    if not isinstance(weights, dict) or len(weights) < 2:
        raise InvalidInput("A traffic split needs weights for two or more versions")
    for version, weight in weights.items():
        if not isinstance(version, int) or isinstance(version, bool) or version <= 0:
            raise InvalidInput(f"Split versions must be positive integers, got {version!r}")
        if not isinstance(weight, int) or isinstance(weight, bool) or weight <= 0:
            raise InvalidInput(f"Split weights must be positive integers, got {weight!r} for {version}")
    if sum(weights.values()) != 100:
        raise InvalidInput(f"Split weights must add up to 100, not {sum(weights.values())}")
