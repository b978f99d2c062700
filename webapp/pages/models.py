"""The model page: what a model is, and a "try it" panel (image upload, drawing, feature form)."""

from __future__ import annotations

import base64
import math
from typing import Any

from flask import Blueprint, current_app, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from webapp.extensions import service
from webapp.http.predict import predict as predict_once
from webapp.pages.access import check_post, require_viewer, user_name
from webapp.pages.kinds import page_for
from webapp.pages.monitoring_section import monitoring_context
from webapp.serving.errors import InvalidInput, ModelUnavailable, NotServed, PayloadTooLarge
from webapp.serving.inputs import Images, Inputs, Rows
from webapp.serving.inputs.images import example_png
from webapp.serving.models.spec import Feature, ModelSpec
from webapp.serving.models.versions import parse_version
from webapp.serving.service import Answer, Target

bp = Blueprint("models", __name__, url_prefix="/models")
UPLOAD_ENDPOINTS = {"models.predict": "error", "batch.create": "batch_error",
                    "monitoring_pages.feedback": "feedback_error"}  # where each says "too large"
TOO_LARGE = "The file is too large: the limit is {mb:g} MB."


def selection(source: Any) -> tuple[int | None, str | None]:
    """(version, label) picked in the page's version/label picker; raises InvalidInput."""
    label = (source.get("label") or "").strip() or None
    version = parse_version(source.get("version"))
    return (None, label) if label else (version, None)


def too_large_message() -> str:
    return TOO_LARGE.format(mb=round(current_app.config["MAX_CONTENT_LENGTH"] / 1024 / 1024, 1))


def form_values() -> Any:
    """The submitted fields, to fill the form in again (none when the body was too large to read)."""
    try:
        return request.form
    except RequestEntityTooLarge:
        return {}


def model_page(name: str, status: int = 200, shown: int | None = None, **extra: Any) -> tuple[str, int]:
    """Render the model page for the picked version (or `shown`, the version that just answered).

    Raises ModelNotFound for an unknown name.
    """
    model = service().model(name)
    picked_version, picked_label = extra.pop("picked", None) or selection(request.values)
    where = Target(name, shown, None) if shown is not None else Target(name, picked_version, picked_label)
    try:
        version = service().version(where, available=False)
    except (ModelUnavailable, NotServed) as exc:  # an unloaded model still has a page
        version, extra["unavailable"] = None, exc.message
    context = {"view": model, "status": version, "spec": version.spec if version else None,
               "picked_version": picked_version, "picked_label": picked_label, "values": form_values(),
               "max_bytes": current_app.config["MAX_CONTENT_LENGTH"],
               "monitoring": monitoring_context(name, version.version if version else None), **extra}
    template = "models/_result.html" if request.headers.get("X-Podium-Fetch") == "1" else "models/model.html"
    return render_template(template, **context), status


@bp.get("/<name>")
def show(name: str):
    return page_for(name) or model_page(name)


@bp.post("/<name>/predict")
def predict(name: str):
    picked = selection(request.form)
    try:
        answer = predict_once(Target(name, *picked, caller=user_name()), decode_form)
    except (InvalidInput, PayloadTooLarge, ModelUnavailable, NotServed) as exc:
        return model_page(name, exc.status, picked=picked, error=exc.message)
    extra = {}
    if answer.spec.image is not None:
        png = example_png(answer.spec.image, answer.batch[0])
        extra["input_png"] = "data:image/png;base64," + base64.b64encode(png).decode()
    return model_page(name, shown=answer.version, picked=picked, result=summarise(answer), **extra)


def decode_form(spec: ModelSpec) -> Inputs:
    """The uploaded image or the feature form, as the model takes it."""
    if spec.image is not None:
        return Images([uploaded("image")], refuse_blank=True)
    return Rows([feature_row(spec.features)])


def uploaded(field: str) -> bytes:
    """The bytes of one uploaded file; raises InvalidInput when none was chosen."""
    upload = request.files.get(field)
    data = upload.read() if upload else b""
    if not data:
        raise InvalidInput("Choose an image file first (PNG, JPEG, GIF, BMP, WebP or TIFF).")
    return data


def feature_row(features: tuple[Feature, ...]) -> list[float]:
    """The feature form's values in manifest order; raises InvalidInput naming the field."""
    row = []
    for feature in features:
        text = (request.form.get(feature.name) or "").strip()
        try:
            value = float(text)
        except ValueError:
            shown = f" (got {text[:30]!r})" if text else ""
            raise InvalidInput(f"'{feature.name}' needs a number{shown}.") from None
        if not math.isfinite(value):
            raise InvalidInput(f"'{feature.name}' needs a finite number.")
        row.append(value)
    return row


def summarise(answer: Answer, top_k: int = 10) -> dict[str, Any]:
    """What the result panel shows: ranked classes with probabilities, or the regression value."""
    values = answer.values
    result: dict[str, Any] = {"version": answer.version, "task": answer.spec.task}
    if answer.spec.task == "classification":
        probabilities = [float(p) for p in values[0]]
        ranked = sorted(zip(answer.spec.labels, probabilities, strict=True), key=lambda x: -x[1])
        result["classes"] = ranked[:top_k]
        result["top"] = ranked[0][0]
    else:
        result["value"] = float(values.reshape(-1)[0])
    return result


@bp.before_request
def guard():
    """Login when configured; checked POSTs; an oversized upload answers on its own page."""
    if (response := require_viewer()) is not None:
        return response
    try:
        check_post()
    except RequestEntityTooLarge:
        if request.endpoint not in UPLOAD_ENDPOINTS:
            raise
        name = (request.view_args or {}).get("name", "")
        return model_page(name, 413, picked=(None, None),
                          **{UPLOAD_ENDPOINTS[request.endpoint]: too_large_message()})
    return None
