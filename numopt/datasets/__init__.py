"""Data sets: LIBSVM classification files, (Fashion-)MNIST, SSNS ImageNet features.

Small LIBSVM files whose licence allows it (a1a, heart_scale, mushrooms) ship inside the package
so that the demo works after ``pip install .``; the others are read from a data root:
``$NUMOPT_DATA`` (a folder holding ``libsvm/``, ``mnist/``, ...) or ``shared/data`` beside the
repository checkout. A missing file raises :class:`FileNotFoundError` naming the places searched.
"""

from ._paths import data_roots
from .libsvm import load_libsvm, read_svmlight, shipped_libsvm
from .mnist import load_mnist, read_idx
from .ssns import load_ssns_features

__all__ = ["data_roots", "load_libsvm", "load_mnist", "load_ssns_features", "read_idx",
           "read_svmlight", "shipped_libsvm"]
