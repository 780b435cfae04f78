"""Command line: ``python -m numopt demo [solver ...]``, ``--help`` and ``--version``."""

import argparse
import os
import sys

# The demo's problems are small: like the benchmarks, it times solvers and peers single-threaded,
# so that both are timed alike and BLAS threads do not contend on a two-core machine. Set before
# NumPy loads its BLAS; a value the user exported wins.
_SINGLE_THREADED = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS")


def main(argv=None):
    """Parse ``argv`` (default ``sys.argv[1:]``) and run the command; return the exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after ``python -m numopt``.

    Returns
    -------
    int
        0 when every solver of the demo passed, 1 when one did not, 2 for a usage error (no
        command, or an unknown solver: the usage is printed).

    Examples
    --------
    >>> from numopt.__main__ import main
    >>> main(["demo", "certify_nash"])  # doctest: +ELLIPSIS
    solver ...
    0
    """
    from numopt._core.registry import REGISTRY

    parser = argparse.ArgumentParser(
        prog="python -m numopt",
        description="numopt: second-order and structure-exploiting solvers with a SciPy-style API.")
    # This module runs inside the numopt package, which Python imports before any of its modules:
    # its version is read from there (the layer rules keep __main__ from importing the package).
    version = sys.modules[__package__].__version__
    parser.add_argument("--version", action="version", version=f"numopt {version}")
    commands = parser.add_subparsers(dest="command", metavar="command")
    demo = commands.add_parser(
        "demo", help="run every solver on a small real problem and print a table of results",
        description="Run every registered solver on a small real problem next to its peer "
                    "(time, iterations, error against an independent reference), single-threaded "
                    f"unless {', '.join(_SINGLE_THREADED)} say otherwise.")
    demo.add_argument("solvers", nargs="*", metavar="solver",
                      help=f"registry names to run (default: all): {', '.join(REGISTRY)}")
    args = parser.parse_args(argv)
    if args.command != "demo":
        parser.print_help()
        return 2
    unknown = [name for name in args.solvers if name not in REGISTRY]
    if unknown:
        demo.error(f"unknown solver {', '.join(map(repr, unknown))}; choose from "
                   f"{', '.join(REGISTRY)}")  # prints the usage, exits with status 2
    for variable in _SINGLE_THREADED:
        os.environ.setdefault(variable, "1")
    from numopt._demo import run_demo

    return 0 if run_demo(args.solvers) else 1


if __name__ == "__main__":
    sys.exit(main())
