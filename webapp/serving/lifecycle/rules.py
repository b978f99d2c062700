"""The rules a lifecycle change must pass, each stated once: which versions may be used, deleted
or rolled back to."""

from __future__ import annotations

from typing import Any

from webapp.serving.errors import Conflict, ModelNotFound
from webapp.serving.loaded import State
from webapp.serving.models.versions import labels_of, split_of
from webapp.serving.service import ModelService


def failed(service: ModelService, name: str, version: int) -> str | None:
    """Why this worker failed to load the version, or None when it did not fail."""
    model = service.models().get(name)
    status = model.versions.get(version) if model else None
    return status.reason if status is not None and status.state is State.FAILED else None


def check_usable(service: ModelService, name: str, version: int, stored: list[int], what: str) -> None:
    """Refuse a version that is not stored, or that this worker failed to load; raises Conflict."""
    if version not in stored:
        raise Conflict(f"Cannot {what} {name} version {version}: no such version (stored: {stored})")
    reason = failed(service, name, version)
    if reason is not None:
        raise Conflict(f"Cannot {what} {name} version {version}: it failed to load ({reason})")


def check_deletable(name: str, version: int, stored: list[int], config: dict[str, Any]) -> None:
    """Refuse to delete a version a label, the default or the split uses, or the only one."""
    if version not in stored:
        raise ModelNotFound(name, version)
    users = [f"label {k!r}" for k, v in labels_of(config).items() if v == version]
    users += ["the default version"] if config.get("default_version") == version else []
    users += ["the traffic split"] if version in (split_of(config) or {}) else []
    if users:
        raise Conflict(f"Cannot delete {name} version {version}: used by {', '.join(users)}")
    if stored == [version]:
        raise Conflict(f"Cannot delete {name} version {version}: it is the only version")


def roll_back(service: ModelService, name: str, config: dict[str, Any], stored: list[int]) -> dict:
    """Point the default (and `stable`) at the highest usable version below the current default,
    clearing any split; returns what the audit entry says. Raises Conflict when there is none."""
    current = _current_default(service, name, config, stored)
    older = [v for v in stored if v < current and failed(service, name, v) is None]
    if not older:
        raise Conflict(f"Cannot roll back {name}: no usable version below {current}")
    target = max(older)
    details = {"previous": current, "version": target, "cleared_split": split_of(config) is not None}
    config["default_version"] = target
    if "stable" in labels_of(config):
        config["labels"] = {**labels_of(config), "stable": target}
    config.pop("split", None)
    return details


def _current_default(service: ModelService, name: str, config: dict[str, Any], stored: list[int]) -> int:
    pinned = config.get("default_version")
    if isinstance(pinned, int) and pinned in stored:
        return pinned
    model = service.models().get(name)
    served = model.default_version if model else None
    return served if served is not None else max(stored)
