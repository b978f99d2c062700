"""The app's long-lived objects, built once from config, and one accessor for each.

Views and commands reach them through these functions, never through `app.extensions[...]`.
"""

from __future__ import annotations

import os
from typing import Any, cast

from flask import Flask, current_app

from webapp.accounts.tokens import TokenStore
from webapp.accounts.users import UserStore
from webapp.serving.jobs.queue import JobQueue
from webapp.serving.jobs.store import BatchJobs
from webapp.serving.lifecycle.changes import Lifecycle
from webapp.serving.models.quantize_plan import parse_forms
from webapp.serving.monitored import Monitoring, build_monitoring, monitoring_settings, prepare_once
from webapp.serving.monitoring.database import open_database
from webapp.serving.runtimes.skops_types import parse_extension
from webapp.serving.sandbox import TrialLimits
from webapp.serving.scheduling.scheduler import Policy
from webapp.serving.service import ModelService, ServingOptions

SERVICE, LIFECYCLE, USERS, JOBS = "podium.service", "podium.lifecycle", "podium.users", "podium.jobs"
MONITORING, TOKENS = "podium.monitoring", "podium.tokens"


def service() -> ModelService:
    return cast(ModelService, current_app.extensions[SERVICE])


def lifecycle() -> Lifecycle:
    return cast(Lifecycle, current_app.extensions[LIFECYCLE])


def users() -> UserStore:
    return cast(UserStore, current_app.extensions[USERS])


def tokens() -> TokenStore:
    return cast(TokenStore, current_app.extensions[TOKENS])


def jobs() -> BatchJobs:
    return cast(BatchJobs, current_app.extensions[JOBS])


def monitoring() -> Monitoring | None:
    """The prediction log, feedback and monitor of this worker; None when MONITORING is off."""
    return cast("Monitoring | None", current_app.extensions[MONITORING])


def start_background(app: Flask) -> None:
    """Start loading the store and the monitoring threads (after the fork; idempotent)."""
    app.extensions[SERVICE].start()
    if app.extensions[MONITORING] is not None:
        app.extensions[MONITORING].start()


def _token_store(app: Flask, prepared: bool) -> TokenStore:
    """API tokens live in Podium's database, whose schema the monitoring start prepares; without
    monitoring, prepare it here (once per server start, as the monitoring would)."""
    config = app.config
    if not prepared:
        prepare_once(monitoring_settings(config, app.instance_path), config["DATABASE_PREPARED_FLAG"])
    db = open_database(config["DATABASE_URL"] or None, app.instance_path, check_file=False)
    return TokenStore(db, float(config["TOKEN_POLL_SECONDS"]))


def serving_options(config: Any) -> ServingOptions:
    """The serving core's options from the app's settings."""
    return ServingOptions(
        poll_interval=float(config["POLL_INTERVAL"]),
        trusted_models=frozenset(config["TRUSTED_MODELS"]),
        trusted_types=parse_extension(config["TRUSTED_TYPES"]),
        trial=TrialLimits(timeout=float(config["TRIAL_TIMEOUT"]),
                          memory_bytes=int(config["TRIAL_MEMORY_MB"]) * 1024**2,
                          cpu_seconds=int(config["TRIAL_CPU_SECONDS"])),
        max_batch_rows=int(config["MAX_BATCH_ROWS"]),
        max_image_pixels=int(config["MAX_IMAGE_PIXELS"]),
        framework_threads=int(config["FRAMEWORK_THREADS"]) or max(1, (os.cpu_count() or 1)),
        accelerate=bool(config["ACCELERATE"]),
        accelerate_timeout=float(config["ACCELERATE_TIMEOUT"]),
        quantize=parse_forms(config["QUANTIZE"], "PODIUM_QUANTIZE"),
        policy=Policy(max_batch_size=int(config["BATCH_MAX_SIZE"]),
                      max_delay_ms=float(config["BATCH_MAX_DELAY_MS"]),
                      max_queue=int(config["MAX_QUEUE"]),
                      deadline_s=float(config["REQUEST_DEADLINE"]),
                      cache_size=int(config["PREDICTION_CACHE_SIZE"])),
    )


def init_extensions(app: Flask) -> None:
    """Build the service, lifecycle, users and CSV jobs from the app's config."""
    config = app.config
    options = serving_options(config)
    model_service = ModelService(config["MODEL_STORE"], options)
    users_file = config["USERS_FILE"]
    app.extensions[SERVICE] = model_service
    app.extensions[LIFECYCLE] = Lifecycle(model_service)
    app.extensions[USERS] = UserStore(
        users_file if users_file.startswith("/") else os.path.join(app.instance_path, users_file),
        cache_seconds=float(config["AUTH_CACHE_SECONDS"]),
        max_failures=int(config["AUTH_MAX_FAILURES"]),
        lockout_window=float(config["AUTH_LOCKOUT_WINDOW"]))
    app.extensions[MONITORING] = watch = build_monitoring(config, app.instance_path, model_service)
    app.extensions[TOKENS] = _token_store(app, prepared=watch is not None)
    app.extensions[JOBS] = BatchJobs(
        os.path.join(app.instance_path, "jobs"), model_service,
        max_jobs=int(config["BATCH_MAX_JOBS"]), keep_seconds=float(config["BATCH_KEEP_SECONDS"]),
        chunk_rows=int(config["BATCH_CHUNK_ROWS"]), log=watch.log.submit if watch else None,
        queue=JobQueue(config["JOBS_BROKER_URL"], float(config["JOBS_VISIBILITY_TIMEOUT"]))
        if config["JOBS_BROKER_URL"] else None)

    @app.before_request
    def start_loading() -> None:
        # gunicorn starts it in post_worker_init; any other server on its first request
        if app.config["BACKGROUND_LOADING"]:
            start_background(app)
