"""Arrays on disk in safe formats: `.npz` read with `allow_pickle=False`, sparse matrices as plain arrays.

Shared by the model kinds whose artifacts are arrays (recommenders, retrieval indexes); nothing read
here can run code.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .errors import InvalidInput


def read_npz(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The named arrays of an `.npz`, never unpickling; raises InvalidInput naming the file."""
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as f:
            return {key: f[key] for key in keys}
    except FileNotFoundError:
        raise InvalidInput(f"Invalid artifact: {path.name} is missing") from None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise InvalidInput(f"Invalid artifact: cannot read {path.name} ({exc})") from None


def save_csr(path: Path, matrix: sp.spmatrix) -> None:
    """Write a sparse matrix as CSR arrays (float32 values), no pickled objects."""
    m = sp.csr_matrix(matrix)
    np.savez_compressed(path, data=m.data.astype(np.float32), indices=m.indices.astype(np.int32),
                        indptr=m.indptr.astype(np.int64), shape=np.asarray(m.shape, dtype=np.int64))


def load_csr(path: Path) -> sp.csr_matrix:
    """Read a matrix written by `save_csr`; raises InvalidInput when it is malformed or not finite."""
    f = read_npz(path, ("data", "indices", "indptr", "shape"))
    try:
        shape = tuple(int(x) for x in f["shape"])
        matrix = sp.csr_matrix((f["data"].astype(np.float32), f["indices"], f["indptr"]), shape=shape)
        matrix.check_format(full_check=True)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"Invalid artifact: cannot read {path.name} ({exc})") from None
    if not np.isfinite(matrix.data).all():
        raise InvalidInput(f"Invalid artifact: {path.name} holds values that are not finite")
    return matrix
