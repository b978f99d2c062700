"""ROBUSTNESS.md rows 1-19 and 22-24 on /api/v1: bad bodies get a clean 4xx JSON error, never a 500.

Each case also checks that the same app answers a good prediction afterwards.
"""

from __future__ import annotations

import io
import json

import pytest

from tests.conftest import make_app
from tests.support.helpers import IRIS_FEATURES, IRIS_ROW, assert_clean_error, assert_still_serving

PREDICT = "/api/v1/models/iris:predict"
DIGITS = "/api/v1/models/digits:predict"


def post_raw(client, headers, body: bytes, content_type: str | None = "application/json",
             url: str = PREDICT):
    extra = {"Content-Type": content_type} if content_type else {}
    return client.post(url, data=body, headers={**headers, **extra})


@pytest.mark.parametrize(("body", "words"), [
    (b'{"instances": [[5.1, 3.5,', ("JSON Parse error",)),                     # 1 truncated
    (b'{"instances": [[5.1 3.5]]}', ("JSON Parse error",)),                    # 1 malformed
    (b"{'instances': []}", ("JSON Parse error",)),                             # 1 not JSON quotes
    (b"", ("empty",)),                                                         # 2
    (b"   \n\t ", ("empty",)),                                                 # 2
    (b"[[5.1, 3.5, 1.4, 0.2]]", ("JSON object", "list")),                      # 3
    (b'"instances"', ("JSON object", "str")),                                  # 3
    (b"42", ("JSON object", "int")),                                           # 3
    (b"null", ("JSON object", "NoneType")),                                    # 3
    (b"[" * 100_000 + b"]" * 100_000, ("nested too deeply",)),                 # 4
    (b'{"instances": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", ("nested",)),  # 4
    (b'{"instances": [[' + b"9" * 5000 + b", 1, 1, 1]]}", ("JSON Parse error",)),  # 5
    (b'{"instances": [[' + b"9" * 400 + b", 1, 1, 1]]}", ("out of range",)),      # 5
    (b'{"instances": [[5.1, 3.5, 1.4, 0.2]]}\xff\xfe', ("UTF-8",)),            # 6
    (b'{"instances": [[5.1, 3.5, 1.4, 0.2]]}\x00', ("JSON Parse error",)),     # 6 NUL
    (b'{"instan\x00ces": [[5.1, 3.5, 1.4, 0.2]]}', ("JSON Parse error",)),     # 6 NUL in a key
    (b"<instances><i>5.1</i></instances>", ("JSON Parse error",)),             # 7 xml
], ids=lambda v: repr(v)[:30] if isinstance(v, bytes) else None)
def test_unparseable_bodies(client, user_headers, body, words):
    assert_clean_error(post_raw(client, user_headers, body), 400, *words)
    assert_still_serving(client, user_headers)


@pytest.mark.parametrize("depth", [200, 900, 990])
def test_deep_but_parseable_nesting_is_refused_cleanly(client, user_headers, depth):
    """Row 4: nesting that the parser accepts must not blow the stack later (RecursionError → 500)."""
    body = b'{"instances": ' + b"[" * depth + b"1" + b"]" * depth + b"}"
    for url in (PREDICT, DIGITS):
        response = post_raw(client, user_headers, body, url=url)
        assert_clean_error(response, 400)
    assert_still_serving(client, user_headers)


@pytest.mark.parametrize("content_type", [
    "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1",
    "application/octet-stream", None,
])
def test_any_content_type_is_parsed_as_json(client, user_headers, content_type):
    """Row 7: TF Serving parses the body whatever the Content-Type; so does Podium."""
    body = json.dumps({"instances": [IRIS_ROW]}).encode()
    response = post_raw(client, user_headers, body, content_type)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert len(response.get_json()["predictions"]) == 1


@pytest.mark.parametrize(("doc", "words"), [
    ({}, ("Missing 'inputs' or 'instances'",)),                                            # 9
    ({"instances": [IRIS_ROW], "inputs": [IRIS_ROW]}, ("only one of",)),                   # 9
    ({"signature_name": "serving_default"}, ("Missing",)),                                 # 9
    ({"instances": [[5.1, 3.5, 1.4]]}, ("expects 4 features", "sepal length (cm)", "got 3")),  # 10
    ({"instances": [[5.1, 3.5, 1.4, 0.2, 9]]}, ("expects 4 features", "got 5")),           # 10
    ({"instances": [[IRIS_ROW]]}, ("expects 4 features", "got 1")),                        # 10 nesting
    ({"instances": IRIS_ROW}, ("Row 0",)),                                                 # 10 scalars
    ({"instances": [IRIS_ROW, [1.0, 2.0]]}, ("got 2 in row 1",)),                          # 11 ragged
    ({"instances": [["5.1", 3.5, 1.4, 0.2]]}, ("must be a number", "'5.1'")),              # 12
    ({"instances": [["setosa", 3.5, 1.4, 0.2]]}, ("must be a number",)),                   # 12
    ({"instances": [[True, 3.5, 1.4, 0.2]]}, ("must be a number", "True")),                # 12
    ({"instances": [[None, 3.5, 1.4, 0.2]]}, ("must be a number", "None")),                # 12
    ({"instances": [[{"a": 1}, 3.5, 1.4, 0.2]]}, ("must be a number",)),                   # 12
    ({"instances": [[[1], 3.5, 1.4, 0.2]]}, ("must be a number",)),                        # 12
    ({"instances": []}, ("non-empty",)),                                                   # 14
    ({"inputs": []}, ("empty",)),                                                          # 14
    ({"inputs": {name: [] for name in IRIS_FEATURES}}, ("empty",)),                        # 14
    ({"instances": "abc"}, ("non-empty list",)),
    ({"instances": [{"sepal length (cm)": 5.1, "bogus": 1}]}, ("unknown feature", "bogus")),  # 19
    ({"instances": [{"sepal length (cm)": 5.1}]}, ("missing feature", "sepal width (cm)")),  # 19
    ({"inputs": {"sepal length (cm)": [1], "bogus": [2]}}, ("unknown feature", "bogus")),   # 19
    ({"inputs": {"sepal length (cm)": [1, 2], "sepal width (cm)": [1]}}, ("same 0-th",)),   # 18-ish
    ({"instances": [IRIS_ROW], "signature_name": "nope"}, ("signature", "nope")),
])
def test_requests_that_do_not_fit_the_model(client, user_headers, doc, words):
    response = client.post(PREDICT, json=doc, headers=user_headers)
    assert_clean_error(response, 400, *words)
    assert_still_serving(client, user_headers)


def test_duplicate_names_in_an_object_are_refused(client, user_headers):
    """Row 19: a duplicated input name is ambiguous; refuse instead of keeping one silently."""
    body = (b'{"instances": [{"sepal length (cm)": 5.1, "sepal length (cm)": 9, "sepal width (cm)": 3.5,'
            b' "petal length (cm)": 1.4, "petal width (cm)": 0.2}]}')
    assert_clean_error(post_raw(client, user_headers, body), 400, "duplicate", "sepal length (cm)")
    body = b'{"instances": [[5.1, 3.5, 1.4, 0.2]], "instances": []}'
    assert_clean_error(post_raw(client, user_headers, body), 400, "duplicate", "instances")


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e999"])
def test_non_finite_numbers_are_parsed_then_refused_with_a_reason(client, user_headers, token):
    """Row 13: the REST grammar accepts them; the models cannot use them."""
    body = b'{"instances": [[5.1, ' + token + b', 1.4, 0.2]]}'
    assert_clean_error(post_raw(client, user_headers, body), 400, "sepal width (cm)", "finite")
    first_row = b"[" + token + b", 0, 0, 0, 0, 0, 0, 0]"
    image = b"[" + b", ".join([first_row] + [b"[0, 0, 0, 0, 0, 0, 0, 0]"] * 7) + b"]"
    body = b'{"instances": [' + image + b"]}"
    assert_clean_error(post_raw(client, user_headers, body, url=DIGITS), 400, "finite")
    assert_still_serving(client, user_headers)


@pytest.mark.parametrize(("doc", "words"), [
    ({"instances": [[[0] * 8] * 8, [[0] * 8] * 7]}, ("Ragged",)),                    # 11
    ({"instances": [[[0] * 7] * 8]}, ("shape", "8, 8, 1")),                           # 10
    ({"instances": [[["x"] * 8] * 8]}, ("numbers",)),                                 # 12
    ({"instances": [[[None] * 8] * 8]}, ("numbers",)),                                # 12
    ({"instances": [5]}, ("shape",)),                                                 # 10 scalars
])
def test_tensor_inputs_for_the_image_model(client, user_headers, doc, words):
    assert_clean_error(client.post(DIGITS, json=doc, headers=user_headers), 400, *words)
    assert_still_serving(client, user_headers)


def test_huge_batch_is_refused_before_work(client, user_headers, shared_app):
    """Rows 15-16: more rows than MAX_BATCH_ROWS → 413 naming the limit; nothing allocated per row."""
    limit = shared_app.config["MAX_BATCH_ROWS"]
    body = b'{"instances": [' + b",".join([b"[5.1,3.5,1.4,0.2]"] * (limit + 1)) + b"]}"
    assert_clean_error(post_raw(client, user_headers, body), 413, str(limit))
    body = b'{"instances": [' + b",".join([b"[]"] * 100_000) + b"]}"
    assert_clean_error(post_raw(client, user_headers, body), 413, "100000 rows")
    assert_still_serving(client, user_headers)


@pytest.fixture(scope="module")
def small_limit_app(demo_store, tmp_path_factory):
    """An app with a 64 kB body limit, to exercise rows 22-24 without 200 MB bodies."""
    return make_app(demo_store, tmp_path_factory.mktemp("small-limit"), MAX_CONTENT_LENGTH=64 * 1024)


def test_declared_content_length_over_the_limit(small_limit_app, user_headers):
    """Row 22: 413 from the header alone; the body is never read."""
    client = small_limit_app.test_client()
    stream = io.BytesIO(b'{"instances": [[5.1, 3.5, 1.4, 0.2]]}')
    response = client.post(PREDICT, input_stream=stream, headers=user_headers,
                           environ_overrides={"CONTENT_LENGTH": str(2**30)},
                           content_type="application/json")
    assert_clean_error(response, 413, "too large")
    assert stream.tell() == 0, "the body was read"
    assert_still_serving(client, user_headers)


def test_actual_body_over_the_limit(small_limit_app, user_headers):
    """Row 23: a real oversized body, JSON and multipart."""
    client = small_limit_app.test_client()
    body = b'{"instances": [' + b",".join([b"[5.1,3.5,1.4,0.2]"] * 5000) + b"]}"
    assert_clean_error(post_raw(client, user_headers, body), 413, "too large")
    upload = {"file": (io.BytesIO(b"\x89PNG" + b"\0" * 100_000), "digit.png")}
    response = client.post(DIGITS, data=upload, headers=user_headers, content_type="multipart/form-data")
    assert_clean_error(response, 413, "too large")
    assert_still_serving(client, user_headers)


def _chunked(client, headers, body: bytes):
    """A request without Content-Length, as a chunked body arrives from gunicorn."""
    return client.post(PREDICT, input_stream=io.BytesIO(body), headers=headers,
                       content_type="application/json",
                       environ_overrides={"wsgi.input_terminated": True,
                                          "HTTP_TRANSFER_ENCODING": "chunked"})


def test_chunked_body_gets_the_same_limits(small_limit_app, user_headers):
    """Row 24: valid JSON without Content-Length answers 200; an oversized one 413."""
    client = small_limit_app.test_client()
    good = _chunked(client, user_headers, json.dumps({"instances": [IRIS_ROW]}).encode())
    assert good.status_code == 200, good.get_data(as_text=True)
    assert len(good.get_json()["predictions"]) == 1
    big = b'{"instances": [' + b",".join([b"[5.1,3.5,1.4,0.2]"] * 5000) + b"]}"
    assert_clean_error(_chunked(client, user_headers, big), 413)
    assert_still_serving(client, user_headers)
