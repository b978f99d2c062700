"""The lean v1 path answers the same as before: numeric tensors untouched, b64 images still decoded."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
from PIL import Image


def test_numeric_image_rows_and_b64_images_both_predict(client, user_headers, demo_store):
    held = json.loads((demo_store / "digits" / "1" / "heldout.json").read_text())
    rows = client.post("/api/v1/models/digits:predict", json={"instances": held["x"][:4]},
                       headers=user_headers)
    assert rows.status_code == 200, rows.get_json()
    assert [int(np.argmax(p)) for p in rows.get_json()["predictions"]] == held["y"][:4]
    pixels = (np.asarray(held["x"][0])[..., 0] * 255 / 16).astype(np.uint8)
    png = io.BytesIO()
    Image.fromarray(pixels).resize((32, 32)).save(png, format="PNG")
    b64 = base64.b64encode(png.getvalue()).decode()
    for instances in ([{"b64": b64}], [{"image": {"b64": b64}}]):
        r = client.post("/api/v1/models/digits:predict", json={"instances": instances},
                        headers=user_headers)
        assert r.status_code == 200, r.get_json()
        assert len(r.get_json()["predictions"][0]) == 10


def test_json_that_only_the_stdlib_parses_still_gets_its_answer(client, user_headers):
    r = client.post("/api/v1/models/iris:predict", data='{"instances": [[NaN, 1, 1, 1]]}',
                    headers={**user_headers, "Content-Type": "application/json"})
    assert r.status_code == 400
    assert "finite" in r.get_json()["error"]
