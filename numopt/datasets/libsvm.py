"""LIBSVM / svmlight text files: a small NumPy parser and the LIBSVM data set loader."""

import os
from pathlib import Path

import numpy as np

from ._paths import PACKAGE_DATA, find_data_file

__all__ = ["load_libsvm", "read_svmlight", "shipped_libsvm"]


def read_svmlight(path, *, n_features=None):
    """Parse an svmlight/LIBSVM text file into a sparse matrix and its raw labels.

    Each non-blank line reads ``label index:value index:value ...``; text after ``#`` is a
    comment. Indices rise strictly within a line. As :func:`sklearn.datasets.load_svmlight_file`
    does by default, indices are taken as one-based unless an index ``0`` occurs in the file.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.
    n_features : int, optional
        Number of columns; defaults to the largest index found. Must not be smaller than that.

    Returns
    -------
    X : scipy.sparse.csr_matrix, shape (n_samples, n_features)
        The float64 features, explicit entries in file order.
    labels : numpy.ndarray, shape (n_samples,)
        The labels as written in the file, float64.

    Raises
    ------
    ValueError
        A malformed line (a token that is not ``index:value``, a non-integer or negative index,
        indices not strictly increasing), or ``n_features`` smaller than the largest index.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.datasets import read_svmlight, shipped_libsvm
    >>> X, labels = read_svmlight(shipped_libsvm()["heart_scale"])
    >>> X.shape, np.unique(labels)
    ((270, 13), array([-1.,  1.]))
    """
    import scipy.sparse

    raw = Path(path).read_bytes()
    lines = raw.splitlines()
    if b"#" in raw:
        lines = [line.split(b"#", 1)[0] for line in lines]
    # Split off the label: one string operation per line, the numbers are parsed by NumPy in bulk.
    rows = [line.split(None, 1) for line in lines]
    rows = [row for row in rows if row]
    label_tokens = [row[0] for row in rows]
    feature_text = [row[1] if len(row) == 2 else b"" for row in rows]
    counts = np.fromiter((text.count(b":") for text in feature_text), dtype=np.int64,
                         count=len(rows))
    tokens = b" ".join(feature_text).replace(b":", b" ").split()
    try:
        labels = np.array(label_tokens, dtype=np.bytes_).astype(np.float64)
        numbers = np.array(tokens, dtype=np.bytes_).astype(np.float64)
    except ValueError as exc:
        raise ValueError(f"{path}: not an svmlight file (a label or an index:value pair could "
                         f"not be read as a number: {exc}).") from None
    nnz = int(counts.sum())
    if numbers.size != 2 * nnz:
        raise ValueError(f"{path}: not an svmlight file (found {nnz} ':' separators but "
                         f"{numbers.size} numbers; every feature must read 'index:value').")
    index_values, values = numbers[0::2], numbers[1::2]
    indices = index_values.astype(np.int64)
    if nnz and (np.any(indices != index_values) or indices.min() < 0):
        raise ValueError(f"{path}: feature indices must be non-negative integers.")
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    # Indices must rise strictly inside each row; a row start may go down.
    rising = np.diff(indices) > 0
    rising[indptr[1:-1][(indptr[1:-1] > 0) & (indptr[1:-1] < nnz)] - 1] = True
    if not rising.all():
        line = int(np.searchsorted(indptr, np.flatnonzero(~rising)[0] + 1, side="right"))
        raise ValueError(f"{path}: feature indices must be strictly increasing within a line; "
                         f"data line {line} breaks this.")
    if nnz and indices.min() > 0:
        indices -= 1  # one-based file (the LIBSVM convention)
    needed = int(indices.max()) + 1 if nnz else 0
    if n_features is None:
        n_features = needed
    elif n_features < needed:
        raise ValueError(f"`n_features` must be at least {needed} (the largest feature index in "
                         f"{path}); got {n_features}.")
    X = scipy.sparse.csr_matrix((values, indices, indptr), shape=(len(rows), n_features))
    return X, labels


def shipped_libsvm():
    """The LIBSVM files that ship inside the package, as ``{name: path}``.

    Their provenance, licences and md5 sums are in ``numopt/datasets/data/README.md``.

    Returns
    -------
    dict of str to pathlib.Path
        File name -> path inside the installed package.

    Examples
    --------
    >>> from numopt.datasets import shipped_libsvm
    >>> sorted(shipped_libsvm())
    ['a1a', 'heart_scale', 'mushrooms']
    """
    return {path.name: path for path in sorted(PACKAGE_DATA.iterdir())
            if path.is_file() and not path.name.endswith(".md")}


def load_libsvm(name_or_path, *, n_features=None):
    """Load a LIBSVM binary classification data set as ``(X, y)`` with ``y`` in {-1, +1}.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        A data set name (``"a1a"``, ``"a9a"``, ``"mushrooms"``, ``"w8a"``, ...) or a file path.
        A name is looked up first among the files shipped in the package (a1a, heart_scale,
        mushrooms), then in ``$NUMOPT_DATA/libsvm/<name>``, then in ``shared/data/libsvm/<name>``
        in the nearest ancestor of the repository checkout or of the working directory holding a
        ``shared/data`` folder (``../shared/data`` beside the checkout). Setting the environment
        variable ``NUMOPT_SHARED_FALLBACK=0`` skips that last step (``$NUMOPT_DATA`` is still
        searched), as in a fresh clone with no ``shared/`` folder beside it.
    n_features : int, optional
        Number of columns, e.g. ``123`` so that a1a and a5a line up with a9a.

    Returns
    -------
    X : scipy.sparse.csr_matrix, shape (n_samples, n_features)
        The float64 features.
    y : numpy.ndarray, shape (n_samples,)
        The float64 labels. A file with exactly two distinct labels is mapped to -1/+1, the larger
        label becoming +1: 1/2 in mushrooms, 2/4 in breast-cancer_scale and 0/1 in phishing map
        to -1/+1; files already labelled -1/+1 are unchanged. Other label sets are returned as
        written.

    Raises
    ------
    FileNotFoundError
        The name is not found; the message lists every place searched.
    ValueError
        The file is not valid svmlight text, ``n_features`` is too small, or
        ``NUMOPT_SHARED_FALLBACK`` is set to something other than ``0`` or ``1``.

    See Also
    --------
    read_svmlight : The parser, without label mapping.
    numopt.problems.make_logistic : A logistic regression problem from a LIBSVM set.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.datasets import load_libsvm
    >>> X, y = load_libsvm("mushrooms")
    >>> X.shape, np.unique(y)
    ((8124, 112), array([-1.,  1.]))
    """
    path = Path(os.fspath(name_or_path)).expanduser()
    if not path.is_file():
        if path.name != str(name_or_path) or not str(name_or_path):
            raise FileNotFoundError(f"No LIBSVM file at {str(path)!r}.")
        path = find_data_file("libsvm", [path.name], shipped=True)
    X, labels = read_svmlight(path, n_features=n_features)
    classes = np.unique(labels)
    if classes.size == 2:
        labels = np.where(labels == classes[1], 1.0, -1.0)
    return X, labels
