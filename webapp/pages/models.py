"""The model page: what a model is, and a "try it" panel (image upload, drawing, feature form)."""

from __future__ import annotations

import base64
import math
from typing import Any

from flask import Blueprint, current_app, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from webapp.pages.access import check_post, require_viewer, user_name
from webapp.serving import preprocessing
from webapp.serving.errors import InvalidInput, ModelUnavailable, PayloadTooLarge
from webapp.serving.registry import parse_version
from webapp.serving.service import ModelService, Prediction

bp = Blueprint("models", __name__, url_prefix="/models")
UPLOAD_ENDPOINTS = ("models.predict", "batch.create")
TOO_LARGE = "The file is too large: the limit is {mb:g} MB."


def service() -> ModelService:
    return current_app.extensions["podium.service"]


def selection(source: Any) -> tuple[int | None, str | None]:
    """(version, label) picked in the page's version/label picker; raises InvalidInput."""
    label = (source.get("label") or "").strip() or None
    try:
        version = parse_version((source.get("version") or "").strip() or None)
    except ValueError:
        raise InvalidInput("The version must be a positive whole number") from None
    return (None, label) if label else (version, None)


def too_large_message() -> str:
    return TOO_LARGE.format(mb=round(current_app.config["MAX_CONTENT_LENGTH"] / 1024 / 1024, 1))


def form_values() -> Any:
    """The submitted fields, to fill the form in again (none when the body was too large to read)."""
    try:
        return request.form
    except RequestEntityTooLarge:
        return {}


def model_page(name: str, status: int = 200, **extra: Any) -> tuple[str, int]:
    """Render the model page for the picked version; raises ModelNotFound for an unknown name."""
    view = service().model(name)
    picked_version, picked_label = extra.pop("picked", None) or selection(request.values)
    try:
        lv = service().lookup(name, picked_version, picked_label)
    except ModelUnavailable as exc:
        lv, extra["unavailable"] = None, exc.message
    context = {"view": view, "lv": lv, "spec": lv.spec if lv else None, "picked_version": picked_version,
               "picked_label": picked_label, "values": form_values(), "max_bytes":
               current_app.config["MAX_CONTENT_LENGTH"], **extra}
    if request.headers.get("X-Podium-Fetch") == "1":
        return render_template("models/_result.html", **context), status
    return render_template("models/model.html", **context), status


@bp.get("/<name>")
def show(name: str):
    return model_page(name)


@bp.post("/<name>/predict")
def predict(name: str):
    picked = selection(request.form)
    try:
        lv = service().resolve(name, *picked, caller=user_name())
        spec = lv.spec
        assert spec is not None
        if spec.image is not None:
            data = uploaded("image")
            batch = service().to_batch(spec, [data])
            if not batch.any():
                raise InvalidInput("The image is blank: there is nothing for the model to see.")
            shown = preprocessing.example_png(spec.image, batch[0])
            prediction = service().predict_on(lv, batch)
            extra = {"input_png": "data:image/png;base64," + base64.b64encode(shown).decode()}
        else:
            row = feature_row(spec.features)
            prediction = service().predict_on(lv, [row])
            extra = {}
    except (InvalidInput, PayloadTooLarge, ModelUnavailable) as exc:
        return model_page(name, exc.status, picked=picked, error=exc.message)
    return model_page(name, picked=picked, result=summarise(prediction), **extra)


def uploaded(field: str) -> bytes:
    """The bytes of one uploaded file; raises InvalidInput when none was chosen."""
    upload = request.files.get(field)
    data = upload.read() if upload else b""
    if not data:
        raise InvalidInput("Choose an image file first (PNG, JPEG, GIF, BMP, WebP or TIFF).")
    return data


def feature_row(features: Any) -> list[float]:
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


def summarise(prediction: Prediction, top_k: int = 10) -> dict[str, Any]:
    """What the result panel shows: ranked classes with probabilities, or the regression value."""
    values = prediction.values
    result: dict[str, Any] = {"version": prediction.version, "task": prediction.spec.task}
    if prediction.spec.task == "classification":
        probabilities = [float(p) for p in values[0]]
        ranked = sorted(zip(prediction.spec.labels, probabilities, strict=True), key=lambda x: -x[1])
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
        key = "batch_error" if request.endpoint == "batch.create" else "error"
        return model_page(name, 413, picked=(None, None), **{key: too_large_message()})
    return None
