"""Where data files are looked for: the package itself, ``$NUMOPT_DATA``, then ``shared/data``.

A data root holds one folder per collection (``libsvm/``, ``mnist/``, ``fashion-mnist/``,
``ssns-imagenet-features/``), as ``../shared/data`` does beside the repository checkout.
"""

import os
from pathlib import Path

__all__ = ["PACKAGE_DATA", "data_roots", "find_data_file"]

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


def data_roots():
    """The data roots searched, in order: ``$NUMOPT_DATA`` (if set), then existing ``shared/data``.

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

    Raises
    ------
    FileNotFoundError
        Naming every place searched, including ``$NUMOPT_DATA`` and ``../shared/data`` when absent.
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
    shared = [str(candidate / collection) for candidate in _shared_candidates()]
    places = ([f"the package data folder {PACKAGE_DATA}"] if shipped else []) + [env_place] + \
        [f"shared/data beside the repository or the working directory: {', '.join(shared)}"]
    raise FileNotFoundError(
        f"No file named {' or '.join(repr(name) for name in names)} was found. Searched: "
        + "; ".join(places) + f". Set NUMOPT_DATA to a data root holding {collection}/.")
