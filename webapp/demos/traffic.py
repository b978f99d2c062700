"""Replay each demo model's held-out rows against a running Podium as real requests (both APIs),
send their ground truth back, and ask for a monitoring round, so a model page's Monitoring section
shows live and estimated accuracy, drift per feature and alerts within a minute.

`shift` moves every feature whose name contains one of the given words by `by` standard
deviations of the version's reference sample: drift the monitor should catch (and, as the answers
change, an accuracy drop).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import requests

from webapp.serving.models.spec import ModelSpec, load_manifest
from webapp.serving.models.store import ModelStore
from webapp.serving.monitoring.prepared import truth_index
from webapp.serving.monitoring.reference import HELDOUT, load_reference


@dataclass
class Plan:
    """One model's replay: the rows to send (shifted where asked) and their truths."""

    spec: ModelSpec
    rows: list[Any]
    truths: list[Any]
    shifted: list[str]


def _truths(spec: ModelSpec, y: list[Any]) -> list[Any]:
    if spec.task == "regression":
        return [float(v) for v in y]
    return [spec.labels[i] if (i := truth_index(spec.labels, v)) >= 0 else str(v) for v in y]


def _shift(spec: ModelSpec, x: np.ndarray, words: tuple[str, ...], by: float) -> list[str]:
    """Move the named features of `x` (in place) by `by` reference standard deviations."""
    if spec.image is not None or not words:
        return []
    reference = load_reference(spec.path)
    scale = reference.x.std(axis=0) if reference is not None else x.std(axis=0)
    moved = []
    for i, name in enumerate(spec.feature_names):
        if any(word.lower() in name.lower() for word in words):
            x[:, i] += by * (scale[i] or 1.0)
            moved.append(name)
    return moved


def plans(store_root: str | Path, only: tuple[str, ...] = (), shift: tuple[str, ...] = (),
          by: float = 1.5) -> list[Plan]:
    """A plan per model with held-out rows (its newest version's), in name order."""
    found = []
    for name, stored in ModelStore(store_root).scan().items():
        if only and name not in only:
            continue
        version, folder = max(stored.versions.items())
        if not (folder / HELDOUT).is_file():
            continue
        spec = load_manifest(folder, name, version)
        held = json.loads((folder / HELDOUT).read_text(encoding="utf-8"))
        x = np.asarray(held["x"], dtype=np.float64)
        moved = _shift(spec, x, shift, by)
        found.append(Plan(spec, x.tolist(), _truths(spec, held["y"]), moved))
    return found


class Traffic:
    """A Podium client for the replay: predictions, feedback and monitoring rounds over HTTP."""

    def __init__(self, base_url: str, auth: tuple[str, str], timeout: float = 30.0) -> None:
        self.base, self.timeout = base_url.rstrip("/"), timeout
        self.session = requests.Session()
        self.session.auth = auth

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self.session.request(method, self.base + path, timeout=self.timeout, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: HTTP {response.status_code} {response.text[:200]}")
        return response

    def predict(self, spec: ModelSpec, row: Any, v2: bool) -> str:
        """One request for one row (v1, or v2 for tabular models); returns its Podium request id."""
        if v2 and spec.image is None:
            body = {"inputs": [{"name": "input", "shape": [1, len(row)], "datatype": "FP32", "data": row}]}
            response = self._call("POST", f"/api/v2/models/{spec.name}/infer", json=body)
        else:
            response = self._call("POST", f"/api/v1/models/{spec.name}:predict", json={"instances": [row]})
        return response.headers["X-Podium-Request-ID"]

    def feedback(self, model: str, pairs: list[tuple[str, Any]], v2: bool,
                 patience_s: float = 10.0) -> dict[str, int]:
        """Send truths; a 404 is retried for a while, since the log is written a moment later."""
        body = {"truths": [{"request_id": rid, "truth": truth} for rid, truth in pairs]}
        path = f"/api/v2/models/{model}/feedback" if v2 else f"/api/v1/models/{model}:feedback"
        deadline = time.monotonic() + patience_s
        while True:
            response = self.session.post(self.base + path, json=body, timeout=self.timeout)
            if response.status_code != 404 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if response.status_code >= 400:
            raise RuntimeError(f"POST {path}: HTTP {response.status_code} {response.text[:200]}")
        return response.json()

    def report(self, model: str, after: float, wait_s: float) -> dict[str, Any]:
        """Ask for a round, then wait until the model's report is newer than `after`."""
        self._call("POST", f"/api/v2/models/{model}/monitoring")
        deadline = time.monotonic() + wait_s
        while True:
            found = self._call("GET", f"/api/v2/models/{model}/monitoring").json()
            if (found.get("computed_at") or 0) > after or time.monotonic() > deadline:
                return found
            time.sleep(0.5)


def replay(traffic: Traffic, plan: Plan, say: Callable[[str], None]) -> int:
    """Send every row, then their truths (half through each API); returns the requests sent."""
    ids = [traffic.predict(plan.spec, row, v2=i % 2 == 1) for i, row in enumerate(plan.rows)]
    pairs = list(zip(ids, plan.truths, strict=True))
    half = len(pairs) // 2
    counts = [traffic.feedback(plan.spec.name, part, v2=k == 1)
              for k, part in enumerate((pairs[:half], pairs[half:])) if part]
    shifted = f", shifted {', '.join(plan.shifted)}" if plan.shifted else ""
    say(f"{plan.spec.name}: {len(ids)} requests, {sum(c['recorded'] for c in counts)} truths sent{shifted}")
    return len(ids)


def describe(report: dict[str, Any], version: int) -> str:
    """One line on what the Monitoring section now shows for `version`."""
    result = ((report.get("summary") or {}).get("versions") or {}).get(str(version))
    if not result:
        return f"{report['model']}: no summary yet ({report.get('error') or 'the round is still running'})"
    quality, estimated = result.get("quality") or {}, result.get("estimated") or {}
    drifted = (result.get("drift") or {}).get("drifted_features") or []
    parts = [f"live accuracy {quality['accuracy']}" if "accuracy" in quality else
             f"live MAE {quality.get('mae', '-')}",
             f"estimated accuracy {estimated.get('accuracy')}" if estimated else "",
             f"drifting: {', '.join(drifted) or 'none'}",
             f"alerts: {', '.join(a['name'] for a in report.get('alerts', [])) or 'none'}"]
    return f"{report['model']} v{version}: " + "; ".join(p for p in parts if p)
