"""`flask db ...`: Podium's own database (the prediction log first), SQLite or PostgreSQL."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from webapp.serving.monitored import monitoring_settings
from webapp.serving.monitoring import migrate
from webapp.serving.monitoring.components import prepare
from webapp.serving.monitoring.database import describe_error, open_database

db_cli = AppGroup("db", help="Podium's database: schema upgrades and their state.")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Bring the schema to the newest revision, keeping every row (a corrupt SQLite file is moved aside)."""
    settings = monitoring_settings(current_app.config, current_app.instance_path)
    try:
        revision = prepare(settings)
    except Exception as exc:  # down, refusing: one line, exit 1
        raise click.ClickException(f"The database cannot be upgraded: {describe_error(exc)}") from None
    click.echo(f"The database is at revision {revision} (newest {migrate.head()})")


@db_cli.command("current")
def db_current() -> None:
    """Print the schema's revision and the newest one; exit 1 when they differ."""
    settings = monitoring_settings(current_app.config, current_app.instance_path)
    db = open_database(settings.database_url, settings.instance_path, check_file=False)
    try:
        revision = migrate.current(db)
    except Exception as exc:
        raise click.ClickException(f"The database does not answer: {describe_error(exc)}") from None
    finally:
        db.dispose()
    click.echo(f"{db.dialect}: revision {revision or 'none'} (newest {migrate.head()})")
    if revision != migrate.head():
        raise click.exceptions.Exit(1)
