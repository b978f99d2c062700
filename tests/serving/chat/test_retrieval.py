"""The offline helpdesk answers questions about Podium from its docs, with the source, as a model would."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from webapp.demos.chat import helpdesk_v1
from webapp.serving.chat import ChatRequest, Message, load_chat
from webapp.serving.chat.conversation import count_tokens, cut, pieces
from webapp.serving.chat.index import TfidfIndex
from webapp.serving.errors import InvalidInput

from .conftest import ask


@pytest.mark.parametrize(("question", "source"), [
    ("How do I roll back to the previous version?", "docs/lifecycle.md#roll-back-in-one-call"),
    ("How do I split traffic between two versions?", "docs/lifecycle.md#traffic-split"),
    ("What does the readiness probe return?", "README.md#probes-no-authentication"),
])
def test_a_question_is_answered_from_the_section_about_it(helpdesk, question, source):
    answer = helpdesk.answer(ask(question))
    assert answer.sources[0].source == source
    assert answer.text.endswith(f"Source: {answer.sources[0].title} ({source})")
    assert answer.finish_reason == "stop"
    assert answer.usage.prompt_tokens == count_tokens(question)
    assert answer.usage.completion_tokens == count_tokens(answer.text)


def test_a_follow_up_keeps_the_context_of_earlier_questions(helpdesk):
    alone = helpdesk.answer(ask("And how do I stop it again?"))
    follow_up = helpdesk.answer(ask("How do I split traffic between versions?", "...",
                                    "And how do I stop it again?"))
    assert alone.sources == ()
    assert follow_up.sources[0].source == "docs/lifecycle.md#traffic-split"


def test_a_question_about_something_else_says_so_without_sources(helpdesk):
    answer = helpdesk.answer(ask("What is the weather like in Lisbon tomorrow?"))
    assert answer.sources == ()
    assert answer.text.startswith("I found nothing about that")


def test_max_tokens_cuts_the_answer_and_says_length(helpdesk):
    answer = helpdesk.answer(ask("How do I roll back to the previous version?", max_tokens=5))
    assert answer.finish_reason == "length"
    assert answer.usage.completion_tokens == 5


def test_a_stop_sequence_ends_the_answer_before_it(helpdesk):
    full = helpdesk.answer(ask("How do I roll back to the previous version?")).text
    answer = helpdesk.answer(ask("How do I roll back to the previous version?", stop=("Source:",)))
    assert answer.text == full[: full.index("Source:")]
    assert answer.finish_reason == "stop"


def test_the_stream_is_the_answer_in_pieces_then_a_closing_chunk(helpdesk):
    request = ask("How do I roll back to the previous version?", max_tokens=30)
    answer = helpdesk.answer(request)
    chunks = list(helpdesk.stream(request))
    assert len(chunks) > 5
    assert "".join(c.text for c in chunks) == answer.text
    assert chunks[-1].finish_reason == "length"
    assert chunks[-1].usage == answer.usage
    assert chunks[-1].sources == answer.sources
    assert all(c.finish_reason is None for c in chunks[:-1])


def test_the_system_prompt_and_temperature_change_nothing_offline(helpdesk):
    plain = helpdesk.answer(ask("How do labels work?"))
    steered = helpdesk.answer(ChatRequest((Message("system", "Answer like a pirate."),
                                           Message("user", "How do labels work?")), temperature=2.0))
    assert steered.text == plain.text


def test_cut_and_pieces_keep_the_text_exact():
    assert cut("one two. three", 3, ()) == ("one two.", "length")
    assert cut("one two. three", None, (".", "thr")) == ("one two", "stop")
    assert cut("short", 10, ("zzz",)) == ("short", "stop")
    text = "  Hello,\n\nworld  and   more "
    assert "".join(pieces(text)) == text


def test_a_conversation_without_a_user_message_is_refused():
    with pytest.raises(InvalidInput, match="at least one user message"):
        ChatRequest((Message("system", "be nice"),))


def test_the_demo_index_is_the_same_on_every_build(helpdesk_folder, tmp_path):
    helpdesk_v1(tmp_path)
    first, again = TfidfIndex.load(helpdesk_folder), TfidfIndex.load(tmp_path)
    assert first.passages == again.passages
    assert first.vectorizer.vocabulary_ == again.vectorizer.vocabulary_
    assert (first.matrix != again.matrix).nnz == 0
    assert json.loads((tmp_path / "model.json").read_text()) == \
        json.loads((helpdesk_folder / "model.json").read_text())


def test_the_demo_builds_from_the_readme_alone(tmp_path):
    root = tmp_path / "checkout"
    root.mkdir()
    (root / "README.md").write_text("# Thing\n\nIntro.\n\n## Install\n\nRun `make install`.\n"
                                    "```sh\n# not a heading\n```\n")
    folder = tmp_path / "v1"
    folder.mkdir()
    helpdesk_v1(folder, root)
    index = TfidfIndex.load(folder)
    assert [(p.title, p.source) for p in index.passages] == [("Thing", "README.md#thing"),
                                                              ("Thing › Install", "README.md#install")]
    assert "# not a heading" in index.passages[1].text


@pytest.fixture
def index_copy(helpdesk_folder, tmp_path):
    shutil.copytree(helpdesk_folder, tmp_path / "v", dirs_exist_ok=True)
    return tmp_path / "v"


def _load(folder):
    return load_chat(folder, json.loads((folder / "model.json").read_text()))


@pytest.mark.parametrize("broken", ["index.npz", "idf.npz", "index.json", "passages.json"])
def test_a_missing_index_file_is_named(index_copy, broken):
    (index_copy / broken).unlink()
    with pytest.raises(InvalidInput, match=broken.replace(".", r"\.")):
        _load(index_copy)


def test_an_index_whose_parts_disagree_is_refused(index_copy):
    passages = json.loads((index_copy / "passages.json").read_text())
    (index_copy / "passages.json").write_text(json.dumps(passages[:-1]))
    with pytest.raises(InvalidInput, match="do not match"):
        _load(index_copy)


def test_a_pickled_idf_is_refused(index_copy):
    np.savez(index_copy / "idf.npz", idf=np.array([object()], dtype=object))
    with pytest.raises(InvalidInput, match="cannot read idf.npz"):
        _load(index_copy)


@pytest.mark.parametrize(("chat", "message"), [
    ({"backend": "oracle"}, "chat.backend must be one of"),
    ({"backend": "retrieval"}, "needs a 'chat.retrieval' object"),
    ({"backend": "retrieval", "retrieval": {"top": 0}}, "1 <= top <= 20"),
    ({"backend": "retrieval", "retrieval": {"min_score": "high"}}, "non-number"),
])
def test_a_bad_chat_section_is_refused(helpdesk_folder, chat, message):
    with pytest.raises(InvalidInput, match=message):
        load_chat(helpdesk_folder, {"chat": chat})
