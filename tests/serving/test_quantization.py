"""Verified quantization: quantized TFLite forms serve only within the budget, and say so."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ADMIN, USER, basic, make_app
from tests.support.pages import accessibility_problems, csrf
from tests.support.quantized import ALL_FORMS, THIN, WIDE, linear_classifier, set_accelerate
from webapp.serving.acceleration.convert import CACHE, VERDICT
from webapp.serving.errors import InvalidInput
from webapp.serving.models.quantize_plan import QuantizePlan, effective_plan, parse_accelerate, parse_forms
from webapp.serving.models.spec import load_manifest
from webapp.serving.runtimes import load_runtime
from webapp.serving.service import ModelService, ServingOptions, Target

PREFERENCE = ("int8", "dynamic", "float16")


@pytest.fixture(scope="module")
def quantized_store(demo_store: Path, tmp_path_factory) -> Path:
    """The digits CNN and two tiny classifiers, all opted in to every form, converted once."""
    root = tmp_path_factory.mktemp("quantized-store")
    shutil.copytree(demo_store / "digits", root / "digits")
    set_accelerate(root / "digits" / "1", ALL_FORMS)
    linear_classifier(root / "wide" / "1", WIDE, ALL_FORMS)
    linear_classifier(root / "thin" / "1", THIN, ALL_FORMS)
    ModelService(str(root)).refresh()
    return root


@pytest.fixture(scope="module")
def api(quantized_store: Path, tmp_path_factory):
    return make_app(quantized_store, tmp_path_factory.mktemp("instance")).test_client()


def podium(api, name: str) -> dict:
    r = api.get(f"/api/v1/models/{name}/metadata", headers=basic(USER))
    assert r.status_code == 200, r.get_json()
    return r.get_json()["podium"]


def test_the_digits_cnn_serves_the_preferred_accepted_form_and_records_every_verdict(api):
    meta = podium(api, "digits")
    acceleration, forms = meta["acceleration"], meta["acceleration"]["quantization"]["forms"]
    assert list(forms) == list(PREFERENCE)
    for figures in forms.values():
        within = figures["agreement"] >= 0.99 and figures["accuracy_drop"] <= 0.005
        assert figures["accepted"] is within, figures
        assert figures["bytes"] > 0
    served = acceleration["form"]
    accepted = [f for f in PREFERENCE if forms[f]["accepted"]]
    assert accepted, forms  # dynamic and float16 agree on every held-out row here
    assert served == next(f for f in accepted if forms[f].get("note") != "slower than the float path")
    assert meta["call_path"] == f"tflite {served} (ai-edge-litert)"
    assert forms[served]["bytes"] < acceleration["quantization"]["float32"]["bytes"]
    assert f"{served} form: top-1 agreement" in acceleration["reason"]


def test_an_int8_form_that_misses_the_budget_is_refused_and_says_why(api):
    acceleration = podium(api, "thin")["acceleration"]
    int8 = acceleration["quantization"]["forms"]["int8"]
    assert int8["accepted"] is False
    assert int8["agreement"] < 0.99
    assert int8["disagreements"] > 0
    assert "top-1 agreement" in int8["reason"]
    assert "below 99.00%" in int8["reason"]
    assert acceleration["form"] != "int8"


@pytest.mark.parametrize("name", ["digits", "wide", "thin"])
def test_the_served_form_answers_within_the_budget_through_the_api(api, quantized_store, name):
    held = json.loads((quantized_store / name / "1" / "heldout.json").read_text())
    r = api.post(f"/api/v1/models/{name}:predict", json={"instances": held["x"]}, headers=basic(USER))
    assert r.status_code == 200, r.get_json()
    answers = np.asarray(r.json["predictions"])
    assert np.all((answers >= 0) & (answers <= 1))
    np.testing.assert_allclose(answers.sum(axis=1), 1.0, atol=0.02)
    spec = load_manifest(quantized_store / name / "1", name, 1)
    reference = load_runtime(spec).run(np.asarray(held["x"], dtype=np.float32))
    top, float_top, y = answers.argmax(axis=1), reference.argmax(axis=1), np.asarray(held["y"])
    assert (top == float_top).mean() >= 0.99
    assert (float_top == y).mean() - (top == y).mean() <= 0.005
    assert r.headers.get("X-Model-Version") == "1"


def test_an_accepted_int8_form_serves_with_its_inputs_and_outputs_scaled(api):
    meta = podium(api, "wide")
    assert meta["acceleration"]["form"] == "int8"
    assert meta["call_path"] == "tflite int8 (ai-edge-litert)"
    r = api.post("/api/v1/models/wide:predict", json={"instances": [[0.9, 0.0], [-0.9, 0.5]]},
                 headers=basic(USER))
    pos, neg = r.json["predictions"]
    assert pos[1] > 0.99, pos
    assert neg[0] > 0.99, neg


def test_stats_show_the_served_form_and_the_refusals(api):
    doc = api.get("/api/stats", headers=basic(ADMIN)).get_json()
    thin = doc["models"]["thin"]["versions"]["1"]
    assert thin["call_path"].startswith("tflite ")
    assert thin["acceleration"]["quantization"]["forms"]["int8"]["accepted"] is False


def verdict_time(version: Path) -> int:
    return (version / CACHE / VERDICT).stat().st_mtime_ns


def test_a_changed_plan_converts_again_and_an_unchanged_one_does_not(tmp_path):
    version = linear_classifier(tmp_path / "store" / "thin" / "1", THIN)

    def status(**options):
        """The version as a freshly started worker with these options loads it."""
        svc = ModelService(str(tmp_path / "store"), ServingOptions(**options))
        svc.refresh()
        return svc.version(Target("thin", 1))

    plain = status()
    assert plain.call_path == "tflite (ai-edge-litert)"
    assert "quantization" not in plain.acceleration
    first = verdict_time(version)
    chosen = status(quantize=("dynamic", "int8"))
    assert verdict_time(version) != first, "a new setting must convert again"
    assert list(chosen.acceleration["quantization"]["forms"]) == ["int8", "dynamic"]
    again = verdict_time(version)
    status(quantize=("dynamic", "int8"))
    assert verdict_time(version) == again, "the same plan must reuse the cache"
    set_accelerate(version, {"quantize": ["float16"]})
    manifest_plan = status(quantize=("dynamic", "int8"))
    assert list(manifest_plan.acceleration["quantization"]["forms"]) == ["float16"]
    assert manifest_plan.call_path == "tflite float16 (ai-edge-litert)"


def test_plans_from_manifests_and_the_setting():
    assert parse_forms(True) == PREFERENCE
    assert parse_forms("float16, int8") == ("int8", "float16")
    assert parse_forms(False) == parse_forms([]) == ()
    assert parse_accelerate(None) is None
    assert parse_accelerate({"quantize": ["dynamic"]}) == QuantizePlan(("dynamic",))
    stricter = parse_accelerate({"min_agreement": 1.0})
    assert effective_plan(stricter, ("int8",)) == QuantizePlan(("int8",), 1.0)
    assert effective_plan(parse_accelerate({"quantize": []}), ("int8",)).forms == ()
    for bad in ({"quantize": ["int4"]}, {"min_agreement": 0.9}, {"max_accuracy_drop": 0.05},
                {"quantise": ["int8"]}, "fast", {"quantize": "int8"}):
        with pytest.raises(InvalidInput):
            parse_accelerate(bad)


def test_a_manifest_that_loosens_the_budget_is_refused_at_publish(app, model_store):
    folder = model_store / "wine" / "1"
    manifest = {**json.loads((folder / "model.json").read_text()),
                "accelerate": {"quantize": ["int8"], "max_accuracy_drop": 0.02}}
    r = app.test_client().post(
        "/api/v2/repository/models/wine/versions", headers=basic(ADMIN),
        data={"manifest": (io.BytesIO(json.dumps(manifest).encode()), "model.json"),
              "artifact": (io.BytesIO((folder / "model.keras").read_bytes()), "model.keras")})
    assert r.status_code == 400, r.get_json()
    assert "max_accuracy_drop" in r.get_json()["error"]
    assert not (model_store / "wine" / "2").exists()


def form_row(html: str, form: str) -> str:
    """The text of one form's row in the first quantization table of a page."""
    start = html.index(f'data-form="{form}"')
    return html[start:html.index("</tr>", start)]


def test_the_model_page_shows_the_served_form_its_figures_and_the_refusals(api):
    page = api.get("/models/thin").text
    assert accessibility_problems(page) == []
    served = podium(api, "thin")["acceleration"]["form"]
    assert f"<code>tflite {served} (ai-edge-litert)</code>" in page
    assert "serves" in form_row(page, served)
    refused = form_row(page, "int8")
    assert "refused" in refused
    assert "top-1 agreement 84.38% is below 99.00%" in refused
    assert "84.38%" in refused
    assert "15.62 points" in refused
    assert "KiB" in refused


def test_the_admin_page_shows_each_version_served_as(api):
    admin = api.application.test_client()
    token = csrf(admin.get("/login").text)
    admin.post("/login", data={"csrf_token": token, "username": ADMIN[0], "password": ADMIN[1]})
    page = admin.get("/admin").text
    assert accessibility_problems(page) == []
    assert "Served as" in page
    assert "<code>tflite int8 (ai-edge-litert)</code>" in page  # wide
    assert "refused" in form_row(page[page.index('id="model-thin"'):], "int8")


def test_the_setting_makes_quantization_the_default_and_a_bad_one_stops_the_start(tmp_path):
    linear_classifier(tmp_path / "store" / "wide" / "1", WIDE)
    app = make_app(tmp_path / "store", tmp_path / "instance", QUANTIZE="int8")
    meta = podium(app.test_client(), "wide")
    assert meta["call_path"] == "tflite int8 (ai-edge-litert)"
    assert meta["acceleration"]["quantization"]["plan"]["forms"] == ["int8"]
    with pytest.raises(InvalidInput, match="PODIUM_QUANTIZE names unknown forms"):
        make_app(tmp_path / "store", tmp_path / "other", QUANTIZE=["int4"])


@pytest.mark.integration
def test_gunicorn_workers_serve_the_quantized_forms_without_tensorflow_or_sklearn(quantized_store, tmp_path):
    import requests

    from tests.support.server import gunicorn

    store = tmp_path / "store"
    for name in ("digits", "wide"):
        shutil.copytree(quantized_store / name, store / name)  # the cache comes along, still valid
    with gunicorn(store, tmp_path / "instance", {"admin": ADMIN, "user": USER}) as server:
        for name in ("digits", "wide"):
            held = json.loads((store / name / "1" / "heldout.json").read_text())
            r = requests.post(f"{server.url}/api/v1/models/{name}:predict", auth=USER,
                              json={"instances": held["x"]}, timeout=30)
            assert r.status_code == 200, r.text
            accuracy = (np.argmax(r.json()["predictions"], axis=1) == held["y"]).mean()
            verdict = json.loads((store / name / "1" / CACHE / VERDICT).read_text())
            assert accuracy >= verdict["quantization"]["float_accuracy"] - 0.005, (name, accuracy)
        seen = {}
        for _ in range(20):
            doc = requests.get(server.url + "/api/stats", auth=ADMIN, timeout=10,
                               headers={"Connection": "close"}).json()
            seen[doc["process"]["pid"]] = doc
    for doc in seen.values():
        assert doc["models"]["wide"]["versions"]["1"]["call_path"] == "tflite int8 (ai-edge-litert)"
        assert doc["models"]["digits"]["versions"]["1"]["call_path"].startswith("tflite ")
        assert "tensorflow" not in doc["process"]["frameworks"]
        assert "sklearn" not in doc["process"]["frameworks"]
