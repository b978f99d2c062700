"""Build every monitoring part from settings in one call, for the app factory to wire in.

One `Monitoring` per worker process: create it after the fork (as the model service is), call
`start()`, and `close()` at exit. The database schema must be at head first: run `prepare` once
per start (the `flask db upgrade`-style command, or gunicorn's master before forking).
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from .alerts import AlertThresholds, model_alerts, process_alerts
from .database import LogDatabase, default_url, describe_error, open_database
from .feedback import Feedback
from .job import MonitorJob
from .migrate import is_at_head, upgrade
from .monitor import Monitor, Sources
from .notify import WebhookNotifier
from .privacy import ENCRYPTION_KEY_ENV, HASH_KEY_ENV, protector_from_environment
from .records import Sampler
from .writer import PredictionLog

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonitoringSettings:
    """What `webapp/config.py` says (setting names in the comments, `PODIUM_` in the environment)."""

    instance_path: str
    database_url: str | None = None  # DATABASE_URL: PostgreSQL; else SQLite in the instance folder
    sample_rate: float = 1.0  # LOG_SAMPLE_RATE
    sample_rates: dict[str, float] = field(default_factory=dict)  # LOG_SAMPLE_RATES {"iris": 0.1}
    queue_size: int = 10_000  # LOG_QUEUE_SIZE, records per worker
    interval_s: float = 60.0  # MONITOR_INTERVAL
    retention_days: float | None = 30.0  # LOG_RETENTION_DAYS
    retention_rows: int | None = 5_000_000  # LOG_RETENTION_ROWS
    webhook_url: str | None = None  # ALERT_WEBHOOK_URL (Slack-compatible)
    hash_key: str | None = None  # LOG_HASH_KEY (else a key file made in the instance folder)
    encryption_key: str | None = None  # LOG_ENCRYPTION_KEY (a Fernet key), for "encrypt" features

    def environ(self) -> dict[str, str]:
        """The keys as `privacy.protector_from_environment` reads them."""
        return {HASH_KEY_ENV: self.hash_key or "", ENCRYPTION_KEY_ENV: self.encryption_key or ""}


LOCK_FILE = "database.lock"


def prepare(settings: MonitoringSettings) -> str | None:
    """Check the SQLite file, bring the schema to head; once per start, before the workers.

    Processes that start together take turns (a lock file in the instance folder; PostgreSQL
    also takes an advisory lock, for instances that share one database), so only the first
    upgrades and the others find the schema at head.
    """
    Path(settings.instance_path).mkdir(parents=True, exist_ok=True)
    fd = os.open(Path(settings.instance_path) / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        db = open_database(settings.database_url, settings.instance_path)
        try:
            return upgrade(db)
        finally:
            db.dispose()
    finally:
        os.close(fd)  # closing releases the lock


@dataclass
class Monitoring:
    database: LogDatabase
    log: PredictionLog
    feedback: Feedback
    monitor: Monitor
    job: MonitorJob
    notifier: WebhookNotifier | None

    def start(self) -> None:
        self.log.start()
        self.job.start()

    def close(self) -> None:
        self.job.stop()
        self.log.close()
        self.database.dispose()


def _process_check(plog: PredictionLog, notifier: WebhookNotifier,
                   ready: Callable[[], bool] | None) -> Callable[[], None]:
    """After each round: alert on log drops since the last round, readiness and this worker's RSS."""
    last = [0]

    def check() -> None:
        import psutil

        dropped = sum(plog.stats()["dropped"].values())
        new, last[0] = dropped - last[0], dropped
        rss = psutil.Process().memory_info().rss
        notifier.update("process", process_alerts(new, ready() if ready else None, rss))
    return check


def _check_schema(db: LogDatabase) -> None:
    """Say at start when log writes will fail: schema behind, or the database not answering."""
    try:
        at_head = is_at_head(db)
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        log.error("The prediction log's database does not answer (%s); predictions are served, "
                  "log writes are dropped and counted until it does", describe_error(exc))
        return
    if not at_head:
        log.error("The prediction log's schema is not at head: run the database upgrade command; "
                  "log writes fail and are counted until then")


def _leader_lock(settings: MonitoringSettings) -> Path:
    """One scheduled round per database: beside a SQLite file, else in the instance folder."""
    url = make_url(settings.database_url or default_url(settings.instance_path))
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(f"{url.database}.monitor.lock")
    return Path(settings.instance_path) / "monitor.lock"


def create_monitoring(settings: MonitoringSettings, sources: Sources, models: Callable[[], list[str]],
                      ready: Callable[[], bool] | None = None) -> Monitoring:
    """Everything for one worker; logging is disabled (writes dropped, counted) off-head schemas."""
    db = open_database(settings.database_url, settings.instance_path, check_file=False)
    _check_schema(db)
    sampler = Sampler(settings.sample_rate, settings.sample_rates)
    protector = protector_from_environment(settings.instance_path, settings.environ())
    plog = PredictionLog(db, protector, sampler, max_queue=settings.queue_size)
    monitor = Monitor(db, sources)
    notifier = WebhookNotifier(settings.webhook_url) if settings.webhook_url else None
    retention: dict[str, Any] = {"max_age_s": settings.retention_days * 86400
                                 if settings.retention_days else None,
                                 "max_rows": settings.retention_rows}
    job = MonitorJob(monitor, models, settings.interval_s, lock_path=_leader_lock(settings),
                     retention=retention)
    if notifier is not None:
        thresholds = AlertThresholds()
        job.listeners.append(lambda model, summary: notifier.update(model, model_alerts(summary, thresholds)))
        job.after_round.append(_process_check(plog, notifier, ready))
    return Monitoring(db, plog, Feedback(db), monitor, job, notifier)
