"""`flask jobs worker`: a Celery worker scoring CSV job pieces (webapp/jobs_worker.py)."""

from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import AppGroup

jobs_cli = AppGroup("jobs", help="CSV batch jobs on a queue (PODIUM_JOBS_BROKER_URL).")


@jobs_cli.command("worker")
@click.option("--concurrency", "-c", default=1, show_default=True,
              help="Pieces scored at once: one process each, each loading every model.")
@click.option("--loglevel", "-l", default="INFO", show_default=True)
def jobs_worker(concurrency: int, loglevel: str) -> None:
    """Become a Celery worker on PODIUM_JOBS_BROKER_URL (the process is replaced: signals reach it)."""
    broker = current_app.config["JOBS_BROKER_URL"]
    if not broker:
        raise click.UsageError("Set PODIUM_JOBS_BROKER_URL (e.g. redis://127.0.0.1:6379/0) first")
    os.environ["PODIUM_JOBS_BROKER_URL"] = str(broker)
    os.environ["PODIUM_JOBS_VISIBILITY_TIMEOUT"] = str(current_app.config["JOBS_VISIBILITY_TIMEOUT"])
    os.environ.setdefault("PODIUM_INSTANCE_PATH", current_app.instance_path)
    argv = [sys.executable, "-m", "celery", "-A", "webapp.jobs_worker", "worker",
            "--concurrency", str(concurrency), "--loglevel", loglevel, "--queues", "podium-jobs",
            "--without-gossip", "--without-mingle", "--without-heartbeat"]
    os.execv(sys.executable, argv)
