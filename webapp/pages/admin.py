"""Admin pages: publish a version, move labels, roll back, split traffic, load/unload, the audit log.

Every action is one call on the Lifecycle object (the same one the lifecycle API uses), then a
redirect back to the admin page with a message (post/redirect/get).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from webapp.pages.access import admin_required, check_post, user_name
from webapp.serving.errors import InvalidInput, ServingError
from webapp.serving.registry import parse_version
from webapp.serving.spec import check_model_name, parse_manifest

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(check_post)


def lifecycle() -> Any:
    return current_app.extensions["podium.lifecycle"]


def back(name: str | None = None):
    return redirect(url_for("admin.index") + (f"#model-{name}" if name else ""), code=303)


def act(name: str, method: str, *args: Any, done: str) -> Any:
    """Call `lifecycle.method(name, *args, user=...)`, flash the outcome and go back."""
    call = getattr(lifecycle(), method, None)
    if call is None:
        flash(f"This Podium build cannot {method.replace('_', ' ')} yet.", "error")
        return back(name)
    try:
        result = call(name, *args, user=user_name())
    except ServingError as exc:
        flash(exc.message, "error")
    else:
        flash(done.format(name=name, result=result, args=args), "ok")
    return back(name)


def form_version(field: str = "version", required: bool = True) -> int | None:
    text = (request.form.get(field) or "").strip()
    if not text and not required:
        return None
    try:
        return parse_version(text)
    except ValueError:
        raise InvalidInput(f"The version must be a positive whole number, got {text[:20]!r}") from None


def parse_split(text: str) -> dict[int, int] | None:
    """'1=90, 2=10' (or '1:90 2:10') → {1: 90, 2: 10}; empty → None (no split); raises InvalidInput."""
    parts = [p for p in text.replace(",", " ").split() if p]
    if not parts:
        return None
    weights: dict[int, int] = {}
    for part in parts:
        version, _, weight = part.replace(":", "=").partition("=")
        try:
            weights[int(version)] = int(weight)
        except ValueError:
            raise InvalidInput(f"Write the split as version=percent pairs, e.g. 1=90, 2=10 "
                               f"(could not read {part[:20]!r})") from None
    if sum(weights.values()) != 100 or min(weights.values()) < 0:
        raise InvalidInput(f"The split's percentages must add up to 100, got {sum(weights.values())}")
    return weights


@bp.get("")
@admin_required
def index(status: int = 200, **extra: Any):
    service = current_app.extensions["podium.service"]
    return render_template("admin/admin.html", models=service.models(), audit=lifecycle().audit(100),
                           has=lambda m: hasattr(lifecycle(), m), values=request.form,
                           **extra), status


@bp.post("/models/<name>/<action>")
@admin_required
def change(name: str, action: str):
    try:
        if action in ("load", "unload", "rollback"):
            done = {"load": "{name} is being loaded.", "unload": "{name} is unloaded.",
                    "rollback": "{name} rolled back to version {result}."}[action]
            return act(name, action, done=done)
        if action == "label":
            label = (request.form.get("label") or "").strip()
            if not label:
                raise InvalidInput("Give the label a name, e.g. stable or canary.")
            return act(name, "set_label", label, form_version(),
                       done="{name}: label '{args[0]}' now points at version {args[1]}.")
        if action == "unlabel":
            return act(name, "delete_label", request.form.get("label", ""),
                       done="{name}: label '{args[0]}' removed.")
        if action == "default":
            return act(name, "set_default", form_version(required=False),
                       done="{name}: default version set to {args[0]}.")
        if action == "split":
            weights = parse_split(request.form.get("split", ""))
            shown = ", ".join(f"version {v}: {w}%" for v, w in weights.items()) if weights else ""
            return act(name, "set_split", weights, done=f"{{name}}: traffic split set to {shown}."
                       if weights else "{name}: traffic split removed; the default version serves.")
        if action == "delete":
            return act(name, "delete_version", form_version(), done="{name}: version {args[0]} deleted.")
    except InvalidInput as exc:
        flash(exc.message, "error")
        return back(name)
    flash("Unknown action.", "error")
    return back(name)


@bp.post("/publish")
@admin_required
def publish():
    """Upload a manifest and an artifact as the model's next version; problems stay on the page."""
    name = (request.form.get("name") or "").strip()
    try:
        check_model_name(name)
        files = publish_files()
        if not hasattr(lifecycle(), "publish"):
            raise InvalidInput("This Podium build cannot publish versions yet.")
        version = lifecycle().publish(name, files, user=user_name())
    except ServingError as exc:
        return index(400 if exc.status < 500 else exc.status, publish_error=exc.message)
    flash(f"Published {name} version {version}; workers load it within a few seconds.", "ok")
    return back(name)


def publish_files() -> dict[str, bytes]:
    """model.json and the artifact, the artifact stored under the name the manifest gives it."""
    manifest_file, artifact_file = request.files.get("manifest"), request.files.get("artifact")
    if not manifest_file or not manifest_file.filename:
        raise InvalidInput("Choose the manifest (model.json).")
    if not artifact_file or not artifact_file.filename:
        raise InvalidInput("Choose the model file (.keras or .skops).")
    raw = manifest_file.read()
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"The manifest is not valid JSON: {exc}") from None
    spec = parse_manifest(manifest, "upload", 1, Path("."))
    return {"model.json": raw, spec.artifact: artifact_file.read()}
