"""Build every monitoring part from settings in one call, for the app factory to wire in.

One `Monitoring` per worker process: create it after the fork (as the model service is), call
`start()`, and `close()` at exit. The database schema must be at head first: run `prepare` once
per start (the `flask db upgrade`-style command, or gunicorn's master before forking).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .alerts import AlertThresholds, model_alerts, process_alerts
from .database import LogDatabase, open_database
from .feedback import Feedback
from .job import MonitorJob
from .migrate import is_at_head, upgrade
from .monitor import Monitor, Sources
from .notify import WebhookNotifier
from .privacy import protector_from_environment
from .records import Sampler
from .writer import PredictionLog

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonitoringSettings:
    """Proposed `PODIUM_*` settings (defaults in parentheses in webapp/config.py terms)."""

    instance_path: str
    database_url: str | None = None  # LOG_DATABASE_URL: PostgreSQL; else SQLite in the instance
    sample_rate: float = 1.0  # LOG_SAMPLE_RATE
    sample_rates: dict[str, float] = field(default_factory=dict)  # LOG_SAMPLE_RATES {"iris": 0.1}
    queue_size: int = 10_000  # LOG_QUEUE_SIZE, records per worker
    interval_s: float = 60.0  # MONITOR_INTERVAL
    retention_days: float | None = 30.0  # LOG_RETENTION_DAYS
    retention_rows: int | None = 5_000_000  # LOG_RETENTION_ROWS
    webhook_url: str | None = None  # ALERT_WEBHOOK_URL (Slack-compatible)


def prepare(settings: MonitoringSettings) -> str | None:
    """Check the SQLite file, bring the schema to head; once per start, before the workers."""
    db = open_database(settings.database_url, settings.instance_path)
    try:
        return upgrade(db)
    finally:
        db.dispose()


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


def create_monitoring(settings: MonitoringSettings, sources: Sources, models: Callable[[], list[str]],
                      ready: Callable[[], bool] | None = None) -> Monitoring:
    """Everything for one worker; logging is disabled (writes dropped, counted) off-head schemas."""
    db = open_database(settings.database_url, settings.instance_path, check_file=False)
    if not is_at_head(db):
        log.error("The prediction log's schema is not at head: run the database upgrade command; "
                  "log writes fail and are counted until then")
    sampler = Sampler(settings.sample_rate, settings.sample_rates)
    plog = PredictionLog(db, protector_from_environment(settings.instance_path), sampler,
                         max_queue=settings.queue_size)
    monitor = Monitor(db, sources)
    notifier = WebhookNotifier(settings.webhook_url) if settings.webhook_url else None
    retention: dict[str, Any] = {"max_age_s": settings.retention_days * 86400
                                 if settings.retention_days else None,
                                 "max_rows": settings.retention_rows}
    job = MonitorJob(monitor, models, settings.interval_s,
                     lock_path=Path(settings.instance_path) / "monitor.lock", retention=retention)
    if notifier is not None:
        thresholds = AlertThresholds()
        job.listeners.append(lambda model, summary: notifier.update(model, model_alerts(summary, thresholds)))
        job.after_round.append(_process_check(plog, notifier, ready))
    return Monitoring(db, plog, Feedback(db), monitor, job, notifier)
