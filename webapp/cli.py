"""Operator tasks as `flask` commands: models, demos and users."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

import click
import numpy as np
from flask import Flask, current_app
from flask.cli import AppGroup

from .serving.demos import HELDOUT, train_demos
from .serving.errors import ServingError
from .users import UserError

models_cli = AppGroup("models", help="Inspect the model store and change what it serves.")
demos_cli = AppGroup("demos", help="Build the demo models.")
users_cli = AppGroup("users", help="Manage API and admin users.")


def _service():
    return current_app.extensions["podium.service"]


@models_cli.command("list")
def models_list() -> None:
    """List every model with its versions, states, labels and default version."""
    service = _service()
    service.refresh()
    for name, view in service.models().items():
        states = ", ".join(f"{v}:{lv.state.value}" for v, lv in view.versions.items())
        click.echo(f"{name:<16} default={view.default_version} versions=[{states}] "
                   f"labels={json.dumps(view.labels)} stored={list(view.stored)}")


@models_cli.command("check")
def models_check() -> None:
    """Load every served version and run one prediction on its held-out rows; exit 1 on failure."""
    service = _service()
    service.refresh()
    failed = 0
    for name, view in service.models().items():
        for number, lv in view.versions.items():
            try:
                prediction = service.predict(name, _sample(lv), version=number)
                click.echo(f"ok    {name}/{number} via {lv.runtime.path}: {prediction.values[0].tolist()}")
            except ServingError as exc:
                failed += 1
                click.echo(f"FAIL  {name}/{number}: {exc.message}")
    sys.exit(1 if failed else 0)


def _sample(lv) -> np.ndarray:
    spec = lv.spec
    if spec is None:
        raise ServingError(lv.reason or "not loaded")
    try:
        rows = json.loads((spec.path / HELDOUT).read_text())["x"][:1]
        return np.asarray(rows, dtype=np.float32)
    except (OSError, ValueError, KeyError):
        return np.zeros((1, *spec.input_shape), dtype=np.float32)


def _lifecycle():
    return current_app.extensions["podium.lifecycle"]


def _who() -> str:
    """Audit name for changes made from the command line."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _run(change, *args):
    """Call a Lifecycle method; a refusal becomes a one-line error and exit status 1."""
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
    version = _run(_lifecycle().publish, name, files)
    click.echo(f"Published {name} version {version}")


@models_cli.command("label")
@click.argument("name")
@click.argument("label")
@click.argument("version", type=click.IntRange(min=1))
def models_label(name: str, label: str, version: int) -> None:
    """Point LABEL (stable, canary, ...) at VERSION."""
    _run(_lifecycle().set_label, name, label, version)
    click.echo(f"{name}: {label} -> {version}")


@models_cli.command("unlabel")
@click.argument("name")
@click.argument("label")
def models_unlabel(name: str, label: str) -> None:
    """Remove LABEL."""
    _run(_lifecycle().delete_label, name, label)
    click.echo(f"{name}: removed label {label}")


@models_cli.command("default")
@click.argument("name")
@click.argument("version", required=False, type=click.IntRange(min=1))
def models_default(name: str, version: int | None) -> None:
    """Serve VERSION to requests that name none; without VERSION, the newest available again."""
    _run(_lifecycle().set_default, name, version)
    click.echo(f"{name}: default -> {version if version is not None else 'newest'}")


@models_cli.command("rollback")
@click.argument("name")
def models_rollback(name: str) -> None:
    """Make the version below the one served by default the default again (and `stable`)."""
    version = _run(_lifecycle().rollback, name)
    click.echo(f"{name}: rolled back to version {version}")


@models_cli.command("delete")
@click.argument("name")
@click.argument("version", type=click.IntRange(min=1))
def models_delete(name: str, version: int) -> None:
    """Delete VERSION (refused while a label, the default or a split uses it)."""
    _run(_lifecycle().delete_version, name, version)
    click.echo(f"{name}: deleted version {version}")


@models_cli.command("split")
@click.argument("name")
@click.argument("weights", nargs=-1)
@click.option("--clear", is_flag=True, help="Remove the split.")
def models_split(name: str, weights: tuple[str, ...], clear: bool) -> None:
    """Split traffic by weight, e.g. `split iris 2=90 3=10`; `--clear` removes it."""
    if clear == bool(weights):
        raise click.UsageError("Give VERSION=WEIGHT pairs or --clear")
    parsed = None
    if weights:
        try:
            parsed = {int(v): int(w) for v, w in (pair.split("=", 1) for pair in weights)}
        except ValueError:
            raise click.UsageError("Weights look like 2=90 3=10") from None
    _run(_lifecycle().set_split, name, parsed)
    click.echo(f"{name}: split {'cleared' if parsed is None else parsed}")


@models_cli.command("load")
@click.argument("name")
def models_load(name: str) -> None:
    """Serve NAME again in every worker."""
    _run(_lifecycle().load, name)
    click.echo(f"{name}: loaded")


@models_cli.command("unload")
@click.argument("name")
def models_unload(name: str) -> None:
    """Stop serving NAME in every worker."""
    _run(_lifecycle().unload, name)
    click.echo(f"{name}: unloaded")


@models_cli.command("audit")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
def models_audit(limit: int) -> None:
    """Show the newest lifecycle changes (who, what, when), newest first."""
    for entry in _lifecycle().audit(limit):
        click.echo(json.dumps(entry, sort_keys=True))


@demos_cli.command("train")
@click.option("--only", multiple=True, help="Train only these demo models.")
def demos_train(only: tuple[str, ...]) -> None:
    """Train and publish the demo models the store lacks (iris, diabetes, digits, wine)."""
    published = train_demos(current_app.config["MODEL_STORE"], set(only) or None)
    click.echo("Published: " + (", ".join(published) if published else "nothing (all present)"))


def _users():
    return current_app.extensions["podium.users"]


@users_cli.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["user", "admin"]), default="user")
@click.password_option()
def users_add(name: str, role: str, password: str) -> None:
    """Add a user (or replace one) with a role."""
    try:
        _users().add(name, password, role)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Added {name} ({role})")


@users_cli.command("remove")
@click.argument("name")
def users_remove(name: str) -> None:
    """Remove a user."""
    try:
        _users().remove(name)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Removed {name}")


@users_cli.command("list")
def users_list() -> None:
    """List users and their roles."""
    for name, role in _users().list().items():
        click.echo(f"{name}\t{role}")


@users_cli.command("passwd")
@click.argument("name")
@click.password_option()
def users_passwd(name: str, password: str) -> None:
    """Set a user's password."""
    try:
        _users().set_password(name, password)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Password changed for {name}")


def register_cli(app: Flask) -> None:
    for group in (models_cli, demos_cli, users_cli):
        app.cli.add_command(group)
