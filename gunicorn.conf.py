"""gunicorn settings for Podium: gthread workers, models loaded after fork, logs to stdout/stderr.

Every setting can be overridden with an environment variable (PODIUM_BIND, PODIUM_WORKERS, ...).
The hooks below keep every request answered across a reload (HUP), a worker's recycling and a stop
(TERM): see docs/deploy.md ("No request lost").
"""

import os
import shutil
import signal
import tempfile
import threading
import time

_cores = os.cpu_count() or 1
_TRUE = ("1", "true", "yes")

bind = os.environ.get("PODIUM_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("PODIUM_WORKERS", max(2, _cores)))
threads = int(os.environ.get("PODIUM_THREADS", 8))
worker_class = "gthread"
# TensorFlow is not fork-safe: each worker imports it and loads its models after the fork.
preload_app = False
timeout = int(os.environ.get("PODIUM_TIMEOUT", 60))
graceful_timeout = int(os.environ.get("PODIUM_GRACEFUL_TIMEOUT", 30))
keepalive = int(os.environ.get("PODIUM_KEEPALIVE", 5))
# Recycle a worker after about this many requests (the jitter keeps workers from restarting
# together), so slow memory growth in a framework stays bounded; 0 turns it off.
max_requests = int(os.environ.get("PODIUM_MAX_REQUESTS", 100_000))
max_requests_jitter = int(os.environ.get("PODIUM_MAX_REQUESTS_JITTER", max_requests // 10))
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

MIGRATE_REQ = "/proc/sys/net/ipv4/tcp_migrate_req"


def _request_migration() -> bool:
    """Whether the kernel hands a closing SO_REUSEPORT socket's queued connections to its siblings."""
    try:
        with open(MIGRATE_REQ, encoding="ascii") as fh:
            return fh.read().strip() == "1"
    except OSError:
        return False


def _reuse_port(wanted: str) -> bool:
    """One socket per worker only where no connection is lost when a worker exits (see docstring).

    Per-worker SO_REUSEPORT sockets spread keep-alive connections evenly over the workers (one
    shared socket lets them pile onto whichever worker accepted first: docs/performance.md), but
    the connections queued on an exiting worker's socket are reset unless the network namespace
    has net.ipv4.tcp_migrate_req=1. "auto" (the default) takes per-worker sockets exactly then.
    """
    if wanted in _TRUE:
        return True
    return wanted == "auto" and _request_migration()


reuse_port = _reuse_port(os.environ.get("PODIUM_REUSE_PORT", "auto").lower())

# One folder per server, made in the master before any fork and kept across reloads (HUP runs this
# file again; the environment keeps the first path): the drain flag, the "a worker has loaded the
# store" flag and the Prometheus multiprocess files live here.
if not os.environ.get("PODIUM_RUN_DIR"):
    os.environ["PODIUM_RUN_DIR"] = tempfile.mkdtemp(prefix="podium-run-")
RUN_DIR = os.environ["PODIUM_RUN_DIR"]
os.environ["PODIUM_DRAIN_FLAG"] = os.path.join(RUN_DIR, "draining")
LOADED_FLAG = os.path.join(RUN_DIR, "loaded")
# seconds /readyz answers 503 after SIGTERM while requests are still served, before the stop
DRAIN_SECONDS = float(os.environ.get("PODIUM_DRAIN_SECONDS", 0))
# longest a replacement worker waits for its models before it takes connections anyway
WARMUP_TIMEOUT = float(os.environ.get("PODIUM_WARMUP_TIMEOUT", 300))

# Prometheus multiprocess mode: every worker writes its samples under one folder, made fresh here in
# the master before any worker imports prometheus_client; /metrics sums the live workers' files.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.path.join(RUN_DIR, "metrics")
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def when_ready(server):
    """Say which socket layout this server uses, and turn SIGTERM into drain-then-stop."""
    if reuse_port:
        server.log.info("One SO_REUSEPORT socket per worker (net.ipv4.tcp_migrate_req=%s)",
                        "1" if _request_migration() else "0: connections queued on an exiting "
                        "worker are reset")
    else:
        server.log.info("One shared listening socket (set net.ipv4.tcp_migrate_req=1 for one "
                        "socket per worker without losing connections on reload)")
    if DRAIN_SECONDS > 0:
        server.handle_term = _draining_term(server, server.handle_term)


def _draining_term(server, stop):
    """A SIGTERM handler: the first raises the drain flag (readiness 503) and schedules the stop."""

    def handle_term():
        flag = os.environ["PODIUM_DRAIN_FLAG"]
        if os.path.exists(flag):  # the scheduled stop, or an impatient second TERM
            return stop()  # raises StopIteration: gunicorn's graceful stop
        open(flag, "w").close()
        server.log.info("Draining for %.1fs: /readyz answers 503, requests are still served",
                        DRAIN_SECONDS)
        timer = threading.Timer(DRAIN_SECONDS, os.kill, (os.getpid(), signal.SIGTERM))
        timer.daemon = True
        timer.start()

    return handle_term


def post_worker_init(worker):
    """Start loading the model store; a replacement worker takes connections only once loaded.

    The first workers of a server start answering at once (/readyz says what is still loading).
    A worker started later (reload, recycling, a crash) has siblings that already served: it waits
    for its own models first, so no request reaches a worker that would answer "still loading".
    """
    app = worker.wsgi
    service = getattr(app, "extensions", {}).get("podium.service")
    if service is None or not app.config.get("BACKGROUND_LOADING", True):
        return
    service.start()
    if os.path.exists(LOADED_FLAG):
        deadline = time.monotonic() + WARMUP_TIMEOUT
        while worker.alive and time.monotonic() < deadline and not service.wait_loaded(0.5):
            worker.notify()  # the master kills a worker that stays silent for `timeout`
        _mark_loaded()
    else:
        threading.Thread(target=lambda: service.wait_loaded(None) and _mark_loaded(),
                         name="podium-loaded-flag", daemon=True).start()


def _mark_loaded():
    open(LOADED_FLAG, "a").close()
    return True


def child_exit(server, worker):
    """Drop a dead worker's live gauges from /metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    shutil.rmtree(RUN_DIR, ignore_errors=True)
