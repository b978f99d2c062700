"""`flask demos ...`: build the demo models."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from webapp.demos import train_demos

demos_cli = AppGroup("demos", help="Build the demo models.")


@demos_cli.command("train")
@click.option("--only", multiple=True, help="Train only these demo models.")
def demos_train(only: tuple[str, ...]) -> None:
    """Train and publish the demo models the store lacks (iris, diabetes, digits, wine)."""
    published = train_demos(current_app.config["MODEL_STORE"], set(only) or None)
    click.echo("Published: " + (", ".join(published) if published else "nothing (all present)"))
