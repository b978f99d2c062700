"""A corpus of hostile model files, each built to do something observable if it ever ran
(scikit-learn ones here, Keras ones in `hostile_keras`; `CORPUS` holds both).

Every payload aims at `Targets`: it writes `marker`, reads the instance's secret key, connects to
a loopback listener on `port`, or starts a program that would create `marker`. A test that
publishes one asserts the refusal and that none of those happened.
"""

from __future__ import annotations

import functools
import io
import json
import os
import pickle
import socket
import struct
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.support.helpers import IRIS_FEATURES, IRIS_LABELS


@dataclass(frozen=True)
class Targets:
    marker: Path  # a file no model may create
    secret: Path  # the instance folder's secret key, which no model may read
    port: int  # a loopback listener no model may reach


@dataclass(frozen=True)
class Hostile:
    name: str
    artifact: str  # the file name the manifest gives
    build: Callable[[Targets], bytes]
    refusal: str  # words the refusal must contain

    @property
    def framework(self) -> str:
        return "keras" if self.artifact.endswith(".keras") else "sklearn"

    def files(self, targets: Targets) -> dict[str, bytes]:
        return {"model.json": manifest(self.framework, self.artifact), self.artifact: self.build(targets)}


def manifest(framework: str, artifact: str) -> bytes:
    return json.dumps({
        "framework": framework, "artifact": artifact, "task": "classification",
        "inputs": {"kind": "tabular", "features": IRIS_FEATURES}, "outputs": {"labels": IRIS_LABELS},
    }).encode()


# -- scikit-learn: a fitted pipeline whose FunctionTransformer calls what the attacker chose -----
def _pipeline(func: Callable | None = None, **attrs):
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    x, y = load_iris(return_X_y=True)
    model = make_pipeline(FunctionTransformer(), LogisticRegression(max_iter=500)).fit(x, y)
    model.steps[0][1].func = func  # swapped in after fitting, as an attacker would
    for key, value in attrs.items():
        setattr(model.steps[1][1], key, value)
    return model


def _skops(model) -> bytes:
    import skops.io as sio

    return sio.dumps(model)


def _calling(make: Callable[[Targets], Callable]) -> Callable[[Targets], bytes]:
    return lambda t: _skops(_pipeline(make(t)))


def _svmlight(t: Targets) -> bytes:
    from sklearn.datasets import dump_svmlight_file
    from sklearn.preprocessing import FunctionTransformer

    model = _pipeline()
    model.steps[0] = ("ft", FunctionTransformer(dump_svmlight_file, kw_args={"y": [0], "f": str(t.marker)}))
    return _skops(model)


def _object_array(t: Targets) -> bytes:
    return _skops(_pipeline(hidden=np.array([functools.partial(os.system, f"touch {t.marker}")],
                                            dtype=object)))


class _Payload:
    """Unpickling this runs a shell command that creates the marker."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def replace_member(archive: bytes, pick: Callable[[str], bool], data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, data if pick(info.filename) else src.read(info))
    return out.getvalue()


def _pickle_in_npy(t: Targets) -> bytes:
    """A numpy member holding an object array, i.e. a pickle inside the skops zip."""
    buf = io.BytesIO()
    np.save(buf, np.array([_Payload(t.marker)], dtype=object), allow_pickle=True)
    return replace_member(_skops(_pipeline()), lambda n: n.endswith(".npy"), buf.getvalue())


def _schema_edit(edit: Callable[[dict], None]) -> Callable[[Targets], bytes]:
    def build(_: Targets) -> bytes:
        archive = _skops(_pipeline())
        with zipfile.ZipFile(io.BytesIO(archive)) as zf:
            schema = json.loads(zf.read("schema.json"))
        edit(schema)
        return replace_member(archive, lambda n: n == "schema.json", json.dumps(schema).encode())
    return build


def _unknown_loader(schema: dict) -> None:
    schema["__loader__"] = "PickleNode"  # a loader skops does not have


def _huge_npy(t: Targets) -> bytes:
    """A numpy member whose header declares 2**40 float64 values (8 TiB) in a few bytes."""
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }"
    header += " " * (63 - len(header)) + "\n"
    member = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + b"\0" * 64
    return replace_member(_skops(_pipeline()), lambda n: n.endswith(".npy"), member)


def _bad_tree(_: Targets) -> bytes:
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    model = RandomForestClassifier(n_estimators=3, random_state=0).fit(*load_iris(return_X_y=True))
    tree = model.estimators_[1].tree_
    cls, args, state = tree.__reduce__()
    nodes = state["nodes"].copy()
    nodes["left_child"][0] = 10**6  # predict would read a million nodes past the end
    crafted = cls(*args)
    crafted.__setstate__({**state, "nodes": nodes})
    model.estimators_[1].tree_ = crafted
    return _skops(model)


def claim_size(archive: bytes, size: int) -> bytes:
    """Rewrite every central-directory entry to claim `size` uncompressed bytes (a zip bomb's shape)."""
    data = bytearray(archive)
    start = 0
    while (at := data.find(b"PK\x01\x02", start)) != -1:
        data[at + 24:at + 28] = struct.pack("<I", size)
        start = at + 4
    return bytes(data)


def zip_members(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


SKOPS = [
    Hostile("svmlight-writes-a-file", "model.skops", _svmlight, "dump_svmlight_file"),
    Hostile("savetxt-writes-a-file", "model.skops",
            _calling(lambda t: functools.partial(np.savetxt, str(t.marker))), "numpy.savetxt"),
    Hostile("fromfile-reads-the-secret", "model.skops",
            _calling(lambda t: functools.partial(np.fromfile, str(t.secret))), "numpy.fromfile"),
    Hostile("eval", "model.skops", _calling(lambda t: functools.partial(
        eval, f"__import__('os').system('touch {t.marker}')")), "builtins.eval"),
    Hostile("os-system-starts-a-process", "model.skops",
            _calling(lambda t: functools.partial(os.system, f"touch {t.marker}")), "system"),
    Hostile("subprocess-starts-a-process", "model.skops",
            _calling(lambda t: functools.partial(subprocess.run, ["touch", str(t.marker)])),
            "subprocess.run"),
    Hostile("socket-connects", "model.skops", _calling(lambda t: functools.partial(
        socket.create_connection, ("127.0.0.1", t.port))), "socket.create_connection"),
    Hostile("object-array-of-callables", "model.skops", _object_array, "system"),
    Hostile("pickle-inside-a-numpy-member", "model.skops", _pickle_in_npy, "allow_pickle"),
    Hostile("unknown-skops-loader", "model.skops", _schema_edit(_unknown_loader), "Cannot load skops"),
    Hostile("pickle-named-skops", "model.skops",
            lambda t: pickle.dumps(_Payload(t.marker)), "Not a valid skops archive"),
    Hostile("skops-zip-bomb", "model.skops",
            lambda t: claim_size(_skops(_pipeline()), 0xC000_0000), "size limit"),
    Hostile("huge-declared-shape", "model.skops", _huge_npy, "Cannot load skops"),
    Hostile("tree-indices-out-of-range", "model.skops", _bad_tree, "decision tree"),
]



def corpus() -> list[Hostile]:
    from tests.serving.hostile_keras import KERAS

    return SKOPS + KERAS
