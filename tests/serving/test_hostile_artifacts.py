"""Hostile model files are refused through every way in, and nothing they aimed at happens.

Each artifact in the corpus goes through the publish API; a sample goes through the admin page
and `flask models publish`; each is also dropped into the store by hand, where the workers' own
loading must refuse it. After each: no file written, the instance folder unchanged, no connection
to the listener, no process left, no scratch folder left, and the other model still serving.
"""

from __future__ import annotations

import io

import pytest

from tests.conftest import ADMIN, basic
from tests.serving.conftest import nothing_happens, still_serving
from tests.serving.hostile_artifacts import Hostile, corpus
from tests.support.pages import csrf
from webapp.serving.loaded import State
from webapp.serving.models.store import ModelStore

CORPUS = corpus()
BY_NAME = {h.name: h for h in CORPUS}
# one of each kind: a function in skops, a pickle in disguise, crafted content, a Keras code path
SAMPLE = [BY_NAME[n] for n in ("svmlight-writes-a-file", "pickle-named-skops",
                               "tree-indices-out-of-range", "keras-lambda-layer")]
ids = [h.name for h in CORPUS]


def _upload(files: dict[str, bytes], artifact: str) -> dict:
    return {"manifest": (io.BytesIO(files["model.json"]), "model.json"),
            "artifact": (io.BytesIO(files[artifact]), "upload.bin")}


@pytest.mark.parametrize("hostile", CORPUS, ids=ids)
def test_the_publish_api_refuses_it(iris_app, hostile: Hostile, targets, listener, scratch_root):
    files = hostile.files(targets)
    with nothing_happens(targets, listener, scratch_root):
        r = iris_app.test_client().post("/api/v2/repository/models/evil/versions",
                                        data=_upload(files, hostile.artifact), headers=basic(ADMIN))
    assert r.status_code == 400, r.get_json()
    assert hostile.refusal in r.get_json()["error"]
    assert not (iris_app.extensions["podium.service"].store.root / "evil").exists()
    still_serving(iris_app)


@pytest.mark.parametrize("hostile", SAMPLE, ids=[h.name for h in SAMPLE])
def test_the_admin_page_refuses_it(iris_app, hostile: Hostile, targets, listener, scratch_root):
    client = iris_app.test_client()
    client.post("/login", data={"csrf_token": csrf(client.get("/login").text),
                                "username": ADMIN[0], "password": ADMIN[1]})
    files = hostile.files(targets)
    with nothing_happens(targets, listener, scratch_root):
        page = client.post("/admin/publish", data={
            "csrf_token": csrf(client.get("/admin").text), "name": "evil",
            **_upload(files, hostile.artifact)})
    assert page.status_code == 400
    assert hostile.refusal in page.text.replace("&#39;", "'")
    assert not (iris_app.extensions["podium.service"].store.root / "evil").exists()


@pytest.mark.parametrize("hostile", SAMPLE, ids=[h.name for h in SAMPLE])
def test_the_cli_refuses_it(iris_app, hostile: Hostile, targets, listener, scratch_root, tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    for name, content in hostile.files(targets).items():
        (folder / name).write_bytes(content)
    with nothing_happens(targets, listener, scratch_root):
        result = iris_app.test_cli_runner().invoke(args=["models", "publish", "evil", str(folder)])
    assert result.exit_code == 1
    assert hostile.refusal in result.output
    assert not (iris_app.extensions["podium.service"].store.root / "evil").exists()


@pytest.mark.parametrize("hostile", CORPUS, ids=ids)
def test_a_version_dropped_into_the_store_by_hand_fails_and_the_others_serve(
        iris_app, hostile: Hostile, targets, listener, scratch_root):
    service = iris_app.extensions["podium.service"]
    ModelStore(service.store.root).publish("evil", hostile.files(targets))
    with nothing_happens(targets, listener, scratch_root):
        service.refresh()
    lv = service.model("evil").versions[1]
    assert lv.state is State.FAILED
    assert hostile.refusal in lv.reason
    assert service.model("iris").ready
    still_serving(iris_app)
