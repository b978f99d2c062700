"""Train the demo models from data that ships inside scikit-learn, deterministically.

iris (two scikit-learn versions), diabetes (scikit-learn regressor), digits (Keras CNN on 8x8
images) and wine (Keras MLP): both frameworks serve both kinds of input from day one. movies (a
recommender, three methods as three versions, `recommender.py`) and helpdesk (a retrieval chat over
the project's own docs, `chat.py`) are the two kinds that take no tensor.
Each version carries held-out rows (`heldout.json`) so later checks can compare call paths.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from webapp.demos import chat, recommender
from webapp.demos.building import HELDOUT
from webapp.demos.keras_models import digits_v1, wine_v1
from webapp.demos.sklearn_models import diabetes_v1, iris_v1, iris_v2
from webapp.serving.models.store import ModelStore

__all__ = ["DEMOS", "HELDOUT", "train_demos"]
log = logging.getLogger(__name__)

DEMOS: dict[tuple[str, int], Callable[[Path], None]] = {
    ("iris", 1): iris_v1, ("iris", 2): iris_v2, ("diabetes", 1): diabetes_v1,
    ("digits", 1): digits_v1, ("wine", 1): wine_v1,
    **recommender.DEMOS, **chat.DEMOS,  # the film recommender (3 methods) and the helpdesk chat
}


def train_demos(store_root: str | os.PathLike[str], only: set[str] | None = None) -> list[str]:
    """Train and publish every demo version the store lacks; returns what was published."""
    store = ModelStore(store_root)
    store.root.mkdir(parents=True, exist_ok=True)
    published = []
    for (name, version), build in DEMOS.items():
        if only and name not in only:
            continue
        if (store.root / name / str(version) / "model.json").exists():
            continue
        with tempfile.TemporaryDirectory(prefix=".build-", dir=store.root) as tmp:
            build(Path(tmp))
            store.publish_dir(name, Path(tmp), version=version)
        published.append(f"{name}/{version}")
        log.info("Published demo model %s version %s", name, version)
    return published
