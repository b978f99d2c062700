"""A recommender or a chat published over HTTP: the upload API takes the files its manifest's `files`
lists as parts named after them, holds them to the same rules as any upload (plain names, the
listed set and nothing else, no pickles, the sandboxed trial), and the new version answers."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from tests.conftest import ADMIN, USER, basic, make_app
from tests.support.pages import csrf

BASE = "/api/v2/repository/models"


def folder_parts(folder: Path, **replaced: bytes) -> dict[str, tuple[io.BytesIO, str]]:
    """A version folder as an upload: manifest and artifact parts, every other file a part named after it.
    `replaced` swaps a file's content (None drops it); the client's file names are never trusted."""
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    files.update(replaced)
    artifact = json.loads(files["model.json"])["artifact"]
    roles = {"model.json": "manifest", artifact: "artifact"}
    return {roles.get(name, name): (io.BytesIO(content), "upload.bin")
            for name, content in files.items() if content is not None}


@pytest.fixture(scope="module")
def store(kinds_store, tmp_path_factory):
    """A copy of the kinds' store: publishing here leaves the session's store as it was."""
    copy = tmp_path_factory.mktemp("publish") / "store"
    shutil.copytree(kinds_store, copy)
    return copy


@pytest.fixture(scope="module")
def api(store, tmp_path_factory):
    return make_app(store, tmp_path_factory.mktemp("publish-instance")).test_client()


def publish(api, name: str, parts: dict | list):
    """POST the parts, encoded here in memory (the test client would spool a large body to a temp
    file it never closes)."""
    pairs = parts.items() if isinstance(parts, dict) else parts
    files = MultiDict([(key, FileStorage(stream, filename, key)) for key, (stream, filename) in pairs])
    boundary, body = encode_multipart(files)
    return api.post(f"{BASE}/{name}/versions", data=body, headers=basic(ADMIN),
                    content_type=f"multipart/form-data; boundary={boundary}")


def test_the_demo_recommender_published_over_http_answers_as_a_new_version(api, store):
    published = publish(api, "movies", folder_parts(store / "movies" / "3"))
    assert (published.status_code, published.get_json()) == (201, {"name": "movies", "version": 4})
    assert sorted(p.name for p in (store / "movies" / "4").iterdir()) == sorted(
        p.name for p in (store / "movies" / "3").iterdir())
    api.application.extensions["podium.service"].refresh()
    body = {"instances": [{"user": "u0042", "k": 3}]}
    new = api.post("/api/v1/models/movies/versions/4:predict", json=body, headers=basic(USER))
    old = api.post("/api/v1/models/movies/versions/3:predict", json=body, headers=basic(USER))
    assert new.status_code == 200, new.get_json()
    assert new.get_json() == old.get_json()
    assert len(new.get_json()["predictions"][0]["items"]) == 3


def test_the_demo_chat_published_over_http_answers_as_a_new_version(api, store):
    assert publish(api, "helpdesk", folder_parts(store / "helpdesk" / "1")).status_code == 201
    api.application.extensions["podium.service"].refresh()
    reply = api.post("/openai/v1/chat/completions", headers=basic(USER), json={
        "model": "helpdesk", "messages": [{"role": "user", "content": "How do I roll back a version?"}]})
    assert reply.status_code == 200, reply.get_json()
    assert reply.headers["X-Model-Version"] == "2"
    assert reply.get_json()["choices"][0]["message"]["annotations"][0]["url_citation"]["url"].startswith(
        "docs/lifecycle.md#")


def pickled_array() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, idf=np.array([{"runs": "code"}], dtype=object))
    return buffer.getvalue()


def listing(extra: str) -> bytes:
    return lambda manifest: json.dumps({**manifest, "files": [*manifest["files"], extra]}).encode()


REFUSALS = {
    "a listed file missing": (lambda m: {"passages.json": None}, "lists 'passages.json'"),
    "a file the manifest does not list": (lambda m: {"notes.txt": b"hello"}, "Unexpected files"),
    "a part named as a path": (lambda m: {"../idf.npz": b"x"}, "plain names"),
    "a listed path": (lambda m: {"model.json": listing("../outside.json")(m)}, "plain file names"),
    "a listed pickle": (lambda m: {"model.json": listing("extra.pkl")(m), "extra.pkl": b"x"}, "pickle"),
    "a pickle inside an array file": (lambda m: {"idf.npz": pickled_array()}, "refused"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_refused_uploads_are_clear_400s_and_publish_nothing(api, store, case):
    folder = store / "helpdesk" / "1"
    changes, words = REFUSALS[case]
    manifest = json.loads((folder / "model.json").read_text())
    before = sorted(p.name for p in (store / "helpdesk").iterdir())
    refused = publish(api, "helpdesk", folder_parts(folder, **changes(manifest)))
    assert refused.status_code == 400, refused.get_json()
    assert words in refused.get_json()["error"]
    assert sorted(p.name for p in (store / "helpdesk").iterdir()) == before


def test_a_part_sent_twice_is_refused(api, store):
    parts = folder_parts(store / "helpdesk" / "1")
    twice = [*parts.items(), ("passages.json", (io.BytesIO(b"[]"), "again.json"))]
    refused = publish(api, "helpdesk", twice)
    assert refused.status_code == 400
    assert "'passages.json' more than once" in refused.get_json()["error"]


def test_the_admin_pages_form_publishes_a_chat_with_its_other_files(store, tmp_path):
    page = make_app(store, tmp_path / "page").test_client()
    page.post("/login", data={"csrf_token": csrf(page.get("/login").text), "username": ADMIN[0],
                              "password": ADMIN[1]})
    folder = store / "helpdesk" / "1"

    def form(leave_out: str = "") -> dict:  # fresh streams each time: the test client closes them
        others = [(io.BytesIO(p.read_bytes()), p.name) for p in sorted(folder.iterdir())
                  if p.name not in ("model.json", "index.npz", leave_out)]
        return {"csrf_token": csrf(page.get("/admin").text), "name": "helpdesk", "files": others,
                "manifest": (io.BytesIO((folder / "model.json").read_bytes()), "model.json"),
                "artifact": (io.BytesIO((folder / "index.npz").read_bytes()), "index.npz")}

    refused = page.post("/admin/publish", data=form(leave_out="passages.json"))
    assert refused.status_code == 400
    assert "lists &#39;passages.json&#39;" in refused.text
    published = page.post("/admin/publish", data=form(), follow_redirects=True)
    assert "Published helpdesk version" in published.text
