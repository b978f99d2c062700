"""The Celery app of CSV job workers: `flask jobs worker`, or `celery -A webapp.jobs_worker worker`.

Each worker process builds Podium's app once (the same settings as the server: PODIUM_* variables,
the shared model store and instance folder, the database), loads the store, then scores pieces.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from webapp.serving.jobs.queue import WorkerContext, make_celery, set_context

LOAD_TIMEOUT = float(os.environ.get("PODIUM_WARMUP_TIMEOUT", "300"))


@functools.cache
def _context() -> WorkerContext:
    """Podium's service in this process, its store loaded (built on the first piece, after the fork)."""
    from webapp import create_app
    from webapp.extensions import MONITORING, SERVICE, start_background

    app = create_app()
    start_background(app)
    service, watch = app.extensions[SERVICE], app.extensions[MONITORING]
    service.wait_loaded(LOAD_TIMEOUT)
    return WorkerContext(service, Path(app.instance_path) / "jobs",
                         watch.log.submit if watch else None, watch.log.flush if watch else None)


broker = os.environ.get("PODIUM_JOBS_BROKER_URL", "")
celery = make_celery(broker or "redis://127.0.0.1:6379/0",
                     float(os.environ.get("PODIUM_JOBS_VISIBILITY_TIMEOUT", "300")))
set_context(_context)
