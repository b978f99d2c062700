"""Operator tasks as `flask` commands: models, demos and users."""

from __future__ import annotations

import json
import sys

import click
import numpy as np
from flask import Flask, current_app
from flask.cli import AppGroup

from .serving.demos import HELDOUT, train_demos
from .serving.errors import ServingError
from .users import UserError

models_cli = AppGroup("models", help="Inspect the model store.")
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
