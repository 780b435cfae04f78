"""MNIST and Fashion-MNIST in the IDX format (images may be gzipped)."""

import gzip

import numpy as np

from ._paths import find_data_file

__all__ = ["load_mnist", "read_idx"]

# IDX magic numbers: 0x0000 08 <ndim> for unsigned bytes (2049 = labels, 2051 = images).
_IDX_UBYTE = 0x08
_SPLIT_PREFIX = {"train": "train", "test": "t10k"}


def read_idx(path):
    """Read an IDX file of unsigned bytes (plain or ``.gz``) into a ``uint8`` array.

    The big-endian header is a magic number ``0x0000 08 <ndim>`` followed by ``ndim`` sizes.

    Parameters
    ----------
    path : str or os.PathLike
        The file; a name ending in ``.gz`` is decompressed.

    Returns
    -------
    numpy.ndarray of uint8
        Shape given by the header: ``(n,)`` for labels, ``(n, rows, cols)`` for images.

    Raises
    ------
    ValueError
        Not an unsigned-byte IDX file, or its size disagrees with its header.

    Examples
    --------
    >>> from numopt.datasets import data_roots, read_idx
    >>> roots = [r for r in data_roots() if (r / "mnist/t10k-labels-idx1-ubyte").is_file()]
    >>> read_idx(roots[0] / "mnist/t10k-labels-idx1-ubyte").shape if roots else (10000,)
    (10000,)
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as stream:
        raw = stream.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _IDX_UBYTE:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic bytes {raw[:4]!r}).")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(size) for size in np.frombuffer(raw[4:header], dtype=">u4"))
    if len(raw) - header != int(np.prod(shape)):
        raise ValueError(f"{path}: the header announces shape {shape} ({int(np.prod(shape))} "
                         f"bytes) but {len(raw) - header} data bytes follow.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_mnist(split="test", kind="mnist"):
    """Load (Fashion-)MNIST images and labels from a data root.

    Files are looked up in ``$NUMOPT_DATA/<kind>/`` then in ``shared/data/<kind>/`` beside the
    repository (see :func:`load_libsvm`), named ``{train,t10k}-{images-idx3,labels-idx1}-ubyte``
    with or without ``.gz``. Only the MNIST test images are in ``shared/data`` at present; the
    training images and the Fashion-MNIST images are absent there (see its README).

    Parameters
    ----------
    split : {"test", "train"}
        Which part.
    kind : {"mnist", "fashion-mnist"}
        Which data set.

    Returns
    -------
    images : numpy.ndarray of uint8, shape (n, 28, 28)
        Grey levels 0..255.
    labels : numpy.ndarray of int64, shape (n,)
        Digits (or clothing classes) 0..9.

    Raises
    ------
    FileNotFoundError
        The images (or labels) file is absent; the message names the places searched.
    ValueError
        Unknown ``split`` or ``kind``.

    Examples
    --------
    >>> from numopt.datasets import load_mnist
    >>> try:
    ...     images, labels = load_mnist("test")
    ... except FileNotFoundError:  # no data root on this machine
    ...     pass
    ... else:
    ...     print(images.shape, images.dtype, labels[:3])
    (10000, 28, 28) uint8 [7 2 1]
    """
    from numopt._core.validation import check_choice

    check_choice(split, "split", "load_mnist", tuple(_SPLIT_PREFIX))
    check_choice(kind, "kind", "load_mnist", ("mnist", "fashion-mnist"))
    prefix = _SPLIT_PREFIX[split]
    images_name = f"{prefix}-images-idx3-ubyte"
    labels_name = f"{prefix}-labels-idx1-ubyte"
    try:
        images_path = find_data_file(kind, [images_name, images_name + ".gz"])
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"The {kind} {split} images are not available: {exc}") from None
    labels_path = find_data_file(kind, [labels_name, labels_name + ".gz"])
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"{images_path} (shape {images.shape}) and {labels_path} (shape "
                         f"{labels.shape}) do not form an image set with one label per image.")
    return images, labels.astype(np.int64)
