"""Which types a `.skops` file may name: exact names, reviewed by hand, never a module prefix.

skops rebuilds an object by importing every `module.name` its schema mentions, so a name is as
powerful as the code behind it: `sklearn.datasets.dump_svmlight_file` inside a FunctionTransformer
writes files, though it lives under `sklearn.`. We therefore read every name the schema mentions
ourselves (skops's own audit trusts some names by default) and accept a file only when each one is
in the list below or in the operator's extension for that model (`PODIUM_TRUSTED_TYPES`).

The list holds scikit-learn's estimators that take numbers in and give numbers out, the internal
building blocks those estimators store once fitted (found by dumping real fitted estimators with
`scripts/survey_skops_types.py`), numpy arrays and scalar types, scipy sparse matrices, and as the
only callables a short list of pure numpy ufuncs. Refresh it with that script after upgrading
scikit-learn, and review every new name before adding it.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from webapp.serving.errors import InvalidInput
from webapp.serving.runtimes.skops_allowlist import TRUSTED_TYPES

MAX_UNCOMPRESSED = 2 * 1024**3  # a small archive must not expand into the worker's memory
MAX_SCHEMA_BYTES = 64 * 1024**2


def read_schema(file: str | Path | BinaryIO) -> Any:
    """The parsed `schema.json` of a skops archive; raises InvalidInput for a bomb or a non-archive."""
    try:
        with zipfile.ZipFile(file) as zf:
            infos = zf.infolist()
            if sum(info.file_size for info in infos) > MAX_UNCOMPRESSED:
                raise InvalidInput("The skops archive expands beyond the size limit")
            schema = zf.getinfo("schema.json")
            if schema.file_size > MAX_SCHEMA_BYTES:
                raise InvalidInput("The skops archive's schema.json is too large")
            return json.loads(zf.read(schema))
    except KeyError:
        raise InvalidInput("Not a skops archive: it has no schema.json") from None
    except (zipfile.BadZipFile, ValueError, RecursionError) as exc:
        raise InvalidInput(f"Not a valid skops archive: {type(exc).__name__}: {exc}") from None


def names_in_schema(schema: Any) -> set[str]:
    """Every `module.name` skops would import or look up to rebuild this schema."""
    found: set[str] = set()
    for node in _dicts(schema):
        module, name = node.get("__module__"), node.get("__class__")
        if isinstance(module, str) or isinstance(name, str):
            found.add(f"{module}.{name}")
            content = node.get("content")
            if node.get("__loader__") == "MethodNode" and isinstance(content, dict):
                found.add(f"{module}.{name}.{content.get('func')}")  # a bound method: name it too
    return found


def _dicts(schema: Any) -> Iterator[dict]:
    stack = [schema]
    while stack:  # iterative: a hostile schema may nest deeper than the recursion limit
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def check_names(names: Collection[str], extension: Collection[str] = ()) -> list[str]:
    """The names only the operator's extension admits; raises InvalidInput naming every refused one."""
    refused = sorted(n for n in names if n not in TRUSTED_TYPES and n not in extension)
    if refused:
        shown = ", ".join(refused[:8]) + (f" and {len(refused) - 8} more" if len(refused) > 8 else "")
        raise InvalidInput(f"The skops artifact names types outside the allowlist: {shown}. "
                           "An operator who trusts this model can list them in PODIUM_TRUSTED_TYPES")
    return sorted(n for n in names if n not in TRUSTED_TYPES)


def parse_extension(value: Any) -> dict[str, frozenset[str]]:
    """The `TRUSTED_TYPES` setting as {model: names}; raises ValueError when it has another shape."""
    if isinstance(value, str):
        value = json.loads(value or "{}")
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(n, str) for n in v)
            for k, v in value.items()):
        raise ValueError('TRUSTED_TYPES must map model names to lists of type names, '
                         'e.g. {"mymodel": ["mypackage.MyEstimator"]}')
    return {model: frozenset(names) for model, names in value.items()}
