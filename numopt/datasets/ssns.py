"""ImageNet ResNet-18 features used by the SSNS optimal transport experiments."""

import numpy as np

from ._paths import find_data_file

__all__ = ["load_ssns_features"]


def load_ssns_features(dim):
    """Load the SSNS ImageNet feature clouds of dimension 60 or 90.

    The SSNS authors passed ImageNet training images of 10 classes through ResNet-18 (avgpool,
    512-d) and reduced them by a PCA fitted separately per class, so each cloud has mean about 0.
    The file is ``ssns-imagenet-features/train_feature_<dim>.npz`` in a data root (see
    :func:`load_libsvm` for where data roots are looked for).

    Parameters
    ----------
    dim : {60, 90}
        Feature dimension.

    Returns
    -------
    list of numpy.ndarray
        Ten float32 arrays; entry ``k - 1`` is class folder ``train_featureK``, shape
        ``(n_k, dim)`` with ``n_k`` between 858 and 993. SSNS's dimension study transports
        class 1 (963 points) to class 3 (993 points).

    Raises
    ------
    FileNotFoundError
        No data root holds the file.
    ValueError
        ``dim`` is not 60 or 90.

    Examples
    --------
    >>> from numopt.datasets import load_ssns_features
    >>> try:
    ...     clouds = load_ssns_features(60)
    ... except FileNotFoundError:  # no data root on this machine
    ...     pass
    ... else:
    ...     print(len(clouds), clouds[0].shape, clouds[2].shape)
    10 (963, 60) (993, 60)
    """
    if isinstance(dim, bool) or dim not in (60, 90):
        raise ValueError(f"The 'dim' parameter of load_ssns_features must be one of 60, 90. "
                         f"Got {dim!r} instead.")
    path = find_data_file("ssns-imagenet-features", [f"train_feature_{dim}.npz"])
    with np.load(path) as archive:
        return [archive[f"train_feature{k}"] for k in range(1, 11)]
