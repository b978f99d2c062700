"""Podium's Flask class: Flask, less a cost it pays on every request for a feature Podium does not use.

Flask asks `ensure_sync(func)` before calling each view, each before- and after-request hook and each
error handler (15 times per API request here) and answers it with `inspect.iscoroutinefunction`, a
walk of the function's code flags, to support `async def` views. Podium has none, and a function's
kind never changes, so the answer is remembered per function. Only plain functions are remembered
(a bound method is a new object on every access) and only so many, so the memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from types import FunctionType
from typing import Any

from flask import Flask

REMEMBERED = 4096  # far more than the app's views, hooks and handlers together


class PodiumFlask(Flask):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        if type(func) is not FunctionType:
            return super().ensure_sync(func)
        known = self._sync.get(func)
        if known is None:
            known = super().ensure_sync(func)
            if len(self._sync) < REMEMBERED:
                self._sync[func] = known
        return known
