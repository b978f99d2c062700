"""`flask demos ...`: build the demo models, and replay their held-out rows as live traffic."""

from __future__ import annotations

import os
import time

import click
from flask import current_app
from flask.cli import AppGroup

from webapp.demos import train_demos
from webapp.demos.traffic import Traffic, describe, plans, replay

demos_cli = AppGroup("demos", help="Build the demo models and replay traffic against them.")


@demos_cli.command("train")
@click.option("--only", multiple=True, help="Train only these demo models.")
def demos_train(only: tuple[str, ...]) -> None:
    """Train and publish the demo models the store lacks (iris, diabetes, digits, wine, movies, helpdesk)."""
    published = train_demos(current_app.config["MODEL_STORE"], set(only) or None)
    click.echo("Published: " + (", ".join(published) if published else "nothing (all present)"))


@demos_cli.command("traffic")
@click.option("--url", default=lambda: f"http://{os.environ.get('PODIUM_BIND', '127.0.0.1:8000')}",
              show_default="http://$PODIUM_BIND or http://127.0.0.1:8000", help="The running Podium.")
@click.option("--user", default="admin", show_default=True)
@click.option("--password", envvar="PODIUM_PASSWORD", prompt=True, hide_input=True,
              help="The user's password (or PODIUM_PASSWORD).")
@click.option("--model", "models", multiple=True, help="Only these models (default: all with held-out rows).")
@click.option("--shift", multiple=True, metavar="WORD",
              help="Shift every feature whose name contains WORD, e.g. --shift petal (drift).")
@click.option("--by", type=float, default=1.5, show_default=True,
              help="How far to shift, in standard deviations of the reference sample.")
@click.option("--wait", type=float, default=60.0, show_default=True,
              help="Seconds to wait for the monitoring round that follows.")
def demos_traffic(url: str, user: str, password: str, models: tuple[str, ...], shift: tuple[str, ...],
                  by: float, wait: float) -> None:
    """Replay held-out rows as requests with their ground truth, then show what the monitor sees."""
    todo = plans(current_app.config["MODEL_STORE"], models, shift, by)
    if not todo:
        raise click.ClickException("No model with held-out rows: run 'flask demos train' first")
    traffic = Traffic(url, (user, password))
    started = time.time()
    try:
        for plan in todo:
            replay(traffic, plan, click.echo)
        for plan in todo:
            click.echo(describe(traffic.report(plan.spec.name, started, wait), plan.spec.version))
    except (RuntimeError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    shown = next((plan for plan in todo if plan.shifted), todo[0]).spec.name
    click.echo(f"Open {url.rstrip('/')}/models/{shown}#monitoring to see it.")
