"""A recommender call as the service runs it: rows of "for this user", "like these items" or "similar
to this item", whatever protocol (TF Serving's, the Open Inference Protocol, a page, the CLI) sent them.

Rows for known users with the same `k` are scored together in one vectorised block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webapp.serving.errors import InvalidInput

from .runtime import Recommendation, Recommender

MAX_ROWS = 10_000
FIELDS = {"user", "items", "item", "k", "exclude_seen"}


@dataclass(frozen=True)
class RecommendRow:
    """One request row. `items` is a cold start (a new user's first picks); `item` asks similar items."""

    user: str | None = None
    items: tuple[str, ...] | None = None
    item: str | None = None
    k: int | None = None
    exclude_seen: bool = True

    @classmethod
    def from_value(cls, value: Any, similar: bool = False, k: Any = None) -> RecommendRow:
        """A row from a JSON value: an id string (a user, or an item when `similar`), or an object."""
        if isinstance(value, str):
            return cls(item=value, k=k) if similar else cls(user=value, k=k)
        if not isinstance(value, dict):
            raise InvalidInput("Each instance must be an id string or an object such as "
                               '{"user": "u0042", "k": 10}')
        unknown = sorted(set(value) - FIELDS)
        if unknown:
            raise InvalidInput(f"Unknown field {unknown[0]!r}; a row takes {sorted(FIELDS)}")
        items = value.get("items")
        if items is not None and (not isinstance(items, list) or not all(isinstance(i, str) for i in items)):
            raise InvalidInput("'items' must be a list of item id strings")
        exclude = value.get("exclude_seen", True)
        if not isinstance(exclude, bool):
            raise InvalidInput("'exclude_seen' must be true or false")
        row = cls(value.get("user"), tuple(items) if items is not None else None, value.get("item"),
                  value.get("k", k), exclude)
        if similar and row.item is None:
            raise InvalidInput("The similar_items signature needs an 'item' in each instance")
        if not similar and row.item is not None:
            raise InvalidInput("'item' asks for similar items: send signature_name 'similar_items'")
        for name in ("user", "item"):
            if getattr(row, name) is not None and not isinstance(getattr(row, name), str):
                raise InvalidInput(f"'{name}' must be an id string")
        return row


@dataclass(frozen=True)
class RecommendQuery:
    """The rows of one request; `ask` answers one Recommendation per row, in order."""

    rows: tuple[RecommendRow, ...]
    task = "recommendation"

    def __post_init__(self) -> None:
        if not self.rows:
            raise InvalidInput("Send at least one instance")
        if len(self.rows) > MAX_ROWS:
            raise InvalidInput(f"At most {MAX_ROWS} instances in one request, got {len(self.rows)}")

    def ask(self, rec: Recommender, spec: object = None) -> list[Recommendation]:
        answers: list[Recommendation | None] = [None] * len(self.rows)
        groups: dict[tuple[Any, bool], list[int]] = {}
        for i, row in enumerate(self.rows):
            if row.item is not None:
                answers[i] = rec.similar_items(row.item, row.k)
            elif row.items is not None and (row.user is None or row.user not in rec.user_index):
                answers[i] = rec.recommend_from_items(list(row.items), row.k, row.exclude_seen)
            elif row.user is not None:
                groups.setdefault((row.k, row.exclude_seen), []).append(i)
            else:
                answers[i] = rec.popular(row.k)
        for (k, exclude), where in groups.items():
            found = rec.recommend([self.rows[i].user for i in where], k, exclude)  # type: ignore[misc]
            for i, answer in zip(where, found, strict=True):
                answers[i] = answer
        return answers  # type: ignore[return-value]


@dataclass(frozen=True)
class Profile:
    """A user's history and their top-k in one call (the recommender page): `(history, recommendation)`,
    history as (item id, name, value) strongest first; an unknown user has none and gets the popular items."""

    user: str
    k: int | None = None
    task = "recommendation"

    def ask(self, rec: Recommender, spec: object = None) -> tuple[list[tuple[str, str, float]],
                                                                  Recommendation]:
        known = self.user in rec.user_index
        found = rec.recommend([self.user], self.k)[0]
        return (rec.history(self.user) if known else []), found
