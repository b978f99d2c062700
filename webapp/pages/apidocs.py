"""The API page: the OpenAPI documents rendered for people, with curl examples for this host."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, render_template, request

from webapp.api.openapi import documents
from webapp.api.v2.metadata import input_tensor
from webapp.extensions import service
from webapp.pages.access import require_viewer

bp = Blueprint("apidocs", __name__, url_prefix="/api-docs")
bp.before_request(require_viewer)
METHODS = ("get", "post", "put", "patch", "delete")
TITLES = {"v1": "TensorFlow Serving REST", "v2": "Open Inference Protocol"}


def operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Flatten `paths` into rows a template can show, in the document's order."""
    rows = []
    for path, item in doc["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                rows.append({"method": method.upper(), "path": path,
                             "summary": op.get("summary") or op.get("description") or "",
                             "parameters": [p for p in op.get("parameters", []) if isinstance(p, dict)],
                             "responses": sorted(str(k) for k in (op.get("responses") or {}))})
    return rows


def examples(host: str) -> dict[str, str]:
    """curl lines using a real tabular and a real image model from the store, when there are any."""
    tabular = image = None
    kinds: dict[str, str] = {}
    for name, model in sorted(service().models().items()):
        status = model.versions.get(model.default_version) if model.default_version else None
        spec = status.spec if status else None
        if spec is not None and spec.task in ("recommendation", "chat"):
            kinds.setdefault(spec.task, name)
        if spec is None or spec.task in ("recommendation", "chat"):
            continue
        if spec.image is None and tabular is None:
            row = [f.example if f.example is not None else 0 for f in spec.features]
            tabular = (name, row, input_tensor(spec)["name"])
        elif spec.image is not None and image is None:
            image = name
    out = {"stats": f"curl -u USER:PASSWORD {host}api/stats"}
    if tabular:
        name, row, input_name = tabular
        body = json.dumps({"instances": [row]})
        out["v1"] = (f"curl -u USER:PASSWORD -H 'Content-Type: application/json' \\\n  -d '{body}' \\\n"
                     f"  {host}api/v1/models/{name}:predict")
        data = json.dumps({"inputs": [{"name": input_name, "shape": [1, len(row)], "datatype": "FP32",
                                       "data": row}]})
        out["v2"] = (f"curl -u USER:PASSWORD -H 'Content-Type: application/json' \\\n  -d '{data}' \\\n"
                     f"  {host}api/v2/models/{name}/infer")
    if image:
        out["image"] = f"curl -u USER:PASSWORD -F file=@digit.png \\\n  {host}api/v1/models/{image}:predict"
    return {**out, **kind_examples(host, kinds)}


def kind_examples(host: str, kinds: dict[str, str]) -> dict[str, str]:
    """A recommender's top-k and a chat's OpenAI call, when the store has them (docs/kinds.md)."""
    out = {}
    if "recommendation" in kinds:
        body = json.dumps({"instances": [{"user": "USER_ID", "k": 10}]})
        out["recommend"] = (f"curl -u USER:PASSWORD -d '{body}' \\\n"
                            f"  {host}api/v1/models/{kinds['recommendation']}:predict")
    if "chat" in kinds:
        body = json.dumps({"model": kinds["chat"], "messages": [{"role": "user", "content": "Hello"}]})
        out["chat"] = (f"curl -u USER:PASSWORD -d '{body}' \\\n  {host}openai/v1/chat/completions\n"
                       f"# or any OpenAI client: base_url={host}openai/v1, api_key=USER:PASSWORD")
    return out


@bp.get("")
def index():
    apis = [{"version": version, "title": doc.get("info", {}).get("title") or TITLES[version],
             "rows": operations(doc)} for version, doc in documents().items()]
    return render_template("apidocs/index.html", apis=apis, host=request.host_url,
                           examples=examples(request.host_url))
