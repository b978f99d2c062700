"""The admin lifecycle API and `flask models ...` commands, through the test client and CLI runner."""

from __future__ import annotations

import io
import json

import pytest

from tests.conftest import ADMIN, USER, basic
from tests.support.helpers import version_files

BASE = "/api/v2/repository"
ROW = {"instances": [[5.1, 3.5, 1.4, 0.2]]}


@pytest.fixture
def api(app):
    return app.test_client()


def upload(store, version: int = 1, manifest: bytes | None = None, artifact: bytes | None = None):
    folder = store / "iris" / str(version)
    return {"manifest": (io.BytesIO(manifest or (folder / "model.json").read_bytes()), "whatever.json"),
            "artifact": (io.BytesIO(artifact or (folder / "model.skops").read_bytes()), "../../x.skops")}


def served(api, headers=None) -> str:
    r = api.post("/api/v1/models/iris:predict", json=ROW, headers={**basic(USER), **(headers or {})})
    assert r.status_code == 200, r.get_json()
    return r.headers["X-Model-Version"]


def test_publish_label_split_rollback_over_http(api, model_store):
    admin = basic(ADMIN)
    r = api.post(f"{BASE}/models/iris/versions", data=upload(model_store), headers=admin)
    assert r.status_code == 201, r.get_json()
    assert r.get_json() == {"name": "iris", "version": 3}
    assert sorted(version_files(model_store / "iris" / "3")) == ["model.json", "model.skops"]
    assert served(api) == "3"

    r = api.put(f"{BASE}/models/iris/labels/stable", json={"version": 3}, headers=admin)
    assert r.status_code == 200
    assert r.get_json()["labels"] == {"stable": 3}

    r = api.put(f"{BASE}/models/iris/split", json={"weights": {"2": 50, "3": 50}}, headers=admin)
    assert r.get_json()["split"] == {"2": 50, "3": 50}
    picks = {served(api, {"X-Request-Key": f"k{i}"}) for i in range(40)}
    assert picks == {"2", "3"}
    assert len({served(api, {"X-Request-Key": "fixed"}) for _ in range(10)}) == 1

    r = api.post(f"{BASE}/models/iris/rollback", headers=admin)
    assert r.status_code == 200
    doc = r.get_json()
    assert (doc["version"], doc["default_version"], doc["split"]) == (2, 2, None)
    assert doc["labels"] == {"stable": 2}
    assert served(api) == "2"

    r = api.put(f"{BASE}/models/iris/default", json={"version": None}, headers=admin)
    assert r.get_json()["serving_default"] == 3
    r = api.delete(f"{BASE}/models/iris/labels/stable", headers=admin)
    assert r.get_json()["labels"] == {}
    r = api.delete(f"{BASE}/models/iris/versions/1", headers=admin)
    assert r.status_code == 200
    assert r.get_json()["stored"] == [2, 3]

    r = api.get(f"{BASE}/models/iris/lifecycle", headers=admin)
    assert r.get_json()["versions"]["3"]["state"] == "AVAILABLE"
    entries = api.get(f"{BASE}/audit?limit=3", headers=admin).get_json()["entries"]
    assert [e["action"] for e in entries] == ["delete_version", "delete_label", "set_default"]
    assert {e["user"] for e in entries} == {ADMIN[0]}


@pytest.mark.parametrize(("method", "path", "body", "status", "message"), [
    ("put", "/models/iris/labels/stable", {"version": 9}, 409, "no such version"),
    ("put", "/models/iris/labels/stable", {"version": "two"}, 400, "positive integer"),
    ("put", "/models/iris/labels/stable", {}, 400, "version"),
    ("put", "/models/iris/labels/bad%20label", {"version": 1}, 400, "label"),
    ("put", "/models/nosuch/labels/stable", {"version": 1}, 404, "nosuch"),
    ("delete", "/models/iris/labels/nosuch", None, 404, "nosuch"),
    ("put", "/models/iris/split", {"weights": {"1": 50, "2": 40}}, 400, "add up to 100"),
    ("put", "/models/iris/split", {"weights": {"1": 100}}, 400, "two or more"),
    ("put", "/models/iris/split", {"weights": {"1": 50, "x": 50}}, 400, "positive integer"),
    ("put", "/models/iris/split", {"weights": [1, 2]}, 400, "weights"),
    ("put", "/models/iris/default", {"version": 5}, 409, "no such version"),
    ("put", "/models/iris/default", [1], 400, "JSON object"),
    ("post", "/models/diabetes/rollback", None, 409, "no usable version"),
    ("delete", "/models/iris/versions/7", None, 404, "no version 7"),
    ("delete", "/models/iris/versions/-1", None, 400, "positive integer"),
    ("delete", "/models/diabetes/versions/1", None, 409, "only version"),
    ("get", "/audit?limit=abc", None, 400, "limit"),
])
def test_refusals_are_json_with_the_right_status_and_change_nothing(api, model_store, method, path,
                                                                     body, status, message):
    before = {p: p.read_bytes() for p in model_store.rglob("config.json")}
    kwargs = {"json": body} if body is not None else {}
    r = getattr(api, method)(BASE + path, headers=basic(ADMIN), **kwargs)
    assert r.status_code == status, r.get_json()
    assert message in r.get_json()["error"]
    assert {p: p.read_bytes() for p in model_store.rglob("config.json")} == before


@pytest.mark.parametrize(("data", "status", "message"), [
    ("manifest-mismatch", 400, "features"),
    ("corrupt", 400, "refused"),
    ("no-artifact", 400, "exactly one"),
    ("not-multipart", 400, "multipart"),
])
def test_bad_uploads_over_http(api, model_store, data, status, message):
    manifest = json.loads((model_store / "iris" / "1" / "model.json").read_text())
    manifest["inputs"]["features"] = manifest["inputs"]["features"][:2]
    bodies = {
        "manifest-mismatch": {"data": upload(model_store, manifest=json.dumps(manifest).encode())},
        "corrupt": {"data": upload(model_store, artifact=b"\x00" * 64)},
        "no-artifact": {"data": {"manifest": upload(model_store)["manifest"]}},
        "not-multipart": {"json": {"manifest": "x"}},
    }
    r = api.post(f"{BASE}/models/iris/versions", headers=basic(ADMIN), **bodies[data])
    assert r.status_code == status
    assert message in r.get_json()["error"]
    assert not (model_store / "iris" / "3").exists()
    assert [p.name for p in (model_store / "iris").iterdir() if p.name.startswith(".")] == []


def test_oversized_upload_is_413(model_store, tmp_path):
    from tests.conftest import make_app

    api = make_app(model_store, tmp_path / "small", PUBLISH_MAX_CONTENT_LENGTH=2048).test_client()
    r = api.post(f"{BASE}/models/iris/versions", data=upload(model_store), headers=basic(ADMIN))
    assert r.status_code == 413
    assert "error" in r.get_json()


def test_lifecycle_needs_the_admin_role(api):
    assert api.get(f"{BASE}/audit").status_code == 401
    r = api.put(f"{BASE}/models/iris/labels/stable", json={"version": 1}, headers=basic(USER))
    assert r.status_code == 403
    assert "admin" in r.get_json()["error"]


def test_cli_commands(runner, model_store, tmp_path):
    def run(*args):
        result = runner.invoke(args=["models", *args])
        return result.exit_code, result.output

    assert run("publish", "iris", str(model_store / "iris" / "1")) == (0, "Published iris version 3\n")
    assert run("label", "iris", "stable", "3")[0] == 0
    assert run("label", "iris", "stable", "9") == (1, "Error: Cannot label 'stable' -> iris version 9: "
                                                      "no such version (stored: [1, 2, 3])\n")
    assert run("split", "iris", "2=60", "3=40")[0] == 0
    code, out = run("split", "iris", "2=60", "3=30")
    assert (code, "add up to 100" in out) == (1, True)
    assert run("split", "iris", "--clear")[0] == 0
    assert run("rollback", "iris") == (0, "iris: rolled back to version 2\n")
    assert run("default", "iris") == (0, "iris: default -> newest\n")
    assert run("unlabel", "iris", "stable")[0] == 0
    assert run("delete", "iris", "1") == (0, "iris: deleted version 1\n")
    assert run("unload", "wine")[0] == 0
    assert run("load", "wine")[0] == 0
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.json").write_bytes((model_store / "iris" / "2" / "model.json").read_bytes())
    (broken / "model.skops").write_bytes(b"garbage")
    code, out = run("publish", "iris", str(broken))
    assert code == 1
    assert "refused" in out
    code, out = run("audit", "--limit", "2")
    assert [json.loads(line)["action"] for line in out.splitlines()] == ["load", "unload"]
    assert json.loads(out.splitlines()[0])["user"].startswith("cli")
    assert run("list")[0] == 0
