"""Which versions a model serves and how a request's version or label resolves.

The rules, stated once: versions are positive integers; a model serves the newest
`version_policy.latest` versions (default 2), plus any version a label or `default_version`
names, unless its `config.json` says `"unloaded": true`; a request without a version gets
`default_version` when set, else the newest AVAILABLE version.
"""

from __future__ import annotations

from typing import Any

DEFAULT_LATEST = 2


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
    pinned = set(labels_of(config).values())
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


def parse_version(text: str | int | None) -> int | None:
    """A URL's version segment → int; None stays None; raises ValueError for anything else."""
    if text is None or isinstance(text, int):
        return text
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) <= 0:
        raise ValueError(text)
    return int(text)
