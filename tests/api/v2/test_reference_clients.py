"""Real protocol clients against a real gunicorn: tritonclient[http] and KServe's REST wire, every demo model.

kserve's package cannot be installed beside the pinned stack (it pins protobuf<7 and psutil<6), so
`KServeWire` sends exactly the requests its `InferenceRESTClient` sends (kserve
`inference_client.py` and `protocol/infer_type.py`: orjson body with no Content-Type, `model_name` and
a uuid `id` in it; binary inputs with `inference-header-content-length` and
`content-type: application/octet-stream`) and reads answers the way it does.
"""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid

import ml_dtypes
import numpy as np
import pytest
import requests
import tritonclient.http as triton
from tritonclient.http.auth import BasicAuth

from tests.conftest import ADMIN, USER
from tests.support.server import gunicorn
from tests.support.v2_wire import HEADER, digit_png, read_response

pytestmark = pytest.mark.integration
TABULAR = ("iris", "diabetes", "wine")


def client_for(url: str, user: tuple[str, str]) -> triton.InferenceServerClient:
    client = triton.InferenceServerClient(url=url.removeprefix("http://") + "/api")
    client.register_plugin(BasicAuth(*user))
    return client


def wine_ready_on_fresh_connections(url: str, count: int) -> bool:
    return all(requests.get(f"{url}/api/v2/models/wine/ready", auth=USER, timeout=10,
                            headers={"Connection": "close"}).status_code == 200 for _ in range(count))


def heldout(store, name: str, rows: int = 6) -> tuple[np.ndarray, list]:
    data = json.loads((store / name / "1" / "heldout.json").read_text())
    return np.array(data["x"][:rows], dtype=np.float32), data["y"][:rows]


def v1_predictions(url: str, name: str, instances) -> np.ndarray:
    r = requests.post(f"{url}/api/v1/models/{name}:predict", json={"instances": instances}, auth=USER,
                      timeout=30)
    assert r.status_code == 200, r.text
    return np.array(r.json()["predictions"], dtype=np.float32)


def triton_infer(client, name: str, array: np.ndarray, datatype: str, binary: bool, class_count: int = 0):
    tensor = triton.InferInput("image" if name == "digits" else "input", list(array.shape), datatype)
    tensor.set_data_from_numpy(array, binary_data=binary)
    output = "predictions" if name == "diabetes" else "probabilities"
    wanted = [triton.InferRequestedOutput(output, binary_data=binary, class_count=class_count)]
    if name != "diabetes" and not class_count:
        wanted.append(triton.InferRequestedOutput("label", binary_data=binary))
    return client.infer(name, [tensor], outputs=wanted, request_id="t-1")


def check_triton_model(client, url: str, store, name: str) -> None:
    assert client.is_model_ready(name)
    meta = client.get_model_metadata(name)
    config = client.get_model_config(name)
    assert [t["name"] for t in meta["inputs"]] == [t["name"] for t in config["input"]]
    x, y = heldout(store, name)
    expected = v1_predictions(url, name, x.tolist())
    output = "predictions" if name == "diabetes" else "probabilities"
    for binary in (True, False):
        result = triton_infer(client, name, x, "FP32", binary)
        assert result.get_response()["id"] == "t-1"
        np.testing.assert_array_equal(result.as_numpy(output), expected)
        if name != "diabetes":
            top = triton_infer(client, name, x, "FP32", binary, class_count=2).as_numpy(output)
            assert top.shape == (len(x), 2)
            first = [int(item.split(b":" if isinstance(item, bytes) else ":")[1]) for item in top[:, 0]]
            assert first == list(np.argmax(expected, axis=1))
    if name == "digits":
        labels = triton_infer(client, name, x, "FP32", True).as_numpy("label")
        assert [s.decode() for s in labels] == [str(d) for d in y]
        pngs = np.array([digit_png(img) for img in x], dtype=np.object_)
        from_png = triton_infer(client, name, pngs, "BYTES", True).as_numpy(output)
        by_v1 = v1_predictions(url, name, [{"b64": base64.b64encode(p).decode()} for p in pngs])
        np.testing.assert_array_equal(from_png, by_v1)
    gz = client.infer(name, [_fp32_input(name, np.tile(x, (40,) + (1,) * (x.ndim - 1)))],
                      request_compression_algorithm="gzip", response_compression_algorithm="gzip")
    np.testing.assert_array_equal(gz.as_numpy(output), np.tile(expected, (40,) + (1,) * (expected.ndim - 1)))


def check_triton_datatypes(client, url: str) -> None:
    """Whole-number rows, exact in every datatype, give /api/v1's float numbers."""
    rows = np.array([[5, 3, 1, 0], [7, 3, 5, 2]])
    expected = v1_predictions(url, "iris", rows.astype(float).tolist())
    for datatype, dtype in (("FP16", np.float16), ("FP64", np.float64), ("INT64", np.int64),
                            ("UINT8", np.uint8), ("BF16", ml_dtypes.bfloat16)):
        for binary in ((True,) if datatype == "BF16" else (True, False)):
            tensor = triton.InferInput("input", [2, 4], datatype)
            tensor.set_data_from_numpy(rows.astype(dtype), binary_data=binary)
            result = client.infer("iris", [tensor])
            np.testing.assert_array_equal(result.as_numpy("probabilities"), expected, err_msg=datatype)


def _fp32_input(name: str, x: np.ndarray):
    tensor = triton.InferInput("image" if name == "digits" else "input", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x)
    return tensor


def wait_for(predicate, what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}")


def declared_gigabyte_is_refused_at_once(url: str) -> None:
    """Row 22: a 1 GiB Content-Length gets 413 JSON from the header, before any body is sent."""
    host, port = url.removeprefix("http://").split(":")
    token = base64.b64encode(f"{USER[0]}:{USER[1]}".encode()).decode()
    head = (f"POST /api/v2/models/iris/infer HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {token}\r\n"
            f"Content-Length: {2**30}\r\nConnection: close\r\n\r\n")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode() + b"{}")
        answer = b""
        while len(answer) < 65536 and (chunk := sock.recv(65536)):  # the server closes after it
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"error"' in answer


class KServeWire:
    """The HTTP requests kserve's InferenceRESTClient makes, v2 and v1, with requests."""

    def __init__(self, base: str, auth: tuple[str, str]) -> None:
        self.base, self.auth = base, auth

    def is_server_live(self, protocol: str) -> bool:
        url = f"{self.base}/" if protocol == "v1" else f"{self.base}/v2/health/live"
        r = requests.get(url, auth=self.auth, timeout=10)
        r.raise_for_status()
        return r.json()["status"].lower() == "alive" if protocol == "v1" else r.json().get("live")

    def is_server_ready(self) -> bool:
        r = requests.get(f"{self.base}/v2/health/ready", auth=self.auth, timeout=10)
        r.raise_for_status()
        return r.json().get("ready")

    def is_model_ready(self, protocol: str, name: str) -> bool:
        if protocol == "v2":
            r = requests.get(f"{self.base}/v2/models/{name}/ready", auth=self.auth, timeout=10)
            return r.ok
        r = requests.get(f"{self.base}/v1/models/{name}", auth=self.auth, timeout=10)
        if r.status_code == 503:
            return False
        r.raise_for_status()
        return r.json().get("ready")

    def infer_v2(self, name: str, array: np.ndarray, datatype: str, binary: bool) -> dict:
        entry = {"name": "image" if name == "digits" else "input", "shape": list(array.shape),
                 "datatype": datatype}
        request = {"id": str(uuid.uuid4()), "model_name": name, "inputs": [entry]}
        headers = {}
        if binary:
            raw = (b"".join(len(b).to_bytes(4, "little") + b for b in array.ravel())
                   if datatype == "BYTES" else array.tobytes())
            entry["parameters"] = {"binary_data_size": len(raw)}
            head = json.dumps(request).encode()
            body = head + raw
            headers = {HEADER.lower(): str(len(head)), "content-type": "application/octet-stream"}
        else:
            entry["data"] = array.ravel().tolist()
            body = json.dumps(request).encode()
        r = requests.post(f"{self.base}/v2/models/{name}/infer", data=body, headers=headers,
                          auth=self.auth, timeout=30)
        assert r.ok, r.text
        doc = read_response(r.content, r.headers.get(HEADER))
        assert doc["id"] == request["id"]
        return doc

    def infer_v1(self, name: str, instances: list) -> list:
        r = requests.post(f"{self.base}/v1/models/{name}:predict", data=json.dumps({"instances": instances}),
                          auth=self.auth, timeout=30)
        assert r.ok, r.text
        return r.json()["predictions"]


def check_kserve_model(wire: KServeWire, url: str, store, name: str) -> None:
    assert wire.is_model_ready("v2", name)
    assert wire.is_model_ready("v1", name)
    x, _ = heldout(store, name)
    expected = v1_predictions(url, name, x.tolist())
    output = "predictions" if name == "diabetes" else "probabilities"
    for binary in (False, True):
        doc = wire.infer_v2(name, x, "FP32", binary)
        np.testing.assert_array_equal(doc["decoded"][output], expected)
    np.testing.assert_array_equal(np.array(wire.infer_v1(name, x.tolist()), dtype=np.float32), expected)
    if name == "digits":
        pngs = np.array([digit_png(img) for img in x], dtype=np.object_)
        doc = wire.infer_v2(name, pngs, "BYTES", True)
        assert len(doc["decoded"]["label"]) == len(x)


def test_tritonclient_and_kserve_wire_on_every_demo_model(model_store, tmp_path):
    with gunicorn(model_store, tmp_path / "instance", {"admin": ADMIN, "user": USER}) as server:
        client = client_for(server.url, USER)
        assert client.is_server_live()
        assert client.is_server_ready()
        extensions = client.get_server_metadata()["extensions"]
        assert {"binary_tensor_data", "classification", "model_repository"} <= set(extensions)
        for name in (*TABULAR, "digits"):
            check_triton_model(client, server.url, model_store, name)
        check_triton_datatypes(client, server.url)
        declared_gigabyte_is_refused_at_once(server.url)
        stats = client.get_inference_statistics("iris")["model_stats"]
        assert {s["version"] for s in stats} == {"1", "2"}

        wire = KServeWire(server.url + "/api", USER)
        assert wire.is_server_live("v2")
        assert wire.is_server_live("v1")
        assert wire.is_server_ready()
        for name in (*TABULAR, "digits"):
            check_kserve_model(wire, server.url, model_store, name)

        # the repository extension: the change lands in config.json, so every worker follows
        index = {(e["name"], e["version"]): e["state"] for e in client.get_model_repository_index()}
        assert index[("wine", "1")] == "READY"
        with pytest.raises(triton.InferenceServerException):
            client.unload_model("wine")  # a user may not
        admin = client_for(server.url, ADMIN)
        admin.unload_model("wine")
        # fresh connections may all land on one worker: watch `client`'s own connection too
        fresh = [client, *(client_for(server.url, USER) for _ in range(4))]
        wait_for(lambda: not any(c.is_model_ready("wine") for c in fresh), "wine unloaded everywhere")
        with pytest.raises(triton.InferenceServerException, match="wine"):
            triton_infer(client, "wine", heldout(model_store, "wine")[0], "FP32", True)
        assert client.is_server_ready()  # an unloaded model is not expected
        admin.load_model("wine")
        wait_for(lambda: all(c.is_model_ready("wine") for c in fresh), "wine loaded everywhere")
        # a client's pooled connection may be re-made to the other worker, so wait until 20 new
        # connections (spread over both workers by the kernel) all see it ready
        wait_for(lambda: wine_ready_on_fresh_connections(server.url, 20), "wine loaded on both workers")
        check_triton_model(client, server.url, model_store, "wine")
