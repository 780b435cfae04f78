"""Where data files are looked for: the package itself, ``$NUMOPT_DATA``, then ``shared/data``.

A data root holds one folder per collection (``libsvm/``, ``mnist/``, ``fashion-mnist/``,
``ssns-imagenet-features/``), as ``../shared/data`` does beside the repository checkout.
``NUMOPT_SHARED_FALLBACK=0`` switches the ``shared/data`` fallback off (``$NUMOPT_DATA`` is
still searched), so that a fresh clone can be imitated beside a ``shared/`` folder.
"""

import os
from pathlib import Path

__all__ = ["PACKAGE_DATA", "data_roots", "find_data_file", "shared_fallback_enabled"]

# Small files whose licence allows redistribution ship here (see data/README.md).
PACKAGE_DATA = Path(__file__).resolve().parent / "data"


def _shared_candidates():
    """``shared/data`` folders beside the checkout or the working directory, nearest first.

    The repository may sit directly beside ``shared/`` (``work/main``) or deeper in a folder of
    worktrees (``work/wt/<branch>``), so every ancestor is tried, nearest first.
    """
    repo_root = Path(__file__).resolve().parents[2]
    seen = []
    for start in (repo_root, Path.cwd().resolve()):
        for ancestor in (start, *start.parents):
            candidate = ancestor / "shared" / "data"
            if candidate not in seen:
                seen.append(candidate)
    return seen


def shared_fallback_enabled():
    """Whether ``shared/data`` folders are searched, as set by ``NUMOPT_SHARED_FALLBACK``.

    Unset, empty or ``"1"``: searched (the default). ``"0"``: not searched, only the package's
    own files and ``$NUMOPT_DATA`` are.

    Returns
    -------
    bool
        True when ``shared/data`` folders are to be searched.

    Raises
    ------
    ValueError
        ``NUMOPT_SHARED_FALLBACK`` holds anything else.

    Examples
    --------
    >>> import os
    >>> from numopt.datasets import shared_fallback_enabled
    >>> shared_fallback_enabled() == (os.environ.get("NUMOPT_SHARED_FALLBACK", "") != "0")
    True
    """
    value = os.environ.get("NUMOPT_SHARED_FALLBACK", "").strip()
    if value not in ("", "0", "1"):
        raise ValueError(f"The environment variable NUMOPT_SHARED_FALLBACK must be '0' (do not "
                         f"search shared/data) or '1' (search it, the default). Got {value!r}.")
    return value != "0"


def data_roots():
    """The data roots searched, in order: ``$NUMOPT_DATA`` (if set), then existing ``shared/data``.

    ``shared/data`` is left out when ``NUMOPT_SHARED_FALLBACK=0``.

    Returns
    -------
    list of pathlib.Path
        Existing directories only.

    Examples
    --------
    >>> from numopt.datasets import data_roots
    >>> all(root.is_dir() for root in data_roots())
    True
    """
    roots = []
    env = os.environ.get("NUMOPT_DATA")
    if env:
        roots.append(Path(env).expanduser())
    if shared_fallback_enabled():
        roots.extend(candidate for candidate in _shared_candidates() if candidate.is_dir())
    return [root for root in roots if root.is_dir()]


def find_data_file(collection, names, *, shipped=False):
    """Return the first existing ``<root>/<collection>/<name>`` for ``name`` in ``names``.

    Parameters
    ----------
    collection : str
        Sub-folder of a data root, e.g. ``"libsvm"``.
    names : sequence of str
        File names to try in order (e.g. a plain and a ``.gz`` variant).
    shipped : bool
        Also look in the package's own ``data/`` folder (tried first).

    Returns
    -------
    pathlib.Path
        The first file found.

    Raises
    ------
    FileNotFoundError
        Naming every place searched, including ``$NUMOPT_DATA`` and ``../shared/data`` when absent
        (and saying so when ``NUMOPT_SHARED_FALLBACK=0`` kept ``shared/data`` out).

    Examples
    --------
    >>> from numopt.datasets._paths import find_data_file
    >>> find_data_file("libsvm", ["heart_scale"], shipped=True).name
    'heart_scale'
    """
    folders = [PACKAGE_DATA] if shipped else []
    folders += [root / collection for root in data_roots()]
    for folder in folders:
        for name in names:
            path = folder / name
            if path.is_file():
                return path
    env = os.environ.get("NUMOPT_DATA")
    env_place = (f"$NUMOPT_DATA/{collection} = {Path(env).expanduser() / collection}" if env
                 else "$NUMOPT_DATA (not set)")
    shared = ", ".join(str(candidate / collection) for candidate in _shared_candidates())
    shared_place = ("shared/data beside the repository or the working directory: " + shared
                    if shared_fallback_enabled() else "shared/data beside the repository or the "
                    "working directory was not searched (NUMOPT_SHARED_FALLBACK=0): " + shared)
    places = ([f"the package data folder {PACKAGE_DATA}"] if shipped else []) + [env_place] + \
        [shared_place]
    raise FileNotFoundError(
        f"No file named {' or '.join(repr(name) for name in names)} was found. Searched: "
        + "; ".join(places) + f". Set NUMOPT_DATA to a data root holding {collection}/.")
