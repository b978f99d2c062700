"""The way tutorials serve a model with Flask: load it at import, call model.predict per request."""

import base64
import io
import json
import os

import numpy as np
from flask import Flask, jsonify, request
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
STORE = os.environ["BENCH_STORE"]
app = Flask(__name__)
models = {}


def load(name):
    if name not in models:
        folder = os.path.join(STORE, name, "1")
        with open(os.path.join(folder, "model.json")) as fh:
            manifest = json.load(fh)
        path = os.path.join(folder, manifest["artifact"])
        if manifest["framework"] == "keras":
            import keras

            models[name] = ("keras", keras.models.load_model(path), manifest)
        else:
            import skops.io as sio

            models[name] = ("sklearn", sio.load(path, trusted=sio.get_untrusted_types(file=path)), manifest)
    return models[name]


@app.route("/predict/<name>", methods=["POST"])
def predict(name):
    kind, model, manifest = load(name)
    instances = request.get_json()["instances"]
    if isinstance(instances[0], dict):  # {"b64": "..."} images, as TF Serving clients send them
        size = (manifest["inputs"]["width"], manifest["inputs"]["height"])
        images = [np.asarray(Image.open(io.BytesIO(base64.b64decode(i["b64"]))).convert("RGB")
                             .resize(size), dtype="float32") / 255.0 for i in instances]
        x = np.stack(images)
    else:
        x = np.asarray(instances, dtype="float32")
    if kind == "keras":
        return jsonify(predictions=model.predict(x, verbose=0).tolist())
    return jsonify(predictions=model.predict_proba(x).tolist())
