"""The on-disk model store: `<root>/<name>/<version>/model.json` plus an optional `config.json`.

Writers never leave a half-written version or config visible: a version is assembled in a hidden
temporary folder inside the model's folder and renamed into place; configs are replaced atomically.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from webapp.serving.errors import Conflict, InvalidInput, ModelNotFound
from webapp.serving.models.spec import MANIFEST, check_model_name

CONFIG = "config.json"


@dataclass(frozen=True)
class StoredModel:
    """What the store holds for one model: its version folders and its config."""

    name: str
    versions: dict[int, Path]
    config: dict[str, Any] = field(default_factory=dict)


def atomic_write_json(path: Path, data: Any) -> None:
    """Write JSON to `path` so readers see either the old or the new file, never a torn one."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ModelStore:
    """Read and write the model store rooted at `root`."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def model_dir(self, name: str) -> Path:
        return self.root / check_model_name(name)

    def scan(self) -> dict[str, StoredModel]:
        """Every model with at least one complete version (a folder with a manifest)."""
        found: dict[str, StoredModel] = {}
        if not self.root.is_dir():
            return found
        for entry in sorted(self.root.iterdir()):
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            try:
                check_model_name(entry.name)
            except InvalidInput:
                continue
            versions = self._versions(entry)
            if versions:
                found[entry.name] = StoredModel(entry.name, versions, self.read_config(entry.name))
        return found

    @staticmethod
    def _versions(model_dir: Path) -> dict[int, Path]:
        versions = {}
        for child in model_dir.iterdir():
            name = child.name
            if name.isdigit() and name.isascii() and int(name) > 0 and (child / MANIFEST).is_file():
                versions[int(name)] = child
        return dict(sorted(versions.items()))

    def read_config(self, name: str) -> dict[str, Any]:
        """The model's `config.json`, or {} when it is absent or unreadable."""
        try:
            data = json.loads((self.model_dir(name) / CONFIG).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write_config(self, name: str, config: dict[str, Any]) -> None:
        """Replace the model's config atomically; raises ModelNotFound for an unknown model."""
        model_dir = self.model_dir(name)
        if not model_dir.is_dir():
            raise ModelNotFound(name)
        atomic_write_json(model_dir / CONFIG, config)

    def next_version(self, name: str) -> int:
        model_dir = self.model_dir(name)
        existing = self._versions(model_dir) if model_dir.is_dir() else {}
        return max(existing, default=0) + 1

    def publish(self, name: str, files: dict[str, bytes], version: int | None = None) -> int:
        """Publish `files` (manifest + artifact) as a new version; returns its number.

        Raises Conflict when the version already exists. The version folder appears in one rename.
        """
        model_dir = self.model_dir(name)
        model_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".staging-{uuid.uuid4().hex[:8]}-", dir=model_dir))
        try:
            for filename, content in files.items():
                if "/" in filename or "\\" in filename or filename.startswith("."):
                    raise InvalidInput(f"Refusing file name {filename!r}")
                with open(staging / filename, "wb") as fh:
                    fh.write(content)
                    fh.flush()
                    os.fsync(fh.fileno())
            return self._rename_into_place(model_dir, staging, version)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def publish_dir(self, name: str, source: Path, version: int | None = None) -> int:
        """Copy a prepared folder into the store as a new version, atomically."""
        model_dir = self.model_dir(name)
        model_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=model_dir))
        try:
            shutil.copytree(source, staging, dirs_exist_ok=True)
            return self._rename_into_place(model_dir, staging, version)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _rename_into_place(self, model_dir: Path, staging: Path, version: int | None) -> int:
        os.chmod(staging, 0o755)
        while True:
            number = version if version is not None else self.next_version(model_dir.name)
            target = model_dir / str(number)
            try:
                os.rename(staging, target)  # fails if target exists and is not empty
            except OSError as exc:
                if version is not None or not target.exists():
                    raise Conflict(f"Version {number} of {model_dir.name} already exists") from exc
                continue  # another writer took this number first: take the next one
            return number

    def delete_version(self, name: str, version: int) -> None:
        """Remove a version: first renamed aside (atomic disappearance), then deleted."""
        target = self.model_dir(name) / str(version)
        if not (target / MANIFEST).is_file():
            raise ModelNotFound(name, version)
        trash = target.with_name(f".deleted-{version}-{uuid.uuid4().hex[:8]}")
        os.rename(target, trash)
        shutil.rmtree(trash, ignore_errors=True)
