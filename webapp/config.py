"""Every setting with its default. Override any of them with a `PODIUM_<NAME>` environment variable
(values are parsed as JSON when they can be: `PODIUM_POLL_INTERVAL=0.5`, `PODIUM_TRUSTED_MODELS='["m"]'`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from typing import Any

DEFAULTS: dict[str, object] = {
    # the instance folder: users, secret key, log hash key, CSV jobs, the default SQLite log. Empty =
    # Flask's `instance/` beside the code. Several instances that are one service share one folder
    # (a shared volume), so their users, keys and jobs are the same (docs/deploy.md).
    "INSTANCE_PATH": "",
    # where models live; relative paths are taken from the current directory
    "MODEL_STORE": "model_store",
    # seconds between two scans of the store by each worker
    "POLL_INTERVAL": 2.0,
    # models whose pickle/joblib artifacts may be loaded (pickle runs code: opt in per model)
    "TRUSTED_MODELS": [],
    # skops type names an operator trusts for one model beyond Podium's reviewed allowlist, e.g.
    # PODIUM_TRUSTED_TYPES='{"mymodel": ["mypackage.MyEstimator"]}'. Each name is code Podium will
    # import and call when loading that model: list only types you wrote or reviewed. Every load
    # and publish that relies on one is logged and written to the audit log.
    "TRUSTED_TYPES": {},
    # the sandboxed process that trial-loads an uploaded version (and converts one for acceleration):
    # wall seconds for a publish trial, address space in MiB, CPU seconds
    "TRIAL_TIMEOUT": 120,
    "TRIAL_MEMORY_MB": 4096,
    "TRIAL_CPU_SECONDS": 300,
    # largest request body in bytes (uploads included)
    "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
    # largest body when publishing a version (the API's .../versions and the admin page's form);
    # nginx's shipped configuration allows the same on those routes
    "PUBLISH_MAX_CONTENT_LENGTH": 256 * 1024 * 1024,
    # most rows (or images) in one prediction request
    "MAX_BATCH_ROWS": 10_000,
    # most pixels in one uploaded image, checked before decoding
    "MAX_IMAGE_PIXELS": 25_000_000,
    # convert each version to TFLite / ONNX in a child process, verify it on held-out rows and serve
    # it when it matches (a manifest opts out with "accelerate": false); seconds one conversion may take
    "ACCELERATE": True,
    "ACCELERATE_TIMEOUT": 300,
    # quantized TFLite forms to try for every Keras classifier whose manifest names none: false (none),
    # true (all), or a list from ["int8", "dynamic", "float16"]; each serves only when its top-1
    # agreement with the float model on the held-out rows is >= 99% and accuracy drops <= 0.5 points
    "QUANTIZE": False,
    # micro-batching per version and worker (a manifest's "batching" object overrides): rows merged
    # into one model call (1 = off) and the longest wait for more requests after the first
    "BATCH_MAX_SIZE": 1,
    "BATCH_MAX_DELAY_MS": 2.0,
    # requests that may wait for or run on one version in one worker; the next gets 503 + Retry-After
    "MAX_QUEUE": 64,
    # seconds a request may wait in the batch queue before a 503 (0 = no deadline)
    "REQUEST_DEADLINE": 0,
    # answers remembered per version, only for manifests with "deterministic": true (0 = off)
    "PREDICTION_CACHE_SIZE": 0,
    # TensorFlow intra/inter-op threads per worker; 0 = cores / workers
    "FRAMEWORK_THREADS": 0,
    # seconds a verified basic-auth credential is remembered (0 = verify every request)
    "AUTH_CACHE_SECONDS": 60,
    # failed logins per (user, client) within AUTH_LOCKOUT_WINDOW before answering 429
    "AUTH_MAX_FAILURES": 10,
    "AUTH_LOCKOUT_WINDOW": 300,
    # how often each worker re-reads the API tokens: a revocation reaches every worker within this
    "TOKEN_POLL_SECONDS": 5.0,
    # per-client (user or token) API rate limit in `limits` notation, e.g. "20/second;200/10 seconds";
    # empty: none. RATE_LIMITS overrides it per user name or "token:<id>". Counts are per worker in
    # memory (a client spread over W workers gets up to W times its limit; a recycled worker starts
    # from zero) unless RATE_LIMIT_STORAGE_URL names a Redis shared by every worker and instance.
    "RATE_LIMIT": "",
    "RATE_LIMITS": {},
    "RATE_LIMIT_STORAGE_URL": "memory://",
    # rows or images a client (user or token) may have predicted per day (0: no quota); QUOTAS
    # overrides it per user name or "token:<id>". Counted where the rate limits are (above).
    "QUOTA_ROWS_PER_DAY": 0,
    "QUOTAS": {},
    # users file, relative to the instance folder
    "USERS_FILE": "users.json",
    # proxies in front of Podium that set X-Forwarded-For / -Proto / -Host / -Prefix (0 = none)
    "PROXY_FIX_FOR": 0,
    "PROXY_FIX_PROTO": 0,
    "PROXY_FIX_HOST": 0,
    "PROXY_FIX_PREFIX": 0,
    # "text" or "json" (one JSON object per line, with the request id)
    "LOG_FORMAT": "text",
    "LOG_LEVEL": "INFO",
    # load and poll the store in a background thread (tests turn it off and refresh by hand)
    "BACKGROUND_LOADING": True,
    # create an admin with a random password when no users file exists
    "CREATE_ADMIN": True,
    # a file holding the first admin's password (a mounted secret) instead of a random printed one
    "ADMIN_PASSWORD_FILE": "",
    # a file whose existence makes /readyz answer 503 while requests are still served (gunicorn.conf.py
    # sets it and raises it on SIGTERM when PODIUM_DRAIN_SECONDS > 0)
    "DRAIN_FLAG": "",
    # pages: true = every page needs a login (admin pages always need the admin role)
    "UI_REQUIRE_LOGIN": False,
    # CSV batch scoring: jobs kept at once, seconds a finished job is kept, rows per model call
    "BATCH_MAX_JOBS": 20,
    "BATCH_KEEP_SECONDS": 3600,
    "BATCH_CHUNK_ROWS": 2000,
    # a Celery broker (redis://host:6379/0) for CSV jobs: each job is cut into BATCH_CHUNK_ROWS pieces
    # scored by `flask jobs worker` processes on any machine; empty = a thread of the worker that took
    # the upload. A piece held by a worker that vanished is redelivered after this many seconds.
    "JOBS_BROKER_URL": "",
    "JOBS_VISIBILITY_TIMEOUT": 300,
    # -- monitoring: the prediction log, ground truth, drift and quality (docs/monitoring.md) --
    # Podium's own database, shared by every feature that keeps state (the prediction log first):
    # a SQLAlchemy URL such as postgresql+psycopg://user:password@host/podium; empty = a SQLite
    # file (WAL mode) in the instance folder. `flask db upgrade` brings its schema up to date; the
    # first worker of each start does it too.
    "DATABASE_URL": "",
    # false = log nothing, compute nothing (no prediction log, no drift, no feedback endpoints)
    "MONITORING": True,
    # share of requests logged, decided by a hash of the request id (the same on every worker),
    # and per model, e.g. PODIUM_LOG_SAMPLE_RATES='{"digits": 0.1}'
    "LOG_SAMPLE_RATE": 1.0,
    "LOG_SAMPLE_RATES": {},
    # records each worker may hold before the background writer stores them; beyond it they are
    # dropped and counted (never a blocked or failed prediction)
    "LOG_QUEUE_SIZE": 10_000,
    # seconds between two drift / quality / alert rounds (one worker computes, all read the result)
    "MONITOR_INTERVAL": 60.0,
    # keep logged predictions this many days and at most this many rows (0 = no limit)
    "LOG_RETENTION_DAYS": 30,
    "LOG_RETENTION_ROWS": 5_000_000,
    # a Slack-compatible webhook that hears alerts fire and resolve (empty = none)
    "ALERT_WEBHOOK_URL": "",
    # sensitive features (a manifest's monitoring.sensitive) are stored as a keyed hash: the key,
    # or a file holding it; empty = a random key kept in the instance folder. "encrypt" features
    # need a Fernet key (or a file holding one) to be stored encrypted, else they are hashed too.
    "LOG_HASH_KEY": "",
    "LOG_HASH_KEY_FILE": "",
    "LOG_ENCRYPTION_KEY": "",
    "LOG_ENCRYPTION_KEY_FILE": "",
    # a file whose existence says this server start has checked and upgraded the database, so
    # later workers skip the check (gunicorn.conf.py sets it; empty = every process checks)
    "DATABASE_PREPARED_FLAG": "",
    # how many workers this server starts (gunicorn.conf.py sets it; 0 = not under gunicorn): a
    # server with several warns when its rate limits and quotas are counted per worker in memory
    "SERVER_WORKERS": 0,
}


def secret_key(config: dict[str, Any], instance_path: str) -> str:
    """SECRET_KEY from the config or environment, else from a 0600 file made once in the instance folder."""
    if config.get("SECRET_KEY"):
        return str(config["SECRET_KEY"])
    path = os.path.join(instance_path, "secret_key")
    if not os.path.exists(path):
        # workers start together: write a whole file aside, then link it into place (atomic, and
        # refused when another process won), so no worker ever reads a half-written key
        fd, tmp = tempfile.mkstemp(prefix=".secret_key-", dir=instance_path)  # mode 0600
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    with open(path, encoding="ascii") as fh:
        return fh.read().strip()
