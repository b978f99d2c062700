"""`flask tokens ...`: make, list and revoke API tokens for any user (an operator's tool)."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from webapp.accounts.tokens import SCOPES, Token, TokenError
from webapp.extensions import tokens, users

tokens_cli = AppGroup("tokens", help="Manage API tokens (shown once, stored as a SHA-256 digest).")


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(stamp)) if stamp else "-"


def _line(token: Token) -> str:
    return "\t".join([token.id, token.user, token.name, token.scope, token.state(),
                      f"expires {_when(token.expires_at)}", f"used {_when(token.last_used_at)}"])


@tokens_cli.command("create")
@click.argument("user")
@click.option("--name", required=True, help="What the token is for, e.g. 'nightly scoring'.")
@click.option("--scope", type=click.Choice(SCOPES), default="predict", show_default=True)
@click.option("--days", type=float, default=None, help="Expire after this many days (default: never).")
def tokens_create(user: str, name: str, scope: str, days: float | None) -> None:
    """Make a token for USER and print it once (it cannot be shown again)."""
    if user not in users().list():
        raise click.ClickException(f"No user {user!r}")
    try:
        secret, token = tokens().create(user, name, scope, days, created_by="cli")
    except TokenError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(secret)
    click.echo(f"# {_line(token)}  (shown once: store it now)", err=True)


@tokens_cli.command("list")
@click.option("--user", default=None, help="Only this user's tokens.")
def tokens_list(user: str | None) -> None:
    """List tokens: id, user, name, scope, state, expiry, last use (never the secrets)."""
    try:
        for token in tokens().list(user):
            click.echo(_line(token))
    except TokenError as exc:
        raise click.ClickException(str(exc)) from None


@tokens_cli.command("revoke")
@click.argument("token_id")
def tokens_revoke(token_id: str) -> None:
    """Revoke a token by id; every worker refuses it within TOKEN_POLL_SECONDS."""
    try:
        token = tokens().revoke(token_id)
    except TokenError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Revoked {token.id} ({token.user}: {token.name})")
