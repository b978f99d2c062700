"""The login lockout is counted in files beside the users file, so every worker process and every
instance sharing the users sees the same failures (a count in memory gave each its own)."""

from __future__ import annotations

import os
import time

from webapp.accounts.users import UserStore


def _stores(folder, count: int = 2, **limits) -> list[UserStore]:
    first = UserStore(folder / "users.json", **limits)
    first.add("erin", "erin-password", "user")
    return [first] + [UserStore(folder / "users.json", **limits) for _ in range(count - 1)]


def test_failures_on_two_stores_add_up_to_one_lockout(tmp_path):
    a, b = _stores(tmp_path, max_failures=4, lockout_window=60)
    for store in (a, b, a, b):
        assert store.authenticate("erin", "wrong", "10.0.0.1") == (None, 0.0)
    for store in (a, b):
        role, wait = store.authenticate("erin", "erin-password", "10.0.0.1")
        assert role is None
        assert 1.0 <= wait <= 60
    # another client, and another user from the same client, are not locked
    assert b.authenticate("erin", "erin-password", "10.0.0.2") == ("user", 0.0)
    assert a.locked_out("frank", "10.0.0.1") == 0.0


def test_the_lockout_ends_with_its_window(tmp_path):
    (store,) = _stores(tmp_path, count=1, max_failures=2, lockout_window=0.5)
    for _ in range(2):
        store.authenticate("erin", "wrong", "c")
    assert store.locked_out("erin", "c") > 0
    time.sleep(0.6)
    assert store.authenticate("erin", "erin-password", "c") == ("user", 0.0)


def test_the_files_are_private_and_hold_no_names(tmp_path):
    (store,) = _stores(tmp_path, count=1)
    store.authenticate("erin", "wrong", "10.0.0.1")
    folder = tmp_path / ".lockout"
    assert oct(os.stat(folder).st_mode & 0o777) == "0o700"
    (path,) = folder.iterdir()
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert "erin" not in path.name
    assert "10.0.0.1" not in path.read_text()


def test_a_read_only_folder_still_answers(tmp_path):
    (store,) = _stores(tmp_path, count=1, max_failures=1)
    (tmp_path / ".lockout").write_text("not a folder")  # nothing can be written there
    assert store.authenticate("erin", "wrong", "c") == (None, 0.0)
    assert store.authenticate("erin", "erin-password", "c") == ("user", 0.0)
