"""`flask users ...`: manage API and admin users."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from flask.cli import AppGroup

from webapp.accounts.users import UserError
from webapp.extensions import users

users_cli = AppGroup("users", help="Manage API and admin users.")


def _run(change: Callable[..., Any], *args: Any) -> None:
    """Call a user-store method; a refusal becomes a one-line error and exit status 1."""
    try:
        change(*args)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None


@users_cli.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["user", "admin"]), default="user")
@click.password_option()
def users_add(name: str, role: str, password: str) -> None:
    """Add a user (or replace one) with a role."""
    _run(users().add, name, password, role)
    click.echo(f"Added {name} ({role})")


@users_cli.command("remove")
@click.argument("name")
def users_remove(name: str) -> None:
    """Remove a user."""
    _run(users().remove, name)
    click.echo(f"Removed {name}")


@users_cli.command("list")
def users_list() -> None:
    """List users and their roles."""
    for name, role in users().list().items():
        click.echo(f"{name}\t{role}")


@users_cli.command("passwd")
@click.argument("name")
@click.password_option()
def users_passwd(name: str, password: str) -> None:
    """Set a user's password."""
    _run(users().set_password, name, password)
    click.echo(f"Password changed for {name}")
