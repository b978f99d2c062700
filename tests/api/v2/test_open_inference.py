"""/api/v2 through the Flask test client: metadata, config, infer in JSON and binary, extensions."""

from __future__ import annotations

import base64
import gzip
import json
import zlib

import ml_dtypes
import numpy as np
import pytest

from tests.conftest import basic
from tests.support.v2_wire import binary_body, digit_png, read_response, serialize_bytes, tensor

IRIS_ROWS = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]], np.float32)
MODELS = ("iris", "diabetes", "digits", "wine")


def heldout(store, name: str, rows: int = 5) -> tuple[np.ndarray, list]:
    data = json.loads((store / name / "1" / "heldout.json").read_text())
    return np.array(data["x"][:rows], dtype=np.float32), data["y"][:rows]


def infer(client, name: str, doc=None, headers=None, data=None, path=""):
    body = json.dumps(doc) if data is None else data
    return client.post(f"/api/v2/models/{name}{path}/infer", data=body,
                       headers={**basic(("bob", "bob-password1")), **(headers or {})})


def decoded(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    return read_response(response.get_data(), response.headers.get("Inference-Header-Content-Length"))


def v1_values(client, user_headers, name: str, instances) -> np.ndarray:
    r = client.post(f"/api/v1/models/{name}:predict", json={"instances": instances}, headers=user_headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    return np.array(r.get_json()["predictions"], dtype=np.float32)


def test_server_metadata_and_probes(client, user_headers):
    doc = client.get("/api/v2", headers=user_headers).get_json()
    assert doc["name"] == "podium"
    assert set(doc["extensions"]) == {"binary_tensor_data", "classification", "model_repository",
                                      "model_configuration"}
    denied = client.get("/api/v2")
    assert denied.status_code == 401
    assert "error" in denied.get_json()
    assert client.get("/api/v2/health/live").get_json() == {"live": True}
    ready = client.get("/api/v2/health/ready")
    assert (ready.status_code, ready.get_json()) == (200, {"ready": True})


@pytest.mark.parametrize("name", MODELS)
def test_metadata_and_config_agree(client, user_headers, name):
    meta = client.get(f"/api/v2/models/{name}", headers=user_headers).get_json()
    config = client.get(f"/api/v2/models/{name}/config", headers=user_headers).get_json()
    assert meta["name"] == config["name"] == name
    assert all(isinstance(v, str) for v in meta["versions"])
    assert meta["platform"] in ("sklearn_skops", "tensorflow_keras")
    assert config["max_batch_size"] > 0
    for tensors, entries in ((meta["inputs"], config["input"]), (meta["outputs"], config["output"])):
        assert [t["name"] for t in tensors] == [e["name"] for e in entries]
        for t, e in zip(tensors, entries, strict=True):
            assert t["shape"][0] == -1
            assert e["dims"] == (t["shape"][1:] or [1])
            assert e["data_type"] == ("TYPE_STRING" if t["datatype"] == "BYTES" else "TYPE_" + t["datatype"])
    versioned = client.get(f"/api/v2/models/{name}/versions/1", headers=user_headers)
    assert versioned.status_code == 200
    assert versioned.get_json()["podium"]["version"] == "1"
    assert client.get(f"/api/v2/models/{name}/ready", headers=user_headers).status_code == 200
    assert client.get(f"/api/v2/models/{name}/versions/1/ready", headers=user_headers).status_code == 200


@pytest.mark.parametrize("name", ["iris", "diabetes", "wine", "digits"])
def test_json_and_binary_match_v1(client, user_headers, demo_store, name):
    """Row 77: the same input through /api/v1 and /api/v2 gives the same numbers, both encodings."""
    x, _ = heldout(demo_store, name)
    expected = v1_values(client, user_headers, name, x.tolist())
    output = "predictions" if name == "diabetes" else "probabilities"
    input_name = "image" if name == "digits" else "input"
    as_json = decoded(infer(client, name, {"inputs": [tensor(input_name, x)]}))
    np.testing.assert_array_equal(as_json["decoded"][output], expected)
    doc = {"inputs": [{"name": input_name, "shape": list(x.shape), "datatype": "FP32",
                       "parameters": {"binary_data_size": x.nbytes}}],
           "parameters": {"binary_data_output": True}}
    body, headers = binary_body(doc, [x.astype("<f4").tobytes()])
    response = infer(client, name, headers=headers, data=body)  # no Content-Type, as tritonclient
    assert response.mimetype == "application/octet-stream"
    np.testing.assert_array_equal(decoded(response)["decoded"][output], expected)
    assert as_json["model_version"] == ("2" if name == "iris" else "1")


def test_classifier_outputs_labels_selection_and_id(client):
    doc = {"id": "req-7", "model_name": "iris", "inputs": [tensor("input", IRIS_ROWS)],
           "outputs": [{"name": "label"}]}
    result = decoded(infer(client, "iris", doc))
    assert result["id"] == "req-7"
    assert result["model_name"] == "iris"
    assert result["model_version"] == "2"
    assert [o["name"] for o in result["outputs"]] == ["label"]
    assert result["decoded"]["label"] == ["setosa", "virginica", "versicolor"]
    both = decoded(infer(client, "iris", {"inputs": [tensor("input", IRIS_ROWS)]}))
    assert [o["name"] for o in both["outputs"]] == ["probabilities", "label"]
    assert "id" not in both


@pytest.mark.parametrize("binary", [False, True])
def test_classification_extension(client, binary):
    doc = {"inputs": [tensor("input", IRIS_ROWS)],
           "outputs": [{"name": "probabilities", "parameters": {"classification": 2, "binary_data": binary}}]}
    result = decoded(infer(client, "iris", doc))
    out = result["outputs"][0]
    assert (out["datatype"], out["shape"]) == ("BYTES", [3, 2])
    items = [x.decode() if isinstance(x, bytes) else x for x in result["decoded"]["probabilities"]]
    plain = decoded(infer(client, "iris", {"inputs": [tensor("input", IRIS_ROWS)]}))
    probs = plain["decoded"]["probabilities"]
    for row in range(3):
        first, second = (items[2 * row + k].split(":") for k in range(2))
        assert int(first[1]) == int(np.argmax(probs[row]))
        assert float(first[0]) >= float(second[0])
        assert first[2] == ["setosa", "versicolor", "virginica"][int(first[1])]
        assert float(first[0]) == pytest.approx(float(probs[row].max()), abs=1e-6)
    clamped = decoded(infer(client, "iris", {"inputs": [tensor("input", IRIS_ROWS[:1])], "outputs": [
        {"name": "probabilities", "parameters": {"classification": 50}}]}))
    assert clamped["outputs"][0]["shape"] == [1, 3]


NUMERIC = ["UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64"]
NP = {"UINT8": "u1", "UINT16": "<u2", "UINT32": "<u4", "UINT64": "<u8", "INT8": "i1", "INT16": "<i2",
      "INT32": "<i4", "INT64": "<i8", "FP16": "<f2", "FP32": "<f4", "FP64": "<f8",
      "BF16": ml_dtypes.bfloat16}


@pytest.mark.parametrize("datatype", [*NUMERIC, "BF16"])
def test_every_numeric_datatype_in_json_and_binary(client, user_headers, datatype):
    rows = np.array([[5, 3, 1, 0], [7, 3, 5, 2]])
    expected = v1_values(client, user_headers, "iris", rows.astype(np.float32).tolist())
    array = rows.astype(NP[datatype])
    doc = {"inputs": [{"name": "input", "shape": [2, 4], "datatype": datatype,
                       "parameters": {"binary_data_size": array.nbytes}}]}
    body, headers = binary_body(doc, [array.tobytes()])
    np.testing.assert_array_equal(decoded(infer(client, "iris", headers=headers, data=body))
                                  ["decoded"]["probabilities"], expected)
    if datatype != "BF16":  # tritonclient sends BF16 only as binary
        as_json = decoded(infer(client, "iris", {"inputs": [tensor("input", rows, datatype)]}))
        np.testing.assert_array_equal(as_json["decoded"]["probabilities"], expected)


def test_flat_and_nested_data_and_feature_inputs(client, user_headers):
    expected = v1_values(client, user_headers, "iris", IRIS_ROWS.tolist())
    flat = {"inputs": [{"name": "input", "shape": [3, 4], "datatype": "FP64",
                        "data": IRIS_ROWS.astype(np.float64).ravel().tolist()}]}
    np.testing.assert_array_equal(decoded(infer(client, "iris", flat))["decoded"]["probabilities"], expected)
    meta = client.get("/api/v2/models/iris", headers=user_headers).get_json()
    features = meta["podium"]["features"]
    columns = {"inputs": [{"name": f, "shape": [3, 1] if i % 2 else [3], "datatype": "FP32",
                           "data": IRIS_ROWS[:, i].tolist()} for i, f in enumerate(features)][::-1]}
    by_feature = decoded(infer(client, "iris", columns))
    np.testing.assert_array_equal(by_feature["decoded"]["probabilities"], expected)


def test_regressor_predictions_shape(client, demo_store):
    x, _ = heldout(demo_store, "diabetes", 3)
    result = decoded(infer(client, "diabetes", {"inputs": [tensor("input", x)]}))
    described = [(o["name"], o["datatype"], o["shape"]) for o in result["outputs"]]
    assert described == [("predictions", "FP32", [3])]


def test_digits_from_png_bytes_and_from_tensors(client, user_headers, demo_store):
    x, y = heldout(demo_store, "digits", 4)
    pngs = [digit_png(img) for img in x]
    encoded = [base64.b64encode(p).decode() for p in pngs]
    expected_png = v1_values(client, user_headers, "digits", [{"b64": e} for e in encoded])
    raw = serialize_bytes(pngs)
    doc = {"inputs": [{"name": "image", "shape": [4], "datatype": "BYTES",
                       "parameters": {"binary_data_size": len(raw)}}],
           "outputs": [{"name": "probabilities", "parameters": {"binary_data": True}}, {"name": "label"}]}
    body, headers = binary_body(doc, [raw])
    result = decoded(infer(client, "digits", headers=headers, data=body))
    np.testing.assert_array_equal(result["decoded"]["probabilities"], expected_png)
    b64 = {"inputs": [{"name": "image", "shape": [4, 1], "datatype": "BYTES",
                       "parameters": {"content_type": "base64"}, "data": encoded}]}
    via_json = decoded(infer(client, "digits", b64))
    np.testing.assert_array_equal(via_json["decoded"]["probabilities"], expected_png)
    for shape in ((4, 8, 8, 1), (4, 8, 8)):
        labels = decoded(infer(client, "digits", {"inputs": [tensor("image", x.reshape(shape))]}))
        assert labels["decoded"]["label"] == [str(d) for d in y]


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_request_bodies(client, encoding):
    doc = json.dumps({"inputs": [tensor("input", IRIS_ROWS)]}).encode()
    packed = gzip.compress(doc) if encoding == "gzip" else zlib.compress(doc)
    result = decoded(infer(client, "iris", data=packed, headers={"Content-Encoding": encoding}))
    assert result["decoded"]["label"] == ["setosa", "virginica", "versicolor"]


def test_versions_route_and_unknowns(client, user_headers):
    result = decoded(infer(client, "iris", {"inputs": [tensor("input", IRIS_ROWS)]}, path="/versions/1"))
    assert result["model_version"] == "1"
    for url, status in (("/api/v2/models/nope", 404), ("/api/v2/models/iris/versions/9", 404),
                        ("/api/v2/models/iris/versions/HELLO", 400), ("/api/v2/nothing/here", 404)):
        r = client.get(url, headers=user_headers)
        assert r.status_code == status, url
        assert "error" in r.get_json()
    wrong_verb = client.get("/api/v2/models/iris/infer", headers=user_headers)
    assert wrong_verb.status_code == 405
    assert "error" in wrong_verb.get_json()


def test_repository_index_load_unload(app, admin_headers, user_headers):
    client = app.test_client()
    index = client.post("/api/v2/repository/index", headers=user_headers)  # empty body, no Content-Type
    entries = {(e["name"], e["version"]): e["state"] for e in index.get_json()}
    assert entries[("iris", "2")] == "READY"
    assert entries[("digits", "1")] == "READY"
    assert client.post("/api/v2/repository/models/iris/unload", headers=user_headers).status_code == 403
    unload = client.post("/api/v2/repository/models/iris/unload", headers=admin_headers,
                         data=json.dumps({"parameters": {"unload_dependents": False}}))
    assert unload.status_code == 200, unload.get_data(as_text=True)
    after = client.post("/api/v2/repository/index", headers=user_headers, data="{}").get_json()
    assert {e["state"] for e in after if e["name"] == "iris"} == {"UNAVAILABLE"}
    ready_only = client.post("/api/v2/repository/index", headers=user_headers,
                             json={"ready": True}).get_json()
    assert "iris" not in {e["name"] for e in ready_only}
    not_ready = client.get("/api/v2/models/iris/ready", headers=user_headers)
    assert (not_ready.status_code, not_ready.get_json()["ready"]) == (503, False)
    assert infer(client, "iris", {"inputs": [tensor("input", IRIS_ROWS)]}).status_code == 404
    assert client.get("/api/v2/health/ready").status_code == 200  # an unloaded model is not expected
    refused = client.post("/api/v2/repository/models/iris/load", headers=admin_headers,
                          json={"parameters": {"config": "{}"}})
    assert refused.status_code == 400
    assert "config" in refused.get_json()["error"]
    assert client.post("/api/v2/repository/models/iris/load", headers=admin_headers).status_code == 200
    assert client.get("/api/v2/models/iris/ready", headers=user_headers).status_code == 200
    missing = client.post("/api/v2/repository/models/nope/load", headers=admin_headers)
    assert missing.status_code == 404
    assert "error" in missing.get_json()


@pytest.mark.parametrize("content_type", [None, "application/json", "text/plain",
                                          "application/x-www-form-urlencoded", "application/octet-stream"])
def test_any_content_type_is_read_as_the_protocol_body(client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    result = decoded(infer(client, "iris", {"inputs": [tensor("input", IRIS_ROWS)]}, headers=headers))
    assert result["decoded"]["label"] == ["setosa", "virginica", "versicolor"]


def test_statistics_count_requests_per_version(client, user_headers):
    def stats(url: str) -> dict:
        r = client.get(url, headers=user_headers)
        assert r.status_code == 200, r.get_data(as_text=True)
        return r.get_json()["model_stats"]

    before = stats("/api/v2/models/iris/versions/1/stats")[0]
    decoded(infer(client, "iris", {"inputs": [tensor("input", IRIS_ROWS)]}, path="/versions/1"))
    after = stats("/api/v2/models/iris/versions/1/stats")[0]
    assert after["execution_count"] == before["execution_count"] + 1
    assert after["inference_count"] == before["inference_count"] + 3
    assert after["inference_stats"]["success"]["ns"] > before["inference_stats"]["success"]["ns"]
    assert {s["name"] for s in stats("/api/v2/models/stats")} == {*MODELS, "movies", "helpdesk"}
    assert [s["version"] for s in stats("/api/v2/models/iris/stats")] == ["1", "2"]


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_large_answers_are_compressed_when_accepted(client, demo_store, encoding):
    x, _ = heldout(demo_store, "digits", 64)
    doc = {"inputs": [tensor("image", x)], "parameters": {"binary_data_output": True}}
    plain = infer(client, "digits", doc, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    packed = infer(client, "digits", doc, headers={"Accept-Encoding": encoding})
    assert packed.headers["Content-Encoding"] == encoding
    length = "Inference-Header-Content-Length"
    assert packed.headers[length] == plain.headers[length]
    body = gzip.decompress(packed.get_data()) if encoding == "gzip" else zlib.decompress(packed.get_data())
    assert body == plain.get_data()
    small = infer(client, "iris", {"inputs": [tensor("input", IRIS_ROWS[:1])]},
                  headers={"Accept-Encoding": encoding})
    assert "Content-Encoding" not in small.headers


def test_a_broken_model_makes_the_server_unready_but_not_dead(app, model_store, user_headers):
    """Row 50: live stays true, ready turns false, the broken model is not ready, the others serve."""
    version = model_store / "wine" / "1"
    (version / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")
    (version / "model.json").write_text((version / "model.json").read_text())  # a new identity: reload
    app.extensions["podium.service"].refresh()
    client = app.test_client()
    assert client.get("/api/v2/health/live").status_code == 200
    ready = client.get("/api/v2/health/ready")
    assert (ready.status_code, ready.get_json()) == (503, {"ready": False})
    assert client.get("/api/v2/models/wine/ready", headers=user_headers).status_code == 503
    failed = infer(client, "wine", {"inputs": [tensor("input", np.zeros((1, 13), np.float32))]})
    assert failed.status_code == 503
    assert "FAILED" in failed.get_json()["error"]
    index = client.post("/api/v2/repository/index", headers=user_headers).get_json()
    wine = next(e for e in index if e["name"] == "wine")
    assert wine["state"] == "UNAVAILABLE"
    assert wine["reason"]
    assert decoded(infer(client, "iris", {"inputs": [tensor("input", IRIS_ROWS)]}))["model_version"] == "2"
