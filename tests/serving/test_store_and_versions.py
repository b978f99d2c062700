"""The model store on disk: atomic publish and config writes, and the version/label rules."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from tests.support.helpers import version_files
from webapp.serving.errors import Conflict, InvalidInput, ModelNotFound
from webapp.serving.models.store import ModelStore
from webapp.serving.models.versions import labels_of, parse_split, parse_version, versions_to_serve


def _files(store_root: Path, name: str = "iris", version: int = 1) -> dict[str, bytes]:
    return version_files(store_root / name / str(version))


def test_scan_sees_complete_versions_only(model_store):
    store = ModelStore(model_store)
    (model_store / "iris" / ".staging-abc").mkdir()
    (model_store / "iris" / ".staging-abc" / "model.json").write_text("{}")
    (model_store / "iris" / "7").mkdir()  # no manifest yet: not a version
    (model_store / "iris" / "0").mkdir()
    (model_store / "iris" / "0" / "model.json").write_text("{}")
    (model_store / "iris" / "x1").mkdir()
    (model_store / ".trash").mkdir()
    (model_store / "bad name!").mkdir()
    scanned = store.scan()
    assert sorted(scanned) == ["diabetes", "digits", "helpdesk", "iris", "movies", "wine"]
    assert list(scanned["iris"].versions) == [1, 2]


def test_publish_takes_the_next_number_and_leaves_no_staging(model_store):
    store = ModelStore(model_store)
    assert store.publish("iris", _files(model_store)) == 3
    assert sorted(p.name for p in (model_store / "iris").iterdir()) == ["1", "2", "3"]
    assert _files(model_store, "iris", 3) == _files(model_store, "iris", 1)
    assert store.publish("newmodel", _files(model_store)) == 1


def test_publish_to_an_existing_version_is_a_conflict(model_store):
    store = ModelStore(model_store)
    with pytest.raises(Conflict, match="already exists"):
        store.publish("iris", _files(model_store), version=2)
    assert [p.name for p in (model_store / "iris").iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("filename", ["../evil.py", "sub/model.json", ".hidden", "..\\x"])
def test_publish_refuses_file_names_that_escape(model_store, filename):
    store = ModelStore(model_store)
    with pytest.raises(InvalidInput, match="Refusing file name"):
        store.publish("iris", {"model.json": b"{}", filename: b"x"})
    assert sorted(p.name for p in (model_store / "iris").iterdir()) == ["1", "2"]
    assert not (model_store / "evil.py").exists()


@pytest.mark.parametrize("name", ["../x", "..", ".hidden", "a/b", "", "x" * 65, "é"])
def test_model_names_are_validated_before_any_path(model_store, name):
    with pytest.raises(InvalidInput, match="Model name"):
        ModelStore(model_store).model_dir(name)


def test_concurrent_publishers_get_distinct_numbers_and_readers_never_see_half_a_version(model_store):
    store = ModelStore(model_store)
    files = _files(model_store)
    results: list[int] = []
    problems: list[str] = []
    done = threading.Event()

    def reader() -> None:
        scans = 0
        while not done.is_set() and scans < 5000:
            scans += 1
            for number, path in store.scan().get("iris").versions.items():
                present = {p.name for p in path.iterdir() if not p.name.startswith(".")}
                if present != set(files):
                    problems.append(f"version {number} had {sorted(present)}")

    def publisher() -> None:
        results.append(store.publish("iris", files))

    watcher = threading.Thread(target=reader)
    watcher.start()
    publishers = [threading.Thread(target=publisher) for _ in range(8)]
    for t in publishers:
        t.start()
    for t in publishers:
        t.join()
    done.set()
    watcher.join()
    assert sorted(results) == list(range(3, 11))
    assert problems == []
    assert not [p for p in (model_store / "iris").iterdir() if p.name.startswith(".")]


def test_config_writes_are_atomic(model_store):
    store = ModelStore(model_store)
    seen: list[object] = []
    done = threading.Event()

    def reader() -> None:
        reads = 0
        while not done.is_set() and reads < 20000:
            reads += 1
            try:
                seen.append(json.loads((model_store / "iris" / "config.json").read_text()))
            except FileNotFoundError:
                continue

    watcher = threading.Thread(target=reader)
    watcher.start()
    for i in range(200):
        store.write_config("iris", {"labels": {"stable": 1}, "padding": "x" * (i * 50), "n": i})
    done.set()
    watcher.join()
    assert all(isinstance(doc, dict) and doc["labels"] == {"stable": 1} for doc in seen)
    assert store.read_config("iris")["n"] == 199
    assert sorted(p.name for p in (model_store / "iris").iterdir()) == ["1", "2", "config.json"]


def test_config_of_an_unknown_model_and_unreadable_config(model_store):
    store = ModelStore(model_store)
    with pytest.raises(ModelNotFound):
        store.write_config("nosuch", {})
    (model_store / "iris" / "config.json").write_text("{not json")
    assert store.read_config("iris") == {}
    (model_store / "iris" / "config.json").write_text("[1, 2]")
    assert store.read_config("iris") == {}


def test_delete_version_disappears_atomically(model_store):
    store = ModelStore(model_store)
    store.delete_version("iris", 1)
    assert sorted(p.name for p in (model_store / "iris").iterdir()) == ["2"]
    with pytest.raises(ModelNotFound):
        store.delete_version("iris", 1)


# -- registry rules ---------------------------------------------------------------------------
@pytest.mark.parametrize(("available", "config", "expected"), [
    ([1, 2, 3], {}, {2, 3}),                                                  # newest two by default
    ([1], {}, {1}),
    ([1, 2, 3], {"version_policy": {"latest": 1}}, {3}),
    ([1, 2, 3], {"version_policy": {"latest": 5}}, {1, 2, 3}),
    ([1, 2, 3], {"version_policy": {"latest": 0}}, {2, 3}),                   # malformed → default
    ([1, 2, 3], {"version_policy": {"latest": "all"}}, {2, 3}),
    ([1, 2, 3], {"version_policy": {"all": True}}, {1, 2, 3}),
    ([1, 2, 3], {"version_policy": {"specific": [1, 9]}}, {1}),               # missing ones ignored
    ([1, 2, 3], {"version_policy": {"latest": 1}, "labels": {"stable": 1}}, {1, 3}),  # labels pin
    ([1, 2, 3], {"version_policy": {"latest": 1}, "default_version": 2}, {2, 3}),     # default pins
    ([1, 2, 3], {"labels": {"gone": 9}}, {2, 3}),                             # label on a missing one
    ([1, 2, 3], {"unloaded": True, "labels": {"stable": 1}}, set()),          # unloaded: nothing
])
def test_versions_to_serve(available, config, expected):
    assert versions_to_serve(available, config) == expected


def test_labels_ignore_malformed_entries():
    config = {"labels": {"stable": 1, "bool": True, "text": "2", "float": 1.5, "ok": 3}}
    assert labels_of(config) == {"stable": 1, "ok": 3}
    assert labels_of({"labels": ["stable"]}) == {}
    assert labels_of({}) == {}


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "0x10", "HELLO", " 1", "１", "9" * 19, 0, -2, True, 1.0])
def test_parse_version_refuses_with_one_message(text):
    with pytest.raises(InvalidInput, match="The version must be a positive integer"):
        parse_version(text)


def test_parse_version_accepts():
    assert parse_version("12") == 12
    assert parse_version(None) is None
    assert parse_version("") is None  # a form's "no version picked"
    assert parse_version(3) == 3


def test_one_split_parser_reads_text_and_mappings():
    assert parse_split("2=90 3=10") == parse_split("2:90, 3:10") == {2: 90, 3: 10}
    assert parse_split({"2": 90, 3: 10}) == {2: 90, 3: 10}
    assert parse_split("") is None
    with pytest.raises(InvalidInput, match="version=weight"):
        parse_split("2=ninety")
    with pytest.raises(InvalidInput, match="positive integer"):
        parse_split({"x": 50, "2": 50})
