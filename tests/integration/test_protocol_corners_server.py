"""The protocol corners as the reference clients meet them through a real gunicorn: tritonclient's
errors for an unexpected input and an unloaded model, TF Serving's list-valued examples."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import requests
import tritonclient.http as triton
from tritonclient.http.auth import BasicAuth
from tritonclient.utils import InferenceServerException

from tests.conftest import ADMIN, USER
from tests.support.helpers import IRIS_ROW
from tests.support.server import gunicorn

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(demo_store, tmp_path_factory):
    root = tmp_path_factory.mktemp("corners")
    store = root / "store"
    shutil.copytree(demo_store, store)
    with gunicorn(store, root / "instance", users={"admin": ADMIN, "user": USER}, workers=1) as running:
        yield running


def triton_client(url: str) -> triton.InferenceServerClient:
    client = triton.InferenceServerClient(url=url.removeprefix("http://") + "/api")
    client.register_plugin(BasicAuth(*USER))
    return client


def iris_input(name: str) -> triton.InferInput:
    tensor = triton.InferInput(name, [1, 4], "FP32")
    tensor.set_data_from_numpy(np.array([IRIS_ROW], dtype=np.float32))
    return tensor


def test_tritonclient_hears_which_input_is_unexpected(server):
    client = triton_client(server.url)
    with pytest.raises(InferenceServerException) as refused:
        client.infer("iris", [iris_input("INPUT0")])
    assert refused.value.status() == "400"
    assert "unexpected inference input 'INPUT0' for model 'iris'" in refused.value.message()
    assert "'input'" in refused.value.message()
    assert client.infer("iris", [iris_input("input")]).as_numpy("label").tolist() == [b"setosa"]


def test_examples_with_a_list_feature_and_context_through_the_server(server):
    url = f"{server.url}/api/v1/models/iris:classify"
    listed = requests.post(url, json={"examples": [{"inputs": IRIS_ROW}]}, auth=USER, timeout=30)
    assert listed.status_code == 200, listed.text
    assert max(listed.json()["results"][0], key=lambda p: p[1])[0] == "setosa"


def test_an_unloaded_model_is_404_to_both_clients_and_comes_back(server):
    admin = triton.InferenceServerClient(url=server.url.removeprefix("http://") + "/api")
    admin.register_plugin(BasicAuth(*ADMIN))
    admin.unload_model("wine")
    try:
        with pytest.raises(InferenceServerException) as gone:
            triton_client(server.url).infer("wine", [_wine_input()])
        assert gone.value.status() == "404"
        assert "has no available versions" in gone.value.message()
        old = requests.post(f"{server.url}/api/v1/models/wine:predict", auth=USER, timeout=30,
                            json={"instances": [[0.0] * 13]})
        assert (old.status_code, old.json()) == (404, {"error": "Servable not found for request: "
                                                                "Latest(wine)"})
        assert "Retry-After" not in old.headers
    finally:
        admin.load_model("wine")
    assert triton_client(server.url).infer("wine", [_wine_input()]).as_numpy("label").shape == (1,)


def _wine_input() -> triton.InferInput:
    tensor = triton.InferInput("input", [1, 13], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 13), dtype=np.float32))
    return tensor
