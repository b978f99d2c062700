"""`flask models recommend|similar|chat`: ask a recommender or a chat model from the command line.

Each command is one service call, as the APIs make it: the same questions, the same errors.
"""

from __future__ import annotations

import click

from webapp.cli.models import models_cli
from webapp.extensions import service
from webapp.serving.chat.conversation import ChatRequest, Message
from webapp.serving.chat.question import ChatQuestion
from webapp.serving.errors import ServingError
from webapp.serving.recommend.query import RecommendQuery, RecommendRow
from webapp.serving.service import Answer, Target


def _ask(name: str, version: int | None, question: object) -> Answer:
    service().refresh()
    try:
        return service().predict(Target(name, version), lambda _spec: question)
    except ServingError as exc:
        raise click.ClickException(exc.message) from None


def _show(answer: Answer) -> None:
    for found in answer.values:
        click.echo(f"# {answer.served.model}/{answer.version} ({found.basis})")
        for item, title, score in zip(found.items, found.names, found.scores, strict=True):
            click.echo(f"{item}\t{score:.4f}\t{title}")


@models_cli.command("recommend")
@click.argument("name")
@click.argument("users", nargs=-1)
@click.option("-k", type=int, default=None, help="How many items (default: the manifest's).")
@click.option("--items", default=None, help="Cold start: comma-separated items a new user picked.")
@click.option("--version", type=int, default=None)
@click.option("--include-seen", is_flag=True, help="Keep items the user already has.")
def models_recommend(name: str, users: tuple[str, ...], k: int | None, items: str | None,
                     version: int | None, include_seen: bool) -> None:
    """Top-k items for each user (an unknown user gets the popular items)."""
    picks = tuple(i for i in items.split(",") if i) if items is not None else None
    rows = tuple(RecommendRow(user=u, k=k, exclude_seen=not include_seen) for u in users) \
        or (RecommendRow(items=picks, k=k, exclude_seen=not include_seen),)
    _show(_ask(name, version, RecommendQuery(rows)))


@models_cli.command("similar")
@click.argument("name")
@click.argument("items", nargs=-1, required=True)
@click.option("-k", type=int, default=None)
@click.option("--version", type=int, default=None)
def models_similar(name: str, items: tuple[str, ...], k: int | None, version: int | None) -> None:
    """The k items most similar to each item."""
    _show(_ask(name, version, RecommendQuery(tuple(RecommendRow(item=i, k=k) for i in items))))


@models_cli.command("chat")
@click.argument("name")
@click.argument("message")
@click.option("--system", default=None, help="A system prompt.")
@click.option("--temperature", type=float, default=1.0, show_default=True)
@click.option("--max-tokens", type=int, default=None)
def models_chat(name: str, message: str, system: str | None, temperature: float,
                max_tokens: int | None) -> None:
    """Ask a chat model one question; prints the answer, its sources and token usage."""
    messages = ((Message("system", system),) if system else ()) + (Message("user", message),)
    answer = _ask(name, None, ChatQuestion(ChatRequest(messages, temperature, max_tokens))).values
    click.echo(answer.text)
    for source in answer.sources:
        click.echo(f"source: {source.source} ({source.score:.3f})")
    click.echo(f"tokens: {answer.usage.prompt_tokens} in, {answer.usage.completion_tokens} out")
