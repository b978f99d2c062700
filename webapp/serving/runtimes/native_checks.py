"""Check the arrays that scikit-learn's compiled code indexes without bounds checks, after loading.

A trusted type is not trusted content: a decision tree whose stored child index points past its
last node makes `predict` read (and leak, or crash on) memory outside the tree. The type allowlist
cannot see that, so every tree and libsvm model inside a loaded estimator is checked here before
it answers anything. Types whose arrays we cannot check are kept off the allowlist instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from webapp.serving.errors import InvalidInput

MAX_OBJECTS = 1_000_000  # a walk over a hostile object graph must end


def check_estimator(estimator: Any) -> None:
    """Raise InvalidInput when a tree or libsvm model inside `estimator` holds out-of-range indices."""
    from sklearn.svm._base import BaseLibSVM
    from sklearn.tree._tree import Tree

    for owner in _objects(estimator):
        tree = getattr(owner, "tree_", None)
        if isinstance(tree, Tree):
            _check_tree(tree, getattr(owner, "n_features_in_", tree.n_features))
        if isinstance(owner, BaseLibSVM) and hasattr(owner, "support_"):
            _check_libsvm(owner)


def _objects(root: Any) -> Iterator[Any]:
    """Every object reachable from `root` through attributes, containers and object arrays."""
    seen: set[int] = set()
    stack = [root]
    while stack and len(seen) < MAX_OBJECTS:
        item = stack.pop()
        if id(item) in seen or isinstance(item, str | bytes | int | float | type(None)):
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set):
            stack.extend(item)
        elif isinstance(item, np.ndarray):
            if item.dtype == object:
                stack.extend(item.ravel().tolist())
        else:
            yield item
            stack.extend(getattr(item, "__dict__", {}).values())


def _check_tree(tree: Any, n_features: int) -> None:
    n = int(tree.node_count)
    left, right, feature = tree.children_left, tree.children_right, tree.feature
    node = np.arange(n)
    leaf = left == -1
    inner = ~leaf
    ok = (len(left) == len(right) == len(feature) == n and n > 0
          and tree.n_features == n_features
          and tree.value.shape[0] == n
          and np.all(right[leaf] == -1)
          # children come after their parent: no index past the end, and no cycle
          and np.all((left[inner] > node[inner]) & (left[inner] < n))
          and np.all((right[inner] > node[inner]) & (right[inner] < n))
          and np.all((feature[inner] >= 0) & (feature[inner] < n_features)))
    if not ok:
        raise InvalidInput("The model holds a decision tree whose node arrays are inconsistent "
                           "(indices out of range): refused")


def _check_libsvm(svm: Any) -> None:
    if svm._impl in ("c_svc", "nu_svc"):  # one row of dual coefficients per class but one
        classes = len(svm._n_support)
        n_sv, rows, pairs = int(np.sum(svm._n_support)), classes - 1, classes * (classes - 1) // 2
    else:  # regressors and one-class: libsvm stores the count twice
        n_sv, rows, pairs = int(svm._n_support[0]), 1, 1
    ok = (len(svm.support_) == n_sv == svm.support_vectors_.shape[0]
          and svm._dual_coef_.shape == (rows, n_sv)
          and len(svm._intercept_) == pairs
          and len(svm._probA) in (0, pairs)
          and len(svm._probB) == len(svm._probA)
          and np.all((svm.support_ >= 0) & (svm.support_ < max(svm.shape_fit_[0], 1))))
    if not ok:
        raise InvalidInput("The model holds a support vector machine whose arrays are inconsistent: "
                           "refused")
