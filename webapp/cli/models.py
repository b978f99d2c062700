"""`flask models ...`: inspect the model store and change what it serves (the lifecycle)."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np
from flask.cli import AppGroup

from webapp.demos import HELDOUT
from webapp.extensions import lifecycle, service
from webapp.serving.chat.conversation import ChatRequest, Message
from webapp.serving.chat.question import ChatQuestion
from webapp.serving.errors import ServingError
from webapp.serving.inputs import Tensor
from webapp.serving.loaded import VersionStatus
from webapp.serving.models.versions import parse_split
from webapp.serving.recommend.query import RecommendQuery, RecommendRow
from webapp.serving.service import Question, Target

models_cli = AppGroup("models", help="Inspect the model store and change what it serves.")


@models_cli.command("list")
def models_list() -> None:
    """List every model with its versions, states, labels and default version."""
    service().refresh()
    for name, model in service().models().items():
        states = ", ".join(f"{v}:{s.state.value}" for v, s in model.versions.items())
        click.echo(f"{name:<16} default={model.default_version} versions=[{states}] "
                   f"labels={json.dumps(model.labels)} stored={list(model.stored)}")


@models_cli.command("check")
def models_check() -> None:
    """Load every served version and run one prediction on its held-out rows; exit 1 on failure."""
    service().refresh()
    failed = 0
    for name, model in service().models().items():
        for number, status in model.versions.items():
            try:
                sample = _sample(status)
                answer = service().predict(Target(name, number), lambda _, rows=sample: rows)
                click.echo(f"ok    {name}/{number} via {answer.served.call_path}: {_shown(answer.values)}")
            except ServingError as exc:
                failed += 1
                click.echo(f"FAIL  {name}/{number}: {exc.message}")
    sys.exit(1 if failed else 0)


def _sample(status: VersionStatus) -> Tensor | Question:
    """The version's first held-out row, else zeros of its input shape; a recommender's popular items."""
    spec = status.spec
    if spec is None:
        raise ServingError(status.reason or "not loaded")
    if spec.task == "recommendation":
        return RecommendQuery((RecommendRow(k=3),))
    if spec.task == "chat":
        return ChatQuestion(ChatRequest((Message("user", "What is Podium?"),), max_tokens=12))
    try:
        rows = json.loads((spec.path / HELDOUT).read_text())["x"][:1]
        return Tensor(np.asarray(rows, dtype=np.float32))
    except (OSError, ValueError, KeyError):
        return Tensor(np.zeros((1, *spec.input_shape), dtype=np.float32))


def _shown(values: Any) -> Any:
    if isinstance(values, np.ndarray):
        return values[0].tolist()
    return values[0].items[:3] if isinstance(values, list) else values.text


def _who() -> str:
    """Audit name for changes made from the command line."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _run(change: Callable[..., Any], *args: Any) -> Any:
    """Call a Lifecycle method (as the CLI's user); a refusal becomes a one-line error, exit 1."""
    try:
        return change(*args, _who())
    except ServingError as exc:
        raise click.ClickException(exc.message) from None


@models_cli.command("publish")
@click.argument("name")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def models_publish(name: str, folder: Path) -> None:
    """Validate FOLDER (model.json + artifact [+ heldout.json]) and publish it as NAME's next version."""
    # hidden names (an acceleration cache, editor files) are never part of a version
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir())
             if p.is_file() and not p.name.startswith(".")}
    version = _run(lifecycle().publish, name, files)
    click.echo(f"Published {name} version {version}")


@models_cli.command("label")
@click.argument("name")
@click.argument("label")
@click.argument("version", type=click.IntRange(min=1))
def models_label(name: str, label: str, version: int) -> None:
    """Point LABEL (stable, canary, ...) at VERSION."""
    _run(lifecycle().set_label, name, label, version)
    click.echo(f"{name}: {label} -> {version}")


@models_cli.command("unlabel")
@click.argument("name")
@click.argument("label")
def models_unlabel(name: str, label: str) -> None:
    """Remove LABEL."""
    _run(lifecycle().delete_label, name, label)
    click.echo(f"{name}: removed label {label}")


@models_cli.command("default")
@click.argument("name")
@click.argument("version", required=False, type=click.IntRange(min=1))
def models_default(name: str, version: int | None) -> None:
    """Serve VERSION to requests that name none; without VERSION, the newest available again."""
    _run(lifecycle().set_default, name, version)
    click.echo(f"{name}: default -> {version if version is not None else 'newest'}")


@models_cli.command("rollback")
@click.argument("name")
def models_rollback(name: str) -> None:
    """Make the version below the one served by default the default again (and `stable`)."""
    version = _run(lifecycle().rollback, name)
    click.echo(f"{name}: rolled back to version {version}")


@models_cli.command("delete")
@click.argument("name")
@click.argument("version", type=click.IntRange(min=1))
def models_delete(name: str, version: int) -> None:
    """Delete VERSION (refused while a label, the default or a split uses it)."""
    _run(lifecycle().delete_version, name, version)
    click.echo(f"{name}: deleted version {version}")


@models_cli.command("split")
@click.argument("name")
@click.argument("weights", nargs=-1)
@click.option("--clear", is_flag=True, help="Remove the split.")
def models_split(name: str, weights: tuple[str, ...], clear: bool) -> None:
    """Split traffic by weight, e.g. `split iris 2=90 3=10`; `--clear` removes it."""
    if clear == bool(weights):
        raise click.UsageError("Give VERSION=WEIGHT pairs or --clear")
    try:
        parsed = parse_split(" ".join(weights)) if weights else None
    except ServingError as exc:
        raise click.ClickException(f"{exc.message} (weights look like 2=90 3=10)") from None
    _run(lifecycle().set_split, name, parsed)
    click.echo(f"{name}: split {'cleared' if parsed is None else parsed}")


@models_cli.command("load")
@click.argument("name")
def models_load(name: str) -> None:
    """Serve NAME again in every worker."""
    _run(lifecycle().load, name)
    click.echo(f"{name}: loaded")


@models_cli.command("unload")
@click.argument("name")
def models_unload(name: str) -> None:
    """Stop serving NAME in every worker."""
    _run(lifecycle().unload, name)
    click.echo(f"{name}: unloaded")


@models_cli.command("audit")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
def models_audit(limit: int) -> None:
    """Show the newest lifecycle changes (who, what, when), newest first."""
    for entry in lifecycle().audit(limit):
        click.echo(json.dumps(entry, sort_keys=True))
