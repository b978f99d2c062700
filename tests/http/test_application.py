"""PodiumFlask remembers which callables are synchronous: the answers must stay Flask's own, and
what it remembers must stay bounded however many requests come."""

from __future__ import annotations

import pytest

from webapp.http.application import REMEMBERED, PodiumFlask


def test_views_answer_and_hooks_run_across_many_requests():
    app = PodiumFlask(__name__)
    seen: list[str] = []

    @app.before_request
    def before() -> None:
        seen.append("before")

    @app.get("/ping")
    def ping():
        return {"pong": True}

    client = app.test_client()
    for _ in range(3):
        assert client.get("/ping").get_json() == {"pong": True}
    assert seen == ["before"] * 3
    assert set(app._sync) == {before, ping}  # remembered once each, however many requests


def test_bound_methods_are_never_remembered():
    """A bound method is a new object on every attribute access: remembering it would grow
    without end."""
    app = PodiumFlask(__name__)

    class Handler:
        def run(self) -> str:
            return "ran"

    for _ in range(100):
        assert app.ensure_sync(Handler().run)() == "ran"
    assert app._sync == {}


def test_remembered_functions_are_capped():
    app = PodiumFlask(__name__)
    for _ in range(REMEMBERED + 10):
        exec_globals: dict = {}
        exec("def f():\n    return 1", exec_globals)  # a distinct function object each time
        assert app.ensure_sync(exec_globals["f"])() == 1
    assert len(app._sync) == REMEMBERED


def test_a_coroutine_view_is_refused_as_flask_refuses_it():
    """Podium has no async views; without Flask's async extra one is refused, not run wrongly."""
    app = PodiumFlask(__name__)

    async def view():
        return "never"

    with pytest.raises(RuntimeError, match="async"):
        app.ensure_sync(view)
