"""The skops allowlist: every model kind we tell people to export loads; anything else is refused
by name; an operator's PODIUM_TRUSTED_TYPES admits one model's extra types, logged and audited."""

from __future__ import annotations

import importlib
import io
import json

import numpy as np
import pytest
import skops.io as sio

from tests.conftest import ADMIN, basic
from tests.serving.conftest import make_iris_app
from tests.serving.hostile_artifacts import manifest
from webapp.serving.errors import InvalidInput
from webapp.serving.loaded import State
from webapp.serving.models.store import ModelStore
from webapp.serving.runtimes.sklearn_runtime import load_skops
from webapp.serving.runtimes.skops_allowlist import TRUSTED_TYPES
from webapp.serving.runtimes.skops_types import names_in_schema, parse_extension


def _iris():
    from sklearn.datasets import load_iris

    return load_iris(return_X_y=True)


def _exported_kinds():
    """The README's export example, the demos' models, and other common numeric estimators."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler
    from sklearn.svm import SVC

    cancer = load_breast_cancer()
    x, y = _iris()
    yield "readme-random-forest", RandomForestClassifier(n_estimators=100, random_state=0).fit(
        cancer.data, cancer.target), cancer.data[:5]
    yield "scaler-logistic", make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y), x
    yield "random-forest", RandomForestClassifier(n_estimators=50, random_state=0).fit(x, y), x
    yield "gradient-boosting", GradientBoostingRegressor(n_estimators=20, max_depth=2).fit(x, x[:, 0]), x
    yield "gb-classifier", GradientBoostingClassifier(n_estimators=5).fit(x, y), x
    yield "svc", make_pipeline(FunctionTransformer(np.log1p), SVC()).fit(x, y), x
    yield "mlp", MLPClassifier(max_iter=50, random_state=0).fit(x, y), x
    yield "knn-brute", KNeighborsClassifier(algorithm="brute").fit(x, y), x


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_every_model_kind_we_tell_people_to_export_loads_and_predicts_the_same(tmp_path):
    for kind, model, rows in _exported_kinds():
        path = tmp_path / f"{kind}.skops"
        sio.dump(model, path)
        loaded, by_operator = load_skops(str(path))
        assert by_operator == [], kind
        np.testing.assert_array_equal(loaded.predict(rows), model.predict(rows), err_msg=kind)


def test_every_allowlisted_name_is_exact_and_exists():
    for name in TRUSTED_TYPES:
        module, _, attr = name.rpartition(".")
        try:
            found = getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError:  # numpy.random.mtrand.RandomState and friends
            parent, _, owner = module.rpartition(".")
            found = getattr(getattr(importlib.import_module(parent), owner), attr)
        assert found is not None, name


@pytest.mark.parametrize(("make", "named"), [
    (lambda: __import__("sklearn.neighbors").neighbors.KNeighborsClassifier(), "KDTree"),
    (lambda: __import__("sklearn.ensemble").ensemble.HistGradientBoostingClassifier(max_iter=3),
     "TreePredictor"),
])
def test_stores_whose_indices_go_unchecked_are_refused_by_name(tmp_path, make, named):
    path = tmp_path / "m.skops"
    sio.dump(make().fit(*_iris()), path)
    with pytest.raises(InvalidInput, match=named):
        load_skops(str(path))


def test_a_bound_method_is_named_with_its_owner():
    schema = {"__class__": "Pipeline", "__module__": "sklearn.pipeline", "__loader__": "ObjectNode",
              "content": {"__class__": "Evil", "__module__": "evil", "__loader__": "MethodNode",
                          "content": {"func": "run", "obj": {}}}}
    assert {"evil.Evil", "evil.Evil.run", "sklearn.pipeline.Pipeline"} <= names_in_schema(schema)


@pytest.mark.parametrize("value", ['["a"]', '{"m": "pkg.T"}', '{"m": [1]}', "[]"])
def test_a_malformed_extension_is_refused_at_start(value):
    with pytest.raises(ValueError, match="TRUSTED_TYPES"):
        parse_extension(value)


def _knn_files() -> dict[str, bytes]:
    from sklearn.neighbors import KNeighborsClassifier

    return {"model.json": manifest("sklearn", "model.skops"),
            "model.skops": sio.dumps(KNeighborsClassifier().fit(*_iris()))}


def test_an_operator_extension_admits_one_model_and_every_use_is_audited(demo_store, tmp_path):
    kdtree = "sklearn.neighbors._kd_tree.KDTree"
    app = make_iris_app(demo_store, tmp_path, TRUSTED_TYPES=json.dumps({"knn": [kdtree]}))
    client, files = app.test_client(), _knn_files()
    upload = {"manifest": (io.BytesIO(files["model.json"]), "model.json"),
              "artifact": (io.BytesIO(files["model.skops"]), "model.skops")}
    r = client.post("/api/v2/repository/models/knn/versions", data=upload, headers=basic(ADMIN))
    assert r.status_code == 201, r.get_json()
    upload = {"manifest": (io.BytesIO(files["model.json"]), "model.json"),
              "artifact": (io.BytesIO(files["model.skops"]), "model.skops")}
    r = client.post("/api/v2/repository/models/other/versions", data=upload, headers=basic(ADMIN))
    assert r.status_code == 400  # the extension admits only the model it names
    assert kdtree in r.get_json()["error"]

    service = app.extensions["podium.service"]
    assert service.model("knn").versions[1].state is State.AVAILABLE
    audit = app.extensions["podium.lifecycle"].audit()
    publish = [e for e in audit if e["action"] == "publish"]
    assert publish[0]["operator_types"] == [kdtree]
    loads = [e for e in audit if e["action"] == "load_trusted_types"]
    assert len(loads) == 1  # one entry, though the worker loaded it after the publish
    assert loads[0]["types"] == [kdtree]
    assert loads[0]["version"] == 1

    ModelStore(service.store.root).publish("knn", files)  # a second version, dropped by hand
    service.refresh()
    assert service.model("knn").versions[2].state is State.AVAILABLE
    loads = [e for e in app.extensions["podium.lifecycle"].audit() if e["action"] == "load_trusted_types"]
    assert sorted(e["version"] for e in loads) == [1, 2]
