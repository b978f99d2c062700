"""Operator tasks as `flask` commands, one group per area: models, demos, users, tokens, db,
monitor, jobs."""

from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    from webapp.cli import kinds  # noqa: F401  (adds recommend, similar, chat to `flask models`)
    from webapp.cli.db import db_cli
    from webapp.cli.demos import demos_cli
    from webapp.cli.jobs import jobs_cli
    from webapp.cli.models import models_cli
    from webapp.cli.monitor import monitor_cli
    from webapp.cli.tokens import tokens_cli
    from webapp.cli.users import users_cli

    for group in (models_cli, demos_cli, users_cli, tokens_cli, db_cli, monitor_cli, jobs_cli):
        app.cli.add_command(group)
