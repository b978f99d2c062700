"""What a token check and the rate limiter cost a real gunicorn Podium: iris throughput with basic
auth (a password, verified once and then remembered for AUTH_CACHE_SECONDS) against a bearer token,
and without against with a rate limit high enough never to trip (memory storage), the three
started back to back `--repeat` times, the prediction log off in all three; then the same checks
timed alone, in process. Run through `scripts/bench/run`:

    scripts/bench/run --only auth --concurrency 32 --seconds 10 --repeat 3
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path

from scripts.bench.pairs import Mode, cost_table, run_modes, runs_table
from scripts.bench.recommend import timed

# never reached: iris runs at a few thousand requests a second. (The memory storage's moving
# window keeps one entry per request in the window, so a limit's cost grows with the requests a
# client makes within it; a second's window keeps that near the real rate.)
NEVER = "1000000/second"
CALLS = 5000


def run_auth(bench, tmp: Path, store: Path, cases: dict, gunicorn: list[str], args) -> str:
    """`--repeat` rounds of three runs of iris v1 JSON; the runs, the costs, the in-process figures."""
    database = tmp / "auth.sqlite3"
    app = bench_app(tmp, store, database)
    secret = app.extensions["podium.tokens"].create(bench.USER[0], "bench")[0]
    quiet = {"PODIUM_MONITORING": "false"}  # the prediction log's writer would blur the difference
    modes = {"basic": Mode(quiet), "bearer token": Mode(quiet, auth=f"Bearer {secret}"),
             "basic + limiter": Mode({**quiet, "PODIUM_RATE_LIMIT": NEVER,
                                      "PODIUM_RATE_LIMIT_STORAGE_URL": "memory://"})}
    rows = run_modes(bench, tmp, store, cases["iris"][0], gunicorn, args, modes, database)
    return "\n\n".join([runs_table(rows, "credentials"),
                        cost_table(rows, [("basic", "bearer token"), ("basic", "basic + limiter")]),
                        in_process(app, bench.USER, secret)])


def bench_app(tmp: Path, store: Path, database: Path):
    """Podium in this process over the bench's users and database (its models not loaded)."""
    from webapp import create_app

    return create_app({"TESTING": True, "MODEL_STORE": str(store), "BACKGROUND_LOADING": False,
                       "CREATE_ADMIN": False, "SECRET_KEY": "bench", "USERS_FILE": str(tmp / "users.json"),
                       "INSTANCE_PATH": str(tmp / "instance"), "DATABASE_URL": f"sqlite:///{database}"})


def in_process(app, user: tuple[str, str], secret: str) -> str:
    """Median µs of each check alone, as a request makes it (one thread, no HTTP)."""
    from limits.storage import MemoryStorage

    from webapp.http.auth import TOKEN_CLIENT
    from webapp.http.ratelimit import RateLimits, caller_keys

    users, tokens = app.extensions["podium.users"], app.extensions["podium.tokens"]
    keys = caller_keys(user[0], None)
    limits = RateLimits(NEVER, {}, MemoryStorage())  # one window, filling as a worker's would
    checks: dict[str, Callable[[], object]] = {
        "password (basic auth, remembered)": lambda: users.authenticate(*user, "127.0.0.1"),
        "API token alone (SHA-256 + lookup)": lambda: tokens.check(secret),
        "API token as auth checks it (+ lockout file, user)": lambda: (
            users.locked_out(TOKEN_CLIENT, "127.0.0.1"), tokens.check(secret), users.list().get(user[0])),
        f"rate limiter ({NEVER}, memory, up to {CALLS} requests in its window)": lambda: limits.hit(keys),
    }
    lines = ["| check, in process | µs per call (median) |", "|---|---|"]
    for name, check in checks.items():
        median_ms = statistics.median(timed(lambda _i, c=check: c(), CALLS))
        lines.append(f"| {name} | {median_ms * 1000:.1f} |")
    return "\n".join(lines)
