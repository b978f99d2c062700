"""The film recommender through TF Serving's `:predict`, the Open Inference Protocol and the CLI: the same
answers in each protocol's shape, cold starts, and each protocol's 400 for what a caller gets wrong."""

from __future__ import annotations

import json

import pytest

from tests.conftest import USER, basic

V1, V2 = "/api/v1/models/movies", "/api/v2/models/movies"
AUTH = basic(USER)


def v1(client, body, path=":predict"):
    return client.post(V1 + path, json=body, headers=AUTH)


def history(store, user):
    ids = json.loads((store / "movies" / "3" / "ids.json").read_text())
    import scipy.sparse as sp

    from webapp.serving.arrays import load_csr

    matrix: sp.csr_matrix = load_csr(store / "movies" / "3" / "interactions.npz")
    row = matrix[ids["users"].index(user)]
    return {ids["items"][i] for i in row.indices}


def test_top_k_for_known_users_leaves_out_what_they_have_seen(kclient, kinds_store):
    response = v1(kclient, {"instances": [{"user": "u0042", "k": 5}, "u0007"]})
    assert response.status_code == 200, response.text
    assert response.headers["X-Model-Version"] == "3"
    first, second = response.get_json()["predictions"]
    assert len(first["items"]) == len(first["names"]) == len(first["scores"]) == 5
    assert first["scores"] == sorted(first["scores"], reverse=True)
    assert first["basis"] == "history"
    assert len(second["items"]) == 10
    assert not set(first["items"]) & history(kinds_store, "u0042")
    assert first["names"][0].endswith(")")  # "The Silent Harbour (Drama)"


def test_a_version_can_be_named_and_methods_differ(kclient):
    doc = kclient.post(V1 + "/versions/2:predict", json={"instances": ["u0042"]}, headers=AUTH)
    assert doc.headers["X-Model-Version"] == "2"
    latest = v1(kclient, {"instances": ["u0042"]}).get_json()["predictions"][0]
    assert doc.get_json()["predictions"][0]["items"] != latest["items"]


def test_cold_starts_popular_items_or_items_sent_with_the_request(kclient):
    body = {"instances": [{"user": "newcomer", "k": 5}, {"items": ["i001", "i002"], "k": 5}]}
    unknown, picks = v1(kclient, body).get_json()["predictions"]
    assert unknown["basis"] == "popular"
    assert len(unknown["items"]) == 5
    assert picks["basis"] == "items"
    assert not {"i001", "i002"} & set(picks["items"])
    both = v1(kclient, {"instances": [{"user": "newcomer", "items": ["i001", "i002"], "k": 5}]})
    assert both.get_json()["predictions"][0] == picks


def test_similar_items_is_a_second_signature(kclient):
    body = {"signature_name": "similar_items", "instances": [{"item": "i010", "k": 4}, "i011"]}
    first, second = v1(kclient, body).get_json()["predictions"]
    assert first["basis"] == "item"
    assert len(first["items"]) == 4
    assert "i010" not in first["items"]
    assert len(second["items"]) == 10
    assert "i011" not in second["items"]


@pytest.mark.parametrize(("body", "words"), [
    ({"instances": [{"user": "u0042", "k": 0}]}, "k must be a whole number from 1 to 100"),
    ({"instances": [{"user": "u0042", "k": 101}]}, "k must be a whole number"),
    ({"instances": [{"user": "u0042", "k": "ten"}]}, "k must be a whole number"),
    ({"instances": [{"items": ["i001", "nope"]}]}, "Unknown item ids: 'nope'"),
    ({"signature_name": "similar_items", "instances": ["nope"]}, "Unknown item ids: 'nope'"),
    ({"signature_name": "similar_items", "instances": [{"user": "u0042"}]}, "needs an 'item'"),
    ({"instances": [{"item": "i001"}]}, "signature_name 'similar_items'"),
    ({"signature_name": "nearest", "instances": ["u0042"]}, 'signature name: "nearest" not found'),
    ({"instances": []}, "non-empty list"),
    ({"instances": [{"uesr": "u0042"}]}, "Unknown field 'uesr'"),
    ({"instances": [42]}, "an id string or an object"),
    ({"inputs": {"user": ["u0042"]}}, "takes 'instances'"),
])
def test_bad_calls_answer_tf_servings_400(kclient, body, words):
    response = v1(kclient, body)
    assert response.status_code == 400, response.text
    assert words in response.get_json()["error"]


def test_metadata_names_both_signatures(kclient):
    doc = kclient.get(V1 + "/metadata", headers=AUTH).get_json()
    signatures = doc["metadata"]["signature_def"]["signature_def"]
    assert set(signatures) == {"serving_default", "similar_items"}
    assert signatures["similar_items"]["inputs"]["item"]["dtype"] == "DT_STRING"
    assert set(signatures["serving_default"]["outputs"]) == {"items", "scores"}
    assert kclient.get(V2, headers=AUTH).get_json()["platform"] == "podium_recommend"


def test_classify_and_a_chat_model_are_refused(kclient):
    assert v1(kclient, {"examples": [{"user": "u0042"}]}, ":classify").status_code == 400
    response = kclient.post("/api/v1/models/helpdesk:predict", json={"instances": ["hi"]}, headers=AUTH)
    assert response.status_code == 400
    assert "/openai/v1/chat/completions" in response.get_json()["error"]


def infer(client, name, ids, path=V2, **params):
    body = {"inputs": [{"name": name, "datatype": "BYTES", "shape": [len(ids)], "data": ids}]}
    if params:
        body["parameters"] = params
    return client.post(path + "/infer", json=body, headers=AUTH)


def test_v2_answers_items_and_scores_n_by_k(kclient):
    response = infer(kclient, "user", ["u0042", "newcomer"], k=4)
    assert response.status_code == 200, response.text
    items, scores = response.get_json()["outputs"]
    assert (items["name"], items["datatype"], items["shape"]) == ("items", "BYTES", [2, 4])
    assert (scores["name"], scores["datatype"], scores["shape"]) == ("scores", "FP32", [2, 4])
    same = v1(kclient, {"instances": [{"user": "u0042", "k": 4}]}).get_json()["predictions"][0]
    assert items["data"][:4] == same["items"]
    assert scores["data"][:4] == pytest.approx(same["scores"], rel=1e-5)


def test_v2_similar_items_and_metadata(kclient):
    items = infer(kclient, "item", ["i010"], k=3).get_json()["outputs"][0]
    assert items["shape"] == [1, 3]
    assert "i010" not in items["data"]
    meta = kclient.get(V2, headers=AUTH).get_json()
    assert [t["name"] for t in meta["inputs"]] == ["user", "item"]
    assert [t["name"] for t in meta["outputs"]] == ["items", "scores"]
    assert meta["podium"]["task"] == "recommendation"


@pytest.mark.parametrize(("call", "words"), [
    (lambda c: infer(c, "user", ["u0042"], k=0), "k must be a whole number"),
    (lambda c: infer(c, "user", ["u0042"], k=True), "k must be a whole number"),
    (lambda c: infer(c, "item", ["nope"]), "Unknown item ids"),
    (lambda c: infer(c, "who", ["u0042"]), "one BYTES input named 'user'"),
    (lambda c: infer(c, "user", ["u0042"], exclude_seen="yes"), "exclude_seen must be true or false"),
    (lambda c: c.post(V2 + "/infer", headers=AUTH, json={"inputs": [
        {"name": "user", "datatype": "FP32", "shape": [1], "data": [1.0]}]}), "must be BYTES"),
    (lambda c: infer(c, "user", ["hi"], path="/api/v2/models/helpdesk"), "/openai/v1/chat/completions"),
])
def test_v2_bad_calls_answer_400(kclient, call, words):
    response = call(kclient)
    assert response.status_code == 400, response.text
    assert words in response.get_json()["error"]


def test_the_cli_recommends_and_finds_similar_items(kinds_app):
    runner = kinds_app.test_cli_runner()
    result = runner.invoke(args=["models", "recommend", "movies", "u0042", "-k", "3"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "# movies/3 (history)"
    assert len(lines) == 4
    result = runner.invoke(args=["models", "similar", "movies", "i010", "-k", "2"])
    assert result.exit_code == 0
    assert len(result.output.splitlines()) == 3
    result = runner.invoke(args=["models", "recommend", "movies", "--items", "i001,i002", "-k", "2"])
    assert "(items)" in result.output
    result = runner.invoke(args=["models", "recommend", "movies", "u0042", "-k", "0"])
    assert result.exit_code == 1
    assert "k must be a whole number" in result.output


def test_the_cli_asks_the_chat_and_checks_every_version(kinds_app):
    runner = kinds_app.test_cli_runner()
    result = runner.invoke(args=["models", "chat", "helpdesk", "How do I roll back a model?"])
    assert result.exit_code == 0, result.output
    assert "source: docs/lifecycle.md#" in result.output
    assert "tokens:" in result.output
    result = runner.invoke(args=["models", "check"])
    assert result.exit_code == 0, result.output
    assert "ok    movies/3 via recommend" in result.output
    assert "ok    helpdesk/1 via retrieval" in result.output


def test_both_kinds_publish_through_the_cli_with_their_sandboxed_trial(kinds_store, tmp_path):
    from tests.conftest import make_app

    (tmp_path / "store").mkdir()
    app = make_app(tmp_path / "store", tmp_path / "instance")
    runner = app.test_cli_runner()
    for name, folder in (("films", kinds_store / "movies" / "2"), ("help", kinds_store / "helpdesk" / "1")):
        result = runner.invoke(args=["models", "publish", name, str(folder)])
        assert result.exit_code == 0, result.output
    result = runner.invoke(args=["models", "recommend", "films", "u0042", "-k", "2"])
    assert result.output.splitlines()[0] == "# films/1 (history)"
    stray = tmp_path / "stray"
    stray.mkdir()
    for part in (kinds_store / "movies" / "2").iterdir():
        (stray / part.name).write_bytes(part.read_bytes())
    (stray / "notes.txt").write_text("not declared in the manifest's files")
    result = runner.invoke(args=["models", "publish", "films", str(stray)])
    assert result.exit_code == 1
    assert "Unexpected files in the upload: ['notes.txt']" in result.output
