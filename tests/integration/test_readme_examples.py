"""The README's read-only curl examples, run as written against a real gunicorn over the demo store,
answer what the README shows (keys, types, call paths), so the README stays true."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.conftest import ADMIN
from tests.support.readme import examples, loose_json, mismatches
from tests.support.server import ROOT, gunicorn
from webapp.serving.models.store import ModelStore

pytestmark = pytest.mark.integration
EXAMPLES = examples(ROOT / "README.md")


@pytest.fixture(scope="module")
def server(demo_store, tmp_path_factory):
    root = tmp_path_factory.mktemp("readme")
    store = root / "store"
    shutil.copytree(demo_store, store)
    # what the README's `flask models label` commands do before the labels/ examples
    ModelStore(store).write_config("iris", {"labels": {"stable": 1, "canary": 2}})
    with gunicorn(store, root / "instance", users={"admin": ADMIN}, workers=1) as running:
        yield running


def test_the_readme_has_read_only_examples_to_run():
    commands = [e.command for e in EXAMPLES]
    assert len(commands) >= 10, commands
    assert any("/api/stats" in c for c in commands)
    assert any("labels/canary" in c for c in commands)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.command[:60] for e in EXAMPLES])
def test_a_readme_example_answers_as_shown(server, example):
    sample = loose_json(example.sample)
    command = example.command.replace("$A", ":".join(ADMIN)).replace("$H", server.url)
    command = command.replace("http://127.0.0.1:8000", server.url)
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    actual = json.loads(done.stdout)
    assert mismatches(sample, actual) == [], f"{example.command}\n{json.dumps(actual)[:2000]}"


def test_a_stale_sample_is_caught_without_a_server():
    sample = loose_json('{"call_path": "sklearn", "rows": 0, "timing": {...}, "list": [1, ...]}')
    served = {"call_path": "onnxruntime", "rows": "0", "timing": {"queue": 1}, "list": [2, 3], "new": 1}
    assert mismatches(sample, served) == [
        "$: key 'new' missing from the sample", "$.call_path: sample says 'sklearn', server 'onnxruntime'",
        "$.rows: expected a number, got '0'"]
