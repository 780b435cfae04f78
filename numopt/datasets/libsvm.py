"""LIBSVM / svmlight text files: a small NumPy parser and the LIBSVM data set loader."""

import os
import re
from pathlib import Path

import numpy as np

from ._paths import PACKAGE_DATA, find_data_file

__all__ = ["load_libsvm", "read_svmlight", "shipped_libsvm"]

# bytes.split() separates tokens on b" " and these five ASCII bytes; mapping them to b" " lets
# plain substring tests see every token boundary.
_WHITESPACE_TO_SPACE = bytes.maketrans(b"\t\n\r\x0b\x0c", b"     ")
# Two colons inside one token ("1:2:3").
_TWO_COLONS = re.compile(rb":[^ :]*:")


def _check_path(value, name, function):
    """Reject what is not a path before ``Path()`` raises a message that names no argument."""
    from numopt._core.validation import _parameter_message

    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(_parameter_message(name, function, "a str or os.PathLike", value))


def _parse_numbers(tokens, dtype, what):
    """``tokens`` (bytes) as a ``dtype`` array, read as Python's ``int`` / ``float`` read them."""
    try:
        numbers = np.array(tokens, dtype=dtype)
    except (ValueError, OverflowError):
        kind = "an integer below 2**63" if dtype is np.int64 else "a number"
        raise ValueError(f"{what} is not {kind}") from None
    if dtype is np.float64 and not np.isfinite(numbers).all():
        raise ValueError(f"{what} is not finite (NaN or infinity)")
    return numbers


def _drop_qid(features):
    """The feature text without a leading ``qid:<integer>`` token, which svmlight allows there."""
    if not features.startswith(b"qid"):
        return features
    parts = features.split(None, 1)
    if not parts[0].startswith(b"qid:"):
        raise ValueError("a token starting with 'qid' must read qid:<integer>")
    _parse_numbers([parts[0][4:]], np.int64, "the qid")
    return parts[1] if len(parts) == 2 else b""


def _parse_rows(rows):
    """Parse rows ``[label]`` or ``[label, features]`` (comments and blank lines removed) in bulk.

    Every check concerns one row alone, so the first bad row of a batch that fails can be found
    by parsing halves of it (see :func:`_first_bad_row`).

    Returns
    -------
    labels, indices, values, indptr : numpy.ndarray
        The float64 labels, the raw int64 feature indices (as written), their float64 values and
        the CSR row pointer.
    """
    labels = _parse_numbers([row[0] for row in rows], np.float64, "the label")
    texts = [row[1] if len(row) == 2 else b"" for row in rows]
    joined = b" ".join(texts)
    if b"qid" in joined:
        texts = [_drop_qid(text) for text in texts]
        joined = b" ".join(texts)
    counts = np.fromiter((text.count(b":") for text in texts), dtype=np.int64, count=len(texts))
    spaced = joined.translate(_WHITESPACE_TO_SPACE)
    # Each whitespace-separated token must hold one ':' between two non-empty parts: with no
    # empty part and no token holding two colons, the pieces between spaces and colons number
    # twice the colons exactly when no token lacks its colon.
    pieces = spaced.replace(b":", b" ").split()
    if (spaced.startswith(b":") or spaced.endswith(b":") or b" :" in spaced or b": " in spaced
            or _TWO_COLONS.search(spaced) or len(pieces) != 2 * int(counts.sum())):
        raise ValueError("a feature does not read index:value (one ':' between an integer and a "
                         "number, features separated by whitespace)")
    indices = _parse_numbers(pieces[0::2], np.int64, "a feature index")
    values = _parse_numbers(pieces[1::2], np.float64, "a feature value")
    if indices.size and indices.min() < 0:
        raise ValueError("a feature index is negative")
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    # Indices must rise strictly inside each row; a row start may go down.
    rising = np.diff(indices) > 0
    row_starts = indptr[1:-1]
    rising[row_starts[(row_starts > 0) & (row_starts < indices.size)] - 1] = True
    if not rising.all():
        raise ValueError("feature indices are not strictly increasing")
    return labels, indices, values, indptr


def _first_bad_row(rows):
    """The index of the first row that :func:`_parse_rows` rejects and its error, by bisection.

    Parsing halves costs about twice one bulk parse, where parsing row by row would be slow.
    """
    low, high = 0, len(rows)  # the first bad row lies in rows[low:high]
    while low < high:
        middle = low + max(1, (high - low) // 2)
        try:
            _parse_rows(rows[low:middle])
        except ValueError as exc:
            if middle - low == 1:
                return low, exc
            high = middle
        else:
            low = middle
    raise AssertionError("_parse_rows rejected rows that it accepts one by one; its checks must "
                         "each concern a single row")


def read_svmlight(path, *, n_features=None):
    """Parse an svmlight/LIBSVM text file into a sparse matrix and its raw labels.

    Each non-blank line reads ``label index:value index:value ...``, tokens separated by
    whitespace; text after ``#`` is a comment, and a ``qid:<integer>`` token right after the label
    is skipped. Indices rise strictly within a line. As
    :func:`sklearn.datasets.load_svmlight_file` does by default, indices are taken as one-based
    unless an index ``0`` occurs in the file, and labels and values are read as Python reads
    numbers, so that both loaders give the same matrix on every valid file.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.
    n_features : int, optional
        Number of columns; defaults to the largest index found plus one (one, as scikit-learn
        gives, when no line has a feature). Must not be smaller than that.

    Returns
    -------
    X : scipy.sparse.csr_matrix, shape (n_samples, n_features)
        The float64 features, explicit entries in file order.
    labels : numpy.ndarray, shape (n_samples,)
        The labels as written in the file, float64.

    Raises
    ------
    TypeError
        ``path`` is not a str or path, or ``n_features`` is not an integer.
    ValueError
        A malformed line, named by its line number: a label or value that is not a finite number,
        a feature that does not read ``index:value``, an index that is not a non-negative
        integer, indices not strictly increasing. Also a file without any data line, and
        ``n_features`` smaller than the largest index.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.datasets import read_svmlight, shipped_libsvm
    >>> X, labels = read_svmlight(shipped_libsvm()["heart_scale"])
    >>> X.shape, np.unique(labels)
    ((270, 13), array([-1.,  1.]))
    """
    import scipy.sparse

    from numopt._core.validation import check_int

    _check_path(path, "path", "read_svmlight")
    raw = Path(path).read_bytes()
    # Lines end at b"\n" only, as scikit-learn reads them; a stray b"\r" is whitespace.
    lines = raw.split(b"\n")
    if b"#" in raw:
        lines = [line.split(b"#", 1)[0] for line in lines]
    # Split off the label: one string operation per line, the numbers are parsed by NumPy in bulk.
    rows = [line.split(None, 1) for line in lines]
    data_rows = [row for row in rows if row]
    if not data_rows:
        raise ValueError(f"{path}: no data line (the file is empty or holds only blank lines "
                         f"and comments).")
    try:
        labels, indices, values, indptr = _parse_rows(data_rows)
    except ValueError:
        bad, error = _first_bad_row(data_rows)
        line_number = [number for number, row in enumerate(rows, start=1) if row][bad]
        text = lines[line_number - 1].strip().decode("ascii", "backslashreplace")
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise ValueError(f"{path}, line {line_number}: {error}: {shown!r}.") from None
    if indices.size and indices.min() > 0:
        indices -= 1  # one-based file (the LIBSVM convention)
    # scikit-learn gives one column when no line has a feature; so does this reader.
    needed = int(indices.max()) + 1 if indices.size else 1
    if n_features is None:
        n_features = needed
    elif check_int(n_features, "n_features", "read_svmlight", low=1) < needed:
        raise ValueError(f"`n_features` must be at least {needed} (the largest feature index in "
                         f"{path}); got {n_features}.")
    X = scipy.sparse.csr_matrix((values, indices, indptr), shape=(len(data_rows), n_features))
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
    TypeError
        ``name_or_path`` is not a str or path, or ``n_features`` is not an integer.
    FileNotFoundError
        The name is not found; the message lists every place searched.
    ValueError
        The file is not valid svmlight text (the message names the line, see
        :func:`read_svmlight`), ``n_features`` is too small, or
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
    _check_path(name_or_path, "name_or_path", "load_libsvm")
    path = Path(name_or_path).expanduser()
    if not path.is_file():
        if path.name != str(name_or_path) or not str(name_or_path):
            raise FileNotFoundError(f"No LIBSVM file at {str(path)!r}.")
        path = find_data_file("libsvm", [path.name], shipped=True)
    X, labels = read_svmlight(path, n_features=n_features)
    classes = np.unique(labels)
    if classes.size == 2:
        labels = np.where(labels == classes[1], 1.0, -1.0)
    return X, labels
