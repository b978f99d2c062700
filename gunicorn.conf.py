"""gunicorn settings for Podium: gthread workers, models loaded after fork, logs to stdout/stderr.

Every setting can be overridden with an environment variable (PODIUM_BIND, PODIUM_WORKERS, ...).
"""

import os
import shutil
import tempfile

_cores = os.cpu_count() or 1

bind = os.environ.get("PODIUM_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("PODIUM_WORKERS", max(2, _cores)))
threads = int(os.environ.get("PODIUM_THREADS", 8))
worker_class = "gthread"
# TensorFlow is not fork-safe: each worker imports it and loads its models after the fork.
preload_app = False
timeout = int(os.environ.get("PODIUM_TIMEOUT", 60))
graceful_timeout = int(os.environ.get("PODIUM_GRACEFUL_TIMEOUT", 30))
keepalive = int(os.environ.get("PODIUM_KEEPALIVE", 5))
# Each worker listens on its own SO_REUSEPORT socket, so the kernel spreads new connections over the
# workers; with one shared socket a keep-alive client's connections pile onto whichever worker
# accepted first and the other cores idle (measured in docs/performance.md).
reuse_port = os.environ.get("PODIUM_REUSE_PORT", "true").lower() in ("1", "true", "yes")
accesslog = os.environ.get("PODIUM_ACCESS_LOG", "-") or None  # empty: no access log
errorlog = "-"
loglevel = os.environ.get("PODIUM_GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
# gunicorn's control socket (for `gunicornc`) defaults to one path under $HOME, shared by every
# server of the user: off unless PODIUM_CONTROL_SOCKET names a path for this server.
if os.environ.get("PODIUM_CONTROL_SOCKET"):
    control_socket = os.environ["PODIUM_CONTROL_SOCKET"]
else:
    control_socket_disable = True
# Each worker sizes TensorFlow's thread pools to its share of the cores.
os.environ.setdefault("PODIUM_FRAMEWORK_THREADS", str(max(1, _cores // workers)))


def post_worker_init(worker):
    """Start loading and polling the model store inside the freshly forked worker."""
    app = worker.wsgi
    service = getattr(app, "extensions", {}).get("podium.service")
    if service is not None and app.config.get("BACKGROUND_LOADING", True):
        service.start()


# Prometheus multiprocess mode: every worker writes its samples under one folder, made fresh here in
# the master before any worker imports prometheus_client; /metrics sums the live workers' files.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="podium-metrics-")
    _own_metrics_dir = True
else:
    _own_metrics_dir = False


def child_exit(server, worker):
    """Drop a dead worker's live gauges from /metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
