"""Load a chat version from its folder and manifest: the retrieval backend or the upstream one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from webapp.serving.errors import InvalidInput

from .conversation import ChatBackend
from .retrieval import RetrievalBackend, Retriever
from .upstream import UpstreamBackend
from .upstream_settings import UpstreamSettings

BACKENDS = ("retrieval", "upstream")


def load_chat(folder: Path, manifest: dict[str, Any]) -> ChatBackend:
    """The backend the manifest's `chat` section names; raises InvalidInput when it is unusable.

    `chat.retrieval` is required for the retrieval backend and, on an upstream one, adds the best
    passages of the version's index to the prompt.
    """
    section = manifest.get("chat")
    if not isinstance(section, dict) or section.get("backend") not in BACKENDS:
        raise InvalidInput(f"Invalid manifest: chat.backend must be one of {list(BACKENDS)}")
    grounded = "retrieval" in section
    retriever = Retriever.load(folder, section.get("retrieval")) if grounded else None
    if section["backend"] == "upstream":
        return UpstreamBackend(UpstreamSettings.from_manifest(section.get("upstream")), retriever)
    if retriever is None:
        raise InvalidInput("Invalid manifest: the retrieval backend needs a 'chat.retrieval' object")
    return RetrievalBackend(retriever)
