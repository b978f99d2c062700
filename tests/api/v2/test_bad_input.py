"""Bad /api/v2 input gets a 4xx JSON error naming the problem, never a 500 (ROBUSTNESS rows 1-21)."""

from __future__ import annotations

import gzip
import json
import struct
import zlib

import numpy as np
import pytest

from tests.conftest import basic
from tests.support.v2_wire import HEADER, binary_body, serialize_bytes

USER = basic(("bob", "bob-password1"))
ROW = [5.1, 3.5, 1.4, 0.2]


def fp32(data, shape=(1, 4), datatype="FP32", **extra) -> dict:
    shape = list(shape) if isinstance(shape, tuple) else shape
    return {"inputs": [{"name": "input", "shape": shape, "datatype": datatype, "data": data, **extra}]}


def raw_input(size: int, shape=(1, 4), datatype="FP32") -> dict:
    return {"inputs": [{"name": "input", "shape": list(shape), "datatype": datatype,
                        "parameters": {"binary_data_size": size}}]}


FOUR = struct.pack("<4f", *ROW)
JSON_CASES = [
    ("empty body", b"", 400, "empty"),
    ("whitespace body", b"  \n", 400, "empty"),
    ("truncated JSON", b'{"inputs": [', 400, "JSON Parse error"),
    ("array document", b"[1, 2]", 400, "JSON object"),
    ("string document", b'"x"', 400, "JSON object"),
    ("null document", b"null", 400, "JSON object"),
    ("invalid UTF-8", b'{"inputs": "\xff\xfe"}', 400, "UTF-8"),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, 400, "JSON"),
    ("5000-digit integer", b'{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "INT64", "data": ['
     + b"9" * 5000 + b", 1, 1, 1]}]}", 400, ""),
    ("no inputs", {"id": "1"}, 400, "'inputs'"),
    ("empty inputs", {"inputs": []}, 400, "'inputs'"),
    ("input not an object", {"inputs": [5]}, 400, "object"),
    ("input without name", {"inputs": [{"shape": [1, 4], "datatype": "FP32", "data": ROW}]}, 400, "name"),
    ("unknown datatype", fp32(ROW, datatype="FLOAT"), 400, "datatype"),
    ("shape not a list", fp32(ROW, shape=4), 400, "shape"),
    ("negative dim", fp32(ROW, shape=(-1, 4)), 400, "shape"),
    ("float dim", fp32(ROW, shape=(1.0, 4)), 400, "shape"),
    ("shape product overflow", fp32(ROW, shape=(2**31, 4)), 400, "elements"),
    ("data shorter than shape", fp32(ROW[:3]), 400, "needs 4 values"),
    ("data longer than shape", fp32([*ROW, 1.0]), 400, "needs 4 values"),
    ("missing data", {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32"}]}, 400, "no 'data'"),
    ("strings as numbers", fp32(["5.1", 3.5, 1.4, 0.2]), 400, "must be numbers"),
    ("bools as numbers", fp32([True, 3.5, 1.4, 0.2]), 400, "must be numbers"),
    ("nulls as numbers", fp32([None, 3.5, 1.4, 0.2]), 400, "must be numbers"),
    ("objects as numbers", fp32([{"a": 1}, 3.5, 1.4, 0.2]), 400, "must be numbers"),
    ("floats for an integer type", fp32(ROW, datatype="INT32"), 400, "integers"),
    ("INT8 out of range", fp32([500, 3, 1, 0], datatype="INT8"), 400, "out of range"),
    ("UINT8 negative", fp32([-1, 3, 1, 0], datatype="UINT8"), 400, "out of range"),
    ("BF16 in JSON", fp32(ROW, datatype="BF16"), 400, "binary"),
    ("BOOL for a tabular model", fp32([True, False, True, False], datatype="BOOL"), 400, "numbers"),
    ("BYTES for a tabular model", fp32(["a", "b", "c", "d"], datatype="BYTES"), 400, "not BYTES"),
    ("bad base64", fp32(["@@@", "b", "c", "d"], datatype="BYTES", parameters={"content_type": "base64"}),
     400, "base64"),
    ("NaN", b'{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64", "data": [NaN, 1, 1, 1]}]}',
     400, "finite"),
    ("1e400", b'{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64", '
     b'"data": [1e400, 1, 1, 1]}]}', 400, "finite"),
    ("FP64 beyond float32", fp32([1e300, 1, 1, 1], datatype="FP64"), 400, "finite"),
    ("FP16 overflow", fp32([1e6, 1, 1, 1], datatype="FP16"), 400, "finite"),
    ("wrong feature count", fp32([1.0, 2.0, 3.0], shape=(1, 3)), 400, "[-1, 4]"),
    ("extra nesting", fp32([ROW], shape=(1, 1, 4)), 400, "[-1, 4]"),
    ("empty batch", fp32([], shape=(0, 4)), 400, "empty"),
    ("duplicate input names", {"inputs": [fp32(ROW)["inputs"][0], fp32(ROW)["inputs"][0]]}, 400, "unique"),
    ("unknown feature input", {"inputs": [{"name": "petal", "shape": [1], "datatype": "FP32", "data": [1]},
                                          {"name": "sepal", "shape": [1], "datatype": "FP32", "data": [1]}]},
     400, "unexpected inference input 'petal'"),
    ("unknown output", {**fp32(ROW), "outputs": [{"name": "scores"}]}, 400, "Unknown output"),
    ("duplicate output", {**fp32(ROW), "outputs": [{"name": "label"}, {"name": "label"}]}, 400, "twice"),
    ("outputs not a list", {**fp32(ROW), "outputs": "label"}, 400, "'outputs'"),
    ("classification on label", {**fp32(ROW), "outputs": [
        {"name": "label", "parameters": {"classification": 2}}]}, 400, "classification"),
    ("negative classification", {**fp32(ROW), "outputs": [
        {"name": "probabilities", "parameters": {"classification": -2}}]}, 400, "classification"),
    ("binary_data not a bool", {**fp32(ROW), "outputs": [
        {"name": "label", "parameters": {"binary_data": "yes"}}]}, 400, "binary_data"),
    ("id not a string", {**fp32(ROW), "id": 42}, 400, "'id'"),
    ("parameters not an object", {**fp32(ROW), "parameters": [1]}, 400, "parameters"),
    ("both data and binary size", fp32(ROW, parameters={"binary_data_size": 16}), 400, "both"),
]


@pytest.mark.parametrize(("body", "status", "needle"), [c[1:] for c in JSON_CASES],
                         ids=[c[0] for c in JSON_CASES])
def test_bad_json_requests(client, body, status, needle):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = client.post("/api/v2/models/iris/infer", data=data, headers=USER)
    assert r.status_code == status, r.get_data(as_text=True)
    assert needle in r.get_json()["error"]


def framed(doc: dict, raw: bytes, header: str | None = None) -> tuple[bytes, dict[str, str]]:
    body, headers = binary_body(doc, [raw])
    if header is not None:
        headers[HEADER] = header
    return body, headers


FRAMING_CASES = [
    ("header not a number", framed(raw_input(16), FOUR, "abc"), "non-negative integer"),
    ("header negative", framed(raw_input(16), FOUR, "-5"), "non-negative integer"),
    ("header zero", framed(raw_input(16), FOUR, "0"), "cannot be empty"),
    ("header larger than body", framed(raw_input(16), FOUR, "100000"), "only"),
    ("header beyond INT_MAX", framed(raw_input(16), FOUR, str(2**40)), "only"),
    ("header cuts the JSON", framed(raw_input(16), FOUR, "10"), "JSON Parse error"),
    ("binary size too big", framed(raw_input(32), FOUR), "left"),
    ("binary size too small", framed(raw_input(12), FOUR), "needs 4 x 4 = 16"),
    ("binary size not a multiple", framed(raw_input(15), FOUR[:15]), "needs 4 x 4 = 16"),
    ("binary size negative", framed(raw_input(-16), FOUR), "non-negative integer"),
    ("binary size a string", framed(raw_input("16"), FOUR), "non-negative integer"),  # type: ignore[arg-type]
    ("trailing bytes", framed(raw_input(16), FOUR + b"\x00\x01"), "follow the last input"),
    ("binary data with no header", (json.dumps(raw_input(16)).encode() + FOUR, {}), "JSON Parse error"),
]


@pytest.mark.parametrize(("framing", "needle"), [c[1:] for c in FRAMING_CASES],
                         ids=[c[0] for c in FRAMING_CASES])
def test_bad_binary_framing(client, framing, needle):
    body, headers = framing
    r = client.post("/api/v2/models/iris/infer", data=body, headers={**USER, **headers})
    assert r.status_code == 400, r.get_data(as_text=True)
    assert needle in r.get_json()["error"]


def _bytes_input(raw: bytes, count: int) -> tuple[bytes, dict[str, str]]:
    doc = {"inputs": [{"name": "image", "shape": [count], "datatype": "BYTES",
                       "parameters": {"binary_data_size": len(raw)}}]}
    return binary_body(doc, [raw])


BYTES_CASES = [
    ("length prefix lies", struct.pack("<I", 1000) + b"short", 1, "claims 1000 bytes"),
    ("prefix cut off", serialize_bytes([b"abc"]) + b"\x01\x00", 1, "cut off"),
    ("fewer elements than shape", serialize_bytes([b"abc"]), 2, "holds 1 BYTES"),
    ("more elements than shape", serialize_bytes([b"a", b"b", b"c"]), 2, "holds 3+ BYTES"),
    ("not an image", serialize_bytes([b"<svg></svg>"]), 1, "not an image"),
    ("empty image", serialize_bytes([b""]), 1, "empty"),
    ("truncated PNG", serialize_bytes([b"\x89PNG\r\n\x1a\n\x00\x00"]), 1, ""),
]


@pytest.mark.parametrize(("raw", "count", "needle"), [c[1:] for c in BYTES_CASES],
                         ids=[c[0] for c in BYTES_CASES])
def test_bad_bytes_tensors(client, raw, count, needle):
    body, headers = _bytes_input(raw, count)
    r = client.post("/api/v2/models/digits/infer", data=body, headers={**USER, **headers})
    assert r.status_code == 400, r.get_data(as_text=True)
    assert needle in r.get_json()["error"]


def test_image_tensor_shapes_are_checked(client):
    wrong = {"inputs": [{**fp32([0.0] * 49, shape=(1, 7, 7))["inputs"][0], "name": "image"}]}
    r = client.post("/api/v2/models/digits/infer", data=json.dumps(wrong), headers=USER)
    assert r.status_code == 400
    assert "[-1, 8, 8, 1]" in r.get_json()["error"]
    two_d = {"inputs": [{"name": "image", "shape": [1, 2], "datatype": "BYTES", "data": ["a", "b"]}]}
    r = client.post("/api/v2/models/digits/infer", data=json.dumps(two_d), headers=USER)
    assert r.status_code == 400
    assert "[n, 1]" in r.get_json()["error"]


def test_compression_limits(client, shared_app):
    limit = shared_app.config["MAX_CONTENT_LENGTH"]
    bomb = gzip.compress(b" " * (limit + 1024))  # ~33 MB of spaces in ~32 kB
    assert len(bomb) < 100_000
    r = client.post("/api/v2/models/iris/infer", data=bomb, headers={**USER, "Content-Encoding": "gzip"})
    assert r.status_code == 413
    assert "decompressed" in r.get_json()["error"]
    for encoding, data, status in (("br", b"xx", 415), ("gzip", b"not gzip", 400),
                                   ("deflate", zlib.compress(b'{"inputs": []}')[:-3], 400)):
        r = client.post("/api/v2/models/iris/infer", data=data,
                        headers={**USER, "Content-Encoding": encoding})
        assert r.status_code == status, encoding
        assert "error" in r.get_json()


def test_batch_over_the_limit_is_refused(client, shared_app):
    rows = shared_app.config["MAX_BATCH_ROWS"] + 1
    array = np.ones((rows, 4), dtype="<f4")
    body, headers = binary_body(raw_input(array.nbytes, shape=array.shape), [array.tobytes()])
    r = client.post("/api/v2/models/iris/infer", data=body, headers={**USER, **headers})
    assert r.status_code == 413
    assert "limit" in r.get_json()["error"]


def test_other_endpoints_refuse_bad_bodies_and_server_stays_ready(client, admin_headers):
    r = client.post("/api/v2/repository/index", data=b"[1]", headers=USER)
    assert r.status_code == 400
    r = client.post("/api/v2/repository/index", data=b'{"ready": "yes"}', headers=USER)
    assert r.status_code == 400
    r = client.post("/api/v2/repository/models/iris/load", data=b"{oops", headers=admin_headers)
    assert r.status_code == 400
    r = client.post("/api/v2/repository/models/iris/load", headers=admin_headers,
                    data=b'{"parameters": {"file:1/model.skops": "AA=="}}')
    assert r.status_code == 400
    assert "file:" in r.get_json()["error"]
    r = client.post("/api/v2/models/iris/infer", data=b"{}")
    assert r.status_code == 401
    assert "error" in r.get_json()
    assert client.get("/api/v2/health/ready").status_code == 200
