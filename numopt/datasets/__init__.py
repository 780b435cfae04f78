"""Data sets: LIBSVM classification files, (Fashion-)MNIST, SSNS ImageNet features.

Small LIBSVM files whose licence allows it (a1a, heart_scale, mushrooms) ship inside the package
so that the demo works after ``pip install .``; the others are read from a data root:
``$NUMOPT_DATA`` (a folder holding ``libsvm/``, ``mnist/``, ...), then ``shared/data`` beside the
repository checkout. A missing file raises :class:`FileNotFoundError` naming the places searched.

Two environment variables steer the lookup:

``NUMOPT_DATA``
    A data root searched before ``shared/data``.
``NUMOPT_SHARED_FALLBACK``
    ``0`` switches the ``shared/data`` fallback off: only the shipped files and ``$NUMOPT_DATA``
    are searched, as in a fresh clone with no ``shared/`` folder beside it (the test suite runs
    once this way in CI, so that a test needing data it cannot find must skip). Unset, empty or
    ``1``: the fallback is on. Any other value raises :class:`ValueError` on lookup.
"""

from ._paths import data_roots, shared_fallback_enabled
from .libsvm import load_libsvm, read_svmlight, shipped_libsvm
from .mnist import load_mnist, read_idx
from .ssns import load_ssns_features

__all__ = ["data_roots", "load_libsvm", "load_mnist", "load_ssns_features", "read_idx",
           "read_svmlight", "shared_fallback_enabled", "shipped_libsvm"]
