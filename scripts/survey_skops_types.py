"""List the type names real fitted scikit-learn estimators store in a skops file.

Run it after upgrading scikit-learn or skops and review the difference against
`webapp/serving/runtimes/skops_types.py` by hand: that list stays explicit on purpose.
`python scripts/survey_skops_types.py > survey.txt`
"""

from __future__ import annotations

import io
import sys
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from webapp.serving.runtimes.skops_types import names_in_schema, read_schema  # noqa: E402

KINDS = ("classifier", "regressor", "transformer", "cluster")


def fitted_instances():
    """(name, fitted estimator) for every estimator scikit-learn's own tests can build and fit."""
    from sklearn.datasets import load_iris
    from sklearn.utils import all_estimators
    from sklearn.utils._test_common.instance_generator import _construct_instances

    x, y = load_iris(return_X_y=True)
    targets = (y, (y > 0).astype(int), x[:, 0], np.stack([y, y > 0], axis=1), x[:, :2])
    for name, cls in all_estimators(type_filter=list(KINDS)):
        for estimator in _construct_instances(cls):
            fitted = _fit_any(estimator, x, targets)
            if fitted is None:
                print(f"# cannot fit {name} on numbers", file=sys.stderr)
            else:
                yield name, fitted


def _fit_any(estimator, x, targets):
    """The estimator fitted on the first target (classes, binary, values, multi-output) it accepts."""
    for target in targets:
        try:
            return estimator.fit(x, target)
        except Exception:  # text-only, precomputed-kernel or otherwise special estimators
            continue
    return None


def main() -> None:
    import skops.io as sio

    seen: dict[str, set[str]] = defaultdict(set)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, estimator in fitted_instances():
            buf = io.BytesIO()
            try:
                sio.dump(estimator, buf)
            except Exception as exc:
                print(f"# cannot dump {name}: {exc}", file=sys.stderr)
                continue
            for type_name in names_in_schema(read_schema(buf)):
                seen[type_name].add(name)
    for type_name in sorted(seen):
        print(f"{type_name}  # {', '.join(sorted(seen[type_name])[:3])}")


if __name__ == "__main__":
    np.random.seed(0)
    main()
