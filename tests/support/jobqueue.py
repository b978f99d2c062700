"""A real redis-server on loopback and real `flask jobs worker` processes, for the job queue's tests
and its bench. Each is started in its own session and stopped by its PID (group)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.redis import redis_server  # noqa: F401  (the queue's tests and bench start it here)

ROOT = Path(__file__).resolve().parents[2]


def worker_env(store: Path, instance: Path, broker: str, **extra: str) -> dict[str, str]:
    """The environment a worker shares with the app it works for: store, instance folder, database."""
    env = {**os.environ, "FLASK_APP": "wsgi", "PODIUM_MODEL_STORE": str(store),
           "PODIUM_INSTANCE_PATH": str(instance), "PODIUM_JOBS_BROKER_URL": broker,
           "PODIUM_CREATE_ADMIN": "false", "PODIUM_DATABASE_URL": f"sqlite:///{instance / 'podium.sqlite3'}",
           "PODIUM_POLL_INTERVAL": "0.5", "PODIUM_LOG_LEVEL": "WARNING"}
    env.update(extra)
    return env


def start_worker(env: dict[str, str], log: Path, concurrency: int = 1) -> subprocess.Popen:
    """`flask jobs worker` in a session of its own (so its whole process group can be killed)."""
    flask = Path(sys.executable).with_name("flask")
    with open(log, "ab") as out:
        return subprocess.Popen([str(flask), "jobs", "worker", "--concurrency", str(concurrency),
                                 "--loglevel", "WARNING"], cwd=ROOT, env=env, start_new_session=True,
                                stdout=out, stderr=subprocess.STDOUT)


def stop_worker(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Signal the worker's process group (the Celery parent and its pool), then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
