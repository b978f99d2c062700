"""/api/v1 answers in the shapes TensorFlow Serving's REST documentation shows (api_rest.md).

Key names and nesting matter to clients: `results` (not `result`), versions as strings,
`signature_def` nested twice, tensor dims as strings.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest

from tests.support.helpers import (
    DIABETES_FEATURES,
    IRIS_FEATURES,
    IRIS_LABELS,
    IRIS_ROW,
    assert_clean_error,
    digit_png,
    heldout,
)

V1 = "/api/v1/models"


def test_status_lists_every_served_version_like_get_model_status(client, user_headers):
    r = client.get(f"{V1}/iris", headers=user_headers)
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["model_version_status"] == [
        {"version": v, "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        for v in ("1", "2")
    ]
    # KServe's V1 client reads these two beside TF Serving's key
    assert doc["name"] == "iris"
    assert doc["ready"] is True


def test_status_of_one_version(client, user_headers):
    doc = client.get(f"{V1}/iris/versions/1", headers=user_headers).get_json()
    assert [s["version"] for s in doc["model_version_status"]] == ["1"]


def test_metadata_has_signature_def_nested_twice(client, user_headers):
    doc = client.get(f"{V1}/iris/metadata", headers=user_headers).get_json()
    assert doc["model_spec"] == {"name": "iris", "signature_name": "", "version": "2"}
    signatures = doc["metadata"]["signature_def"]["signature_def"]
    default = signatures["serving_default"]
    assert default["method_name"] == "tensorflow/serving/predict"
    (tensor,) = default["inputs"].values()
    assert tensor["dtype"] == "DT_FLOAT"
    assert tensor["tensor_shape"] == {"dim": [{"size": "-1", "name": ""}, {"size": "4", "name": ""}],
                                      "unknown_rank": False}
    assert signatures["classification"]["method_name"] == "tensorflow/serving/classify"
    assert doc["podium"]["features"] == IRIS_FEATURES


def test_metadata_of_a_regressor_offers_regression(client, user_headers):
    doc = client.get(f"{V1}/diabetes/versions/1/metadata", headers=user_headers).get_json()
    signatures = doc["metadata"]["signature_def"]["signature_def"]
    assert signatures["regression"]["method_name"] == "tensorflow/serving/regress"
    assert doc["model_spec"]["version"] == "1"


def test_predict_row_format(client, user_headers):
    r = client.post(f"{V1}/iris:predict", json={"instances": [IRIS_ROW, [6.7, 3.0, 5.2, 2.3]]},
                    headers=user_headers)
    assert r.status_code == 200
    assert r.headers["X-Model-Version"] == "2"
    predictions = r.get_json()["predictions"]
    assert np.asarray(predictions).shape == (2, 3)
    assert np.allclose(np.sum(predictions, axis=1), 1, atol=1e-5)
    assert np.argmax(predictions, axis=1).tolist() == [0, 2]


def test_predict_row_format_with_named_features(client, user_headers):
    row = dict(zip(IRIS_FEATURES, IRIS_ROW, strict=True))
    doc = client.post(f"{V1}/iris:predict", json={"instances": [row]}, headers=user_headers).get_json()
    assert np.argmax(doc["predictions"][0]) == 0


def test_predict_columnar_format_answers_outputs(client, user_headers):
    columns = {name: [IRIS_ROW[i], [6.7, 3.0, 5.2, 2.3][i]] for i, name in enumerate(IRIS_FEATURES)}
    r = client.post(f"{V1}/iris:predict", json={"inputs": columns}, headers=user_headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    doc = r.get_json()
    assert set(doc) == {"outputs"}
    assert np.argmax(doc["outputs"], axis=1).tolist() == [0, 2]
    # a single unnamed tensor is the other columnar form
    doc = client.post(f"{V1}/iris:predict", json={"inputs": [IRIS_ROW]}, headers=user_headers).get_json()
    assert np.argmax(doc["outputs"][0]) == 0


def test_predict_agrees_with_the_heldout_labels(client, user_headers, demo_store):
    for name in ("iris", "wine"):
        held = heldout(demo_store, name)
        doc = client.post(f"{V1}/{name}/versions/1:predict", json={"instances": held["x"][:20]},
                          headers=user_headers).get_json()
        accuracy = np.mean(np.argmax(doc["predictions"], axis=1) == np.asarray(held["y"][:20]))
        assert accuracy >= 0.85, (name, accuracy)


def test_classify_answers_results_with_label_score_pairs(client, user_headers):
    example = dict(zip(IRIS_FEATURES, IRIS_ROW, strict=True))
    body = {"signature_name": "tensorflow/serving/classify", "examples": [example]}
    r = client.post(f"{V1}/iris:classify", json=body, headers=user_headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    doc = r.get_json()
    assert set(doc) == {"results"}
    (pairs,) = doc["results"]
    assert [label for label, _ in pairs] == IRIS_LABELS
    assert max(pairs, key=lambda p: p[1])[0] == "setosa"


def test_classify_merges_context_into_every_example(client, user_headers):
    body = {"context": {IRIS_FEATURES[1]: 3.5, IRIS_FEATURES[3]: [0.2]},
            "examples": [{IRIS_FEATURES[0]: 5.1, IRIS_FEATURES[2]: 1.4},
                         {IRIS_FEATURES[0]: 5.0, IRIS_FEATURES[2]: [1.5]}]}
    doc = client.post(f"{V1}/iris:classify", json=body, headers=user_headers).get_json()
    assert len(doc["results"]) == 2
    assert all(max(pairs, key=lambda p: p[1])[0] == "setosa" for pairs in doc["results"])


def test_classify_and_regress_take_a_whole_row_as_the_signatures_list_feature(client, user_headers,
                                                                             demo_store):
    """`{"inputs": [5.1, 3.5, 1.4, 0.2]}`: one feature named after the signature's input, a list."""
    by_name = {"examples": [dict(zip(IRIS_FEATURES, IRIS_ROW, strict=True))]}
    as_list = {"examples": [{"inputs": IRIS_ROW}, {"inputs": [6.7, 3.0, 5.2, 2.3]}]}
    named = client.post(f"{V1}/iris:classify", json=by_name, headers=user_headers).get_json()
    listed = client.post(f"{V1}/iris:classify", json=as_list, headers=user_headers)
    assert listed.status_code == 200, listed.get_data(as_text=True)
    assert listed.get_json()["results"][0] == named["results"][0]
    assert max(listed.get_json()["results"][1], key=lambda p: p[1])[0] == "virginica"
    rows = heldout(demo_store, "diabetes")["x"][:2]
    regress = client.post(f"{V1}/diabetes:regress", headers=user_headers,
                          json={"examples": [{"inputs": row} for row in rows]})
    predict = client.post(f"{V1}/diabetes:predict", json={"instances": rows}, headers=user_headers)
    assert regress.get_json()["results"] == predict.get_json()["predictions"]


def test_a_list_feature_beside_other_features_is_refused_clearly(client, user_headers):
    body = {"context": {IRIS_FEATURES[0]: 5.1}, "examples": [{"inputs": IRIS_ROW[1:]}]}
    r = client.post(f"{V1}/iris:classify", json=body, headers=user_headers)
    assert_clean_error(r, 400, "'inputs' must hold one value")


def test_regress_like_the_documented_half_plus_three_call(client, user_headers, demo_store):
    held = heldout(demo_store, "diabetes")
    examples = [dict(zip(DIABETES_FEATURES, row, strict=True)) for row in held["x"][:3]]
    body = {"signature_name": "tensorflow/serving/regress", "examples": examples}
    r = client.post(f"{V1}/diabetes:regress", json=body, headers=user_headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    doc = r.get_json()
    assert set(doc) == {"results"}
    assert len(doc["results"]) == 3
    assert all(isinstance(v, float) for v in doc["results"])
    predicted = client.post(f"{V1}/diabetes:predict", json={"instances": held["x"][:3]},
                            headers=user_headers).get_json()["predictions"]
    assert np.allclose(doc["results"], predicted)


def test_classify_on_a_regressor_is_refused(client, user_headers):
    r = client.post(f"{V1}/diabetes:classify", json={"examples": [{"age": 0.1}]}, headers=user_headers)
    assert r.status_code == 400
    assert "regress" in r.get_json()["error"]


def test_unknown_model_answers_like_tf_serving(client, user_headers):
    r = client.post(f"{V1}/half:predict", json={"instances": [1.0, 5.0]}, headers=user_headers)
    assert r.status_code == 404
    assert r.mimetype == "application/json"
    assert r.get_json() == {"error": "Servable not found for request: Latest(half)"}
    r = client.get(f"{V1}/iris/versions/7", headers=user_headers)
    assert r.get_json() == {"error": "Servable not found for request: Specific(iris, 7)"}


def test_versions_and_labels_forms_pick_the_version(app, user_headers):
    store = app.extensions["podium.service"].store
    store.write_config("iris", {"labels": {"stable": 1, "canary": 2}})
    app.extensions["podium.service"].refresh()
    client = app.test_client()
    for path, version in [("/versions/1", "1"), ("/versions/2", "2"), ("/labels/stable", "1"),
                          ("/labels/canary", "2"), ("", "2")]:
        r = client.post(f"{V1}/iris{path}:predict", json={"instances": [IRIS_ROW]}, headers=user_headers)
        assert r.status_code == 200, path
        assert r.headers["X-Model-Version"] == version, path
    doc = client.get(f"{V1}/iris/labels/stable/metadata", headers=user_headers).get_json()
    assert doc["model_spec"]["version"] == "1"
    doc = client.get(f"{V1}/iris/labels/stable", headers=user_headers).get_json()
    assert [s["version"] for s in doc["model_version_status"]] == ["1"]
    r = client.get(f"{V1}/iris/labels/nope", headers=user_headers)
    assert r.status_code == 404
    assert r.get_json() == {"error": "Servable not found for request: Label(iris, nope)"}


def _digit(demo_store, index: int = 0) -> tuple[bytes, int]:
    held = heldout(demo_store, "digits")
    return digit_png(held["x"][index]), held["y"][index]


@pytest.mark.parametrize("wrap", ["bare", "named"])
def test_b64_png_predicts_the_digit(client, user_headers, demo_store, wrap):
    pngs, labels = zip(*(_digit(demo_store, i) for i in range(10)), strict=True)
    encoded = [{"b64": base64.b64encode(p).decode()} for p in pngs]
    instances = encoded if wrap == "bare" else [{"image": e} for e in encoded]
    r = client.post(f"{V1}/digits:predict", json={"instances": instances}, headers=user_headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    predictions = np.asarray(r.get_json()["predictions"])
    assert predictions.shape == (10, 10)
    assert np.mean(np.argmax(predictions, axis=1) == np.asarray(labels)) >= 0.8


def test_b64_png_through_classify_and_columnar(client, user_headers, demo_store):
    png, label = _digit(demo_store, 1)
    b64 = {"b64": base64.b64encode(png).decode()}
    doc = client.post(f"{V1}/digits:classify", json={"examples": [{"image": b64}]},
                      headers=user_headers).get_json()
    pairs = doc["results"][0]
    assert [p[0] for p in pairs] == [str(d) for d in range(10)]
    assert max(pairs, key=lambda p: p[1])[0] == str(label)
    doc = client.post(f"{V1}/digits:predict", json={"inputs": {"image": [b64]}},
                      headers=user_headers).get_json()
    assert int(np.argmax(doc["outputs"][0])) == label


def test_multipart_upload_like_curl_F(client, user_headers, demo_store):
    png, label = _digit(demo_store, 2)
    r = client.post(f"{V1}/digits:predict", data={"file": (io.BytesIO(png), "digit.png")},
                    headers=user_headers, content_type="multipart/form-data")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert int(np.argmax(r.get_json()["predictions"][0])) == label
    r = client.post(f"{V1}/digits:classify", data={"file": (io.BytesIO(png), "digit.png")},
                    headers=user_headers, content_type="multipart/form-data")
    assert max(r.get_json()["results"][0], key=lambda p: p[1])[0] == str(label)


def test_tensor_input_for_the_image_model(client, user_headers, demo_store):
    held = heldout(demo_store, "digits")
    doc = client.post(f"{V1}/digits:predict", json={"instances": held["x"][:16]},
                      headers=user_headers).get_json()
    assert np.argmax(doc["predictions"], axis=1).tolist() == held["y"][:16]


def test_model_list_and_api_root(client, user_headers):
    doc = client.get(V1, headers=user_headers).get_json()
    models = {m["name"]: m for m in doc["models"]}
    assert set(models) == {"iris", "diabetes", "digits", "wine", "movies", "helpdesk"}
    assert models["iris"]["default_version"] == 2
    assert models["iris"]["ready"] is True
    assert [v["version"] for v in models["iris"]["versions"]] == ["1", "2"]
    root = client.get("/api/")
    assert root.status_code == 200
    assert root.get_json()["status"] == "alive"
