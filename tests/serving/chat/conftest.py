"""The helpdesk demo (an index over the project's own docs), built once per session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from webapp.demos.chat import helpdesk_v1
from webapp.serving.chat import ChatRequest, Message, load_chat


@pytest.fixture(scope="session")
def helpdesk_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("helpdesk")
    helpdesk_v1(folder)
    return folder


@pytest.fixture(scope="session")
def helpdesk(helpdesk_folder):
    return load_chat(helpdesk_folder, json.loads((helpdesk_folder / "model.json").read_text()))


def ask(*turns: str, **settings) -> ChatRequest:
    """A conversation from alternating user/assistant turns, ending with a user turn."""
    roles = ["user", "assistant"] * len(turns)
    return ChatRequest(tuple(Message(r, t) for r, t in zip(roles, turns, strict=False)), **settings)
