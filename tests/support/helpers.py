"""Small helpers shared by the test files: well-formed inputs and the 'clean 4xx' assertion."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

IRIS_FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
IRIS_ROW = [5.1, 3.5, 1.4, 0.2]  # a setosa
IRIS_LABELS = ["setosa", "versicolor", "virginica"]
DIABETES_FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


def version_files(folder: Path) -> dict[str, bytes]:
    """A version's published files, without the hidden acceleration cache Podium keeps beside them."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")}


def heldout(store: Path, name: str, version: int = 1) -> dict:
    """The held-out rows {x, y} the demo trainer stored beside a version."""
    return json.loads((store / name / str(version) / "heldout.json").read_text())


def digit_png(pixels_0_16: list[list[float]], size: int = 64, mode: str = "L") -> bytes:
    """An 8x8 digits-dataset image (ink 0-16) as a PNG a person would upload: dark ink on white."""
    arr = np.asarray(pixels_0_16, dtype=np.float64).reshape(8, 8)
    gray = (255 - arr / 16.0 * 255).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(gray, mode="L").resize((size, size), Image.Resampling.NEAREST)
    if mode != "L":
        image = image.convert(mode)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def assert_clean_error(response, status: int | tuple[int, ...], *words: str) -> str:
    """A 4xx in the JSON error format whose message names the problem; returns the message."""
    allowed = status if isinstance(status, tuple) else (status,)
    assert response.status_code in allowed, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/json", response.mimetype
    doc = response.get_json()
    assert isinstance(doc, dict), doc
    assert isinstance(doc.get("error"), str), doc
    assert doc["error"], doc
    assert "Traceback" not in doc["error"]
    for word in words:
        assert word.lower() in doc["error"].lower(), (word, doc["error"])
    return doc["error"]


def assert_still_serving(client, headers) -> None:
    """After a bad request the same app still answers a good prediction and stays ready."""
    ok = client.post("/api/v1/models/iris:predict", json={"instances": [IRIS_ROW]}, headers=headers)
    assert ok.status_code == 200, ok.get_data(as_text=True)
    assert np.argmax(ok.get_json()["predictions"][0]) == 0
    assert client.get("/readyz").status_code == 200


def predict(service, name: str, rows, version: int | None = None, label: str | None = None,
            caller: str | None = None):
    """The service's one call as most tests make it: feature rows (or a tensor) for a model."""
    from webapp.serving.inputs import Rows, Tensor
    from webapp.serving.service import Target

    given = Tensor(rows) if isinstance(rows, np.ndarray) else Rows(rows)
    return service.predict(Target(name, version, label, caller), lambda spec: given)
