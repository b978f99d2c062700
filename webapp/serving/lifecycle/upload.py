"""What an uploaded version must pass before it becomes visible in the store.

One owner for the upload's rules, whichever door it came through (the lifecycle API, the admin
page, the CLI): the file set, its size, its manifest, pickles. The artifact itself is loaded and
warmed up only in a child process (`trial`), so a hostile or broken artifact can neither run code
in nor crash nor wedge a serving worker.
"""

from __future__ import annotations

import io
import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

from webapp.serving.errors import InvalidInput, PayloadTooLarge
from webapp.serving.models.spec import KIND_TASKS, MANIFEST, ModelSpec, parse_manifest
from webapp.serving.runtimes import check_artifact

EXTRA_FILES = ("heldout.json", "reference.json")  # held-out rows (checks, pages, CBPE); drift reference
PICKLES = (".pkl", ".joblib")


def files_from_parts(manifest: bytes, artifact: bytes, heldout: bytes | None = None,
                     others: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """An upload's parts as the version's files: the artifact under the name its manifest gives it,
    and a recommender's or chat's other files under the names they were sent as (`others`), which
    `check_upload` then holds to the manifest's `files` list; raises InvalidInput for a file sent twice.

    The client's own file names are never used; a manifest that names no usable artifact still
    yields a file set, so `check_upload` can say precisely what is wrong with it.
    """
    try:
        given = _manifest_data(manifest).get("artifact")
    except InvalidInput:
        given = None
    name = given if isinstance(given, str) and given and given != MANIFEST else "artifact"
    files = {MANIFEST: manifest, name: artifact}
    if heldout is not None:
        files["heldout.json"] = heldout
    twice = sorted(set(files) & set(others or {}))
    if twice:
        raise InvalidInput(f"The upload holds {twice[0]!r} twice (the manifest, artifact and held-out "
                           "rows have their own parts)")
    return {**files, **(others or {})}


def check_upload(name: str, files: dict[str, bytes], trusted: bool, max_bytes: int,
                 extension: Collection[str] = ()) -> ModelSpec:
    """Parse the manifest, check the file set and what can be checked of the artifact without
    loading it (`runtimes.check_artifact`); raises InvalidInput or PayloadTooLarge."""
    total = sum(len(content) for content in files.values())
    if total > max_bytes:
        raise PayloadTooLarge(f"The upload holds {total} bytes; the limit is {max_bytes}")
    if MANIFEST not in files:
        raise InvalidInput(f"The upload has no manifest ({MANIFEST})")
    spec = parse_manifest(_manifest_data(files[MANIFEST]), name, 1, Path("."))
    if spec.artifact not in files:
        raise InvalidInput(f"The manifest names artifact {spec.artifact!r} but the upload has no such file")
    if not files[spec.artifact]:
        raise InvalidInput(f"The artifact {spec.artifact!r} is empty")
    _check_file_set(files, spec)
    if spec.artifact.endswith(PICKLES) and not trusted:
        raise InvalidInput(f"{spec.artifact} is a pickle, which runs code when loaded; it is accepted "
                           f"only when an operator lists {name!r} in PODIUM_TRUSTED_MODELS")
    try:
        check_artifact(spec.artifact, io.BytesIO(files[spec.artifact]), extension)
    except InvalidInput as exc:  # worded as a trial's refusal: the caller need not know which step
        raise InvalidInput(f"The artifact was refused: {exc.message}") from None
    return spec


def _manifest_data(content: bytes) -> Any:
    try:
        return json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"Invalid manifest: {MANIFEST} is not valid JSON ({exc})") from None


def _check_file_set(files: dict[str, bytes], spec: ModelSpec) -> None:
    """Plain names only, every file the manifest lists and nothing else; raises InvalidInput."""
    paths = sorted(n for n in files if not _plain(n))
    if paths:
        raise InvalidInput(f"File names must be plain names, not paths or hidden files: {paths[0]!r}")
    declared = _declared(spec)
    missing = [n for n in declared if n not in files]
    if missing:
        raise InvalidInput(f"The manifest lists {missing[0]!r} in its files but the upload has no such file")
    unexpected = sorted(set(files) - {MANIFEST, spec.artifact, *EXTRA_FILES, *declared})
    if unexpected:
        raise InvalidInput(f"Unexpected files in the upload: {unexpected[:5]} (not in the manifest's files)")


def _declared(spec: ModelSpec) -> list[str]:
    """A recommender's or chat's other files, as its manifest's `files` lists them; raises
    InvalidInput for a listed path or pickle (the kinds' files are arrays and JSON, never code)."""
    if spec.task not in KIND_TASKS.values():
        return []
    names = spec.raw.get("files")
    if names is None:
        return []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidInput("The manifest's 'files' must be a list of file names")
    for name in names:
        if not _plain(name) or name == MANIFEST:
            raise InvalidInput(f"The manifest's files must be plain file names besides {MANIFEST}: {name!r}")
        if name.endswith(PICKLES):
            raise InvalidInput(f"{name} is a pickle, which runs code when loaded; a recommender's or "
                               "chat's files are arrays (.npy, .npz) and JSON")
    return names


def _plain(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and not name.startswith(".")
