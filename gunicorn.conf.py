"""gunicorn settings for Podium: gthread workers, models loaded after fork, logs to stdout/stderr.

Every setting can be overridden with an environment variable (PODIUM_BIND, PODIUM_WORKERS, ...).
The hooks below keep every request answered across a reload (HUP), a worker's recycling and a stop
(TERM): see docs/deploy.md ("No request lost").
"""

import gc
import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
import time

_cores = os.cpu_count() or 1
_TRUE = ("1", "true", "yes")

ADDRESS = os.environ.get("PODIUM_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("PODIUM_WORKERS", max(2, _cores)))
# the app warns when it counts rate limits and quotas in memory, per worker, under several workers
os.environ["PODIUM_SERVER_WORKERS"] = str(workers)
threads = int(os.environ.get("PODIUM_THREADS", 8))
worker_class = "gthread"
# gunicorn's C parser for request lines and headers (gunicorn-h1c, picohttpparser) when installed,
# as requirements.txt has it: a worker spends less of each small request parsing HTTP in Python.
# "python" forces the pure-Python parser (for a comparison, or if the C one ever misbehaves).
http_parser = os.environ.get("PODIUM_HTTP_PARSER", "auto")
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
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-podium-request-id}o)s cid=%({x-request-id}o)s'
# gunicorn's control socket (for `gunicornc`) defaults to one path under $HOME, shared by every
# server of the user: off unless PODIUM_CONTROL_SOCKET names a path for this server.
if os.environ.get("PODIUM_CONTROL_SOCKET"):
    control_socket = os.environ["PODIUM_CONTROL_SOCKET"]
else:
    control_socket_disable = True
# Each worker sizes TensorFlow's thread pools to its share of the cores.
os.environ.setdefault("PODIUM_FRAMEWORK_THREADS", str(max(1, _cores // workers)))

# One folder per server, made in the master before any fork and kept across reloads (HUP runs this
# file again; the environment keeps the first path): the drain flag, the "a worker has loaded the
# store" flag and the Prometheus multiprocess files live here.
if not os.environ.get("PODIUM_RUN_DIR"):
    os.environ["PODIUM_RUN_DIR"] = tempfile.mkdtemp(prefix="podium-run-")
RUN_DIR = os.environ["PODIUM_RUN_DIR"]
os.environ["PODIUM_DRAIN_FLAG"] = os.path.join(RUN_DIR, "draining")
LOADED_FLAG = os.path.join(RUN_DIR, "loaded")
# the first worker of a start checks and upgrades Podium's database; later ones skip the file check
os.environ["PODIUM_DATABASE_PREPARED_FLAG"] = os.path.join(RUN_DIR, "database-prepared")
# seconds /readyz answers 503 after SIGTERM while requests are still served, before the stop
DRAIN_SECONDS = float(os.environ.get("PODIUM_DRAIN_SECONDS", 0))
# longest a replacement worker waits for its models before it takes connections anyway
WARMUP_TIMEOUT = float(os.environ.get("PODIUM_WARMUP_TIMEOUT", 300))
# true: the first workers of a start wait for their models too, and each slot's socket listens only
# once its worker has loaded: until then connections are refused, so a proxy in front (nginx has no
# health checks) sends them to another instance instead of to one that answers "still loading".
LISTEN_WHEN_LOADED = os.environ.get("PODIUM_LISTEN_WHEN_LOADED", "false").lower() in _TRUE

# Listening sockets. One shared socket lets a keep-alive client's connections pile onto whichever
# worker accepted first (docs/performance.md); one SO_REUSEPORT socket per worker spreads them, but
# gunicorn's own reuse_port opens each in its worker, so a worker that exits (reload, recycling)
# resets the connections queued on it. Here the master opens one SO_REUSEPORT socket per worker
# *slot* and keeps it for the server's life: the kernel spreads new connections over the slots, each
# worker accepts on its slot's socket, and a replacement worker takes over the queue its predecessor
# left. gunicorn itself only binds an unused Unix socket. PODIUM_REUSE_PORT=false: one shared socket.
SLOTS = (os.environ.get("PODIUM_REUSE_PORT", "true").lower() in _TRUE
         and hasattr(socket, "SO_REUSEPORT") and not ADDRESS.startswith(("unix:", "fd://")))
bind = f"unix:{os.path.join(RUN_DIR, 'gunicorn.sock')}" if SLOTS else ADDRESS


def _listen(backlog: int) -> socket.socket:
    """A listening socket with gunicorn's own options (TCP_NODELAY: no 40 ms Nagle stalls); only
    bound, not yet listening, when its worker listens once loaded (PODIUM_LISTEN_WHEN_LOADED)."""
    host, _, port = ADDRESS.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, int(port)))
    sock.setblocking(False)
    if not LISTEN_WHEN_LOADED:
        sock.listen(backlog)
    return sock


def _slots(server) -> list[socket.socket]:
    """The master's slot sockets, one per worker; kept on the arbiter, which outlives reloads."""
    slots = server.__dict__.setdefault("podium_slots", [])
    while len(slots) < server.num_workers:
        slots.append(_listen(server.cfg.backlog))
    return slots


def on_starting(server):
    """Bind before any worker starts, so a taken address stops the server at once."""
    if SLOTS:
        _slots(server)


def pre_fork(server, worker):
    """Give the worker about to start the slot with the fewest live workers (its predecessor's)."""
    if not SLOTS:
        return
    slots = _slots(server)
    live = [getattr(w, "podium_slot", None) for w in server.WORKERS.values()]
    worker.podium_slot = min(range(len(slots)), key=lambda k: (live.count(k), k))


def post_fork(server, worker):
    """In the new worker: accept on its slot's socket only."""
    if SLOTS:
        worker.sockets = [server.podium_slots[worker.podium_slot]]


# Prometheus multiprocess mode: every worker writes its samples under one folder, made fresh here in
# the master before any worker imports prometheus_client; /metrics sums the live workers' files.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.path.join(RUN_DIR, "metrics")
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def when_ready(server):
    """Say where Podium listens, and turn SIGTERM into drain-then-stop."""
    if SLOTS:
        server.log.info("Listening at: http://%s (one SO_REUSEPORT socket per worker slot)", ADDRESS)
        server.stop = _closing_slots_first(server, server.stop)
    if DRAIN_SECONDS > 0:
        server.handle_term = _draining_term(server, server.handle_term)


def _closing_slots_first(server, stop):
    """On stop, refuse new connections at once (as gunicorn does with its own sockets), so a client
    or proxy retries elsewhere instead of waiting in a queue no worker will take."""

    def stop_closing_slots(graceful=True):
        for sock in server.__dict__.pop("podium_slots", []):
            sock.close()
        stop(graceful)

    return stop_closing_slots


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
    With PODIUM_LISTEN_WHEN_LOADED every worker waits, then its slot's socket starts listening.
    """
    app = worker.wsgi
    service = getattr(app, "extensions", {}).get("podium.service")
    if service is None or not app.config.get("BACKGROUND_LOADING", True):
        return
    service.start()
    if app.extensions.get("podium.monitoring") is not None:  # the prediction log's writer, the monitor
        app.extensions["podium.monitoring"].start()
    if os.path.exists(LOADED_FLAG) or LISTEN_WHEN_LOADED:
        deadline = time.monotonic() + WARMUP_TIMEOUT
        while worker.alive and time.monotonic() < deadline and not service.wait_loaded(0.5):
            worker.notify()  # the master kills a worker that stays silent for `timeout`
        _mark_loaded()
        _freeze_heap()
        if SLOTS and LISTEN_WHEN_LOADED:
            for sock in worker.sockets:  # the master's socket: listening on it here is for both
                sock.listen(worker.cfg.backlog)
    else:
        threading.Thread(target=lambda: service.wait_loaded(None) and _mark_loaded() and _freeze_heap(),
                         name="podium-loaded-flag", daemon=True).start()


def _mark_loaded():
    open(LOADED_FLAG, "a").close()
    return True


def _freeze_heap():
    """Once the models are in: leave everything alive now out of later garbage collections.

    A full collection walks every tracked object, and a worker holding its models has about 160,000
    of them: each one stopped every thread for tens of milliseconds (tail stalls at one connection,
    docs/benchmarks.md). Frozen objects are still freed by reference counting; only the walk for
    cycles skips them.
    """
    gc.collect()
    gc.freeze()
    logging.getLogger("gunicorn.error").info("Models loaded: %d objects left out of garbage collection",
                                             gc.get_freeze_count())
    return True


def worker_exit(server, worker):
    """In the stopping worker: write the prediction log records it still holds (up to 10 s)."""
    monitoring = getattr(worker.wsgi, "extensions", {}).get("podium.monitoring")
    if monitoring is not None:
        monitoring.close()


def child_exit(server, worker):
    """Drop a dead worker's live gauges from /metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    shutil.rmtree(RUN_DIR, ignore_errors=True)
