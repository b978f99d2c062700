"""The API page: the OpenAPI documents rendered for people, with curl examples for this host."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, render_template, request

from webapp.pages.access import require_viewer

bp = Blueprint("apidocs", __name__, url_prefix="/api-docs")
bp.before_request(require_viewer)
METHODS = ("get", "post", "put", "patch", "delete")

# What this page shows when an API does not publish an OpenAPI document (yet).
KNOWN = {
    "v1": [("GET", "/api/v1/models/{name}", "Status of every served version"),
           ("GET", "/api/v1/models/{name}/metadata", "Inputs and outputs (signature_def)"),
           ("POST", "/api/v1/models/{name}:predict", "Predict: {\"instances\": [...]}"),
           ("POST", "/api/v1/models/{name}:classify", "Classify: {\"examples\": [{...}]}"),
           ("POST", "/api/v1/models/{name}:regress", "Regress: {\"examples\": [{...}]}"),
           ("POST", "/api/v1/models/{name}/versions/{version}:predict", "Predict with one version"),
           ("POST", "/api/v1/models/{name}/labels/{label}:predict", "Predict with a labelled version")],
    "v2": [("GET", "/api/v2/health/live", "Liveness"), ("GET", "/api/v2/health/ready", "Readiness"),
           ("GET", "/api/v2/models/{name}", "Model metadata"),
           ("GET", "/api/v2/models/{name}/ready", "Model readiness"),
           ("POST", "/api/v2/models/{name}/infer", "Inference (Open Inference Protocol)")],
}


def openapi(version: str) -> dict[str, Any] | None:
    """The API's own OpenAPI document, asked for in-process with the caller's credentials."""
    headers = {"Accept": "application/json"}
    if request.headers.get("Authorization"):
        headers["Authorization"] = request.headers["Authorization"]
    response = current_app.test_client().get(f"/api/{version}/openapi.json", headers=headers)
    if response.status_code != 200:
        return None
    try:
        doc = json.loads(response.get_data())
    except ValueError:
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("paths"), dict) else None


def operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Flatten `paths` into rows a template can show, in the document's order."""
    rows = []
    for path, item in doc["paths"].items():
        if not isinstance(item, dict):
            continue
        for method in METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                rows.append({"method": method.upper(), "path": path,
                             "summary": op.get("summary") or op.get("description") or "",
                             "parameters": [p for p in op.get("parameters", []) if isinstance(p, dict)],
                             "responses": sorted(str(k) for k in (op.get("responses") or {}))})
    return rows


def v2_input_name(model: str) -> str | None:
    """The input name /api/v2 metadata gives the model, so the example is one the server accepts."""
    headers = {"Authorization": request.headers["Authorization"]} if request.authorization else {}
    response = current_app.test_client().get(f"/api/v2/models/{model}", headers=headers)
    if response.status_code == 401:
        return "input"  # what /api/v2 metadata names a tabular model's one input
    try:
        return str(response.get_json()["inputs"][0]["name"]) if response.status_code == 200 else None
    except (TypeError, KeyError, IndexError):
        return None


def examples(host: str) -> dict[str, str]:
    """curl lines using a real tabular and a real image model from the store, when there are any."""
    service = current_app.extensions["podium.service"]
    tabular = image = None
    for name, view in sorted(service.models().items()):
        lv = view.versions.get(view.default_version) if view.default_version else None
        if lv is None or lv.spec is None:
            continue
        if lv.spec.image is None and tabular is None:
            tabular = (name, [f.example if f.example is not None else 0 for f in lv.spec.features])
        elif lv.spec.image is not None and image is None:
            image = name
    out = {"stats": f"curl -u USER:PASSWORD {host}api/stats"}
    if tabular:
        body = json.dumps({"instances": [tabular[1]]})
        out["v1"] = (f"curl -u USER:PASSWORD -H 'Content-Type: application/json' \\\n  -d '{body}' \\\n"
                     f"  {host}api/v1/models/{tabular[0]}:predict")
        input_name = v2_input_name(tabular[0])
        data = json.dumps({"inputs": [{"name": input_name, "shape": [1, len(tabular[1])],
                                       "datatype": "FP32", "data": tabular[1]}]})
        if input_name:
            out["v2"] = (f"curl -u USER:PASSWORD -H 'Content-Type: application/json' \\\n  -d '{data}' \\\n"
                         f"  {host}api/v2/models/{tabular[0]}/infer")
    if image:
        out["image"] = f"curl -u USER:PASSWORD -F file=@digit.png \\\n  {host}api/v1/models/{image}:predict"
    return out


@bp.get("")
def index():
    apis = []
    for version, title in (("v1", "TensorFlow Serving REST"), ("v2", "Open Inference Protocol")):
        doc = openapi(version)
        rows = operations(doc) if doc else [
            {"method": m, "path": p, "summary": s, "parameters": [], "responses": []}
            for m, p, s in KNOWN[version]]
        apis.append({"version": version, "title": (doc or {}).get("info", {}).get("title") or title,
                     "from_openapi": doc is not None, "rows": rows})
    return render_template("apidocs/index.html", apis=apis, host=request.host_url,
                           examples=examples(request.host_url))
