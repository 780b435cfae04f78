"""``python -m numopt demo``: every registered solver on a small real problem, in one table."""

import sys
import time
import warnings

from numopt._core.registry import REGISTRY

__all__ = ["run_demo"]

_HEADER = ("solver", "problem", "time [s]", "nit", "accuracy", "pass", "peer", "peer time [s]",
           "peer nit", "peer acc.")


def _timed(call):
    start = time.perf_counter()
    out = call()
    return out, time.perf_counter() - start


def _row(name, example):
    with warnings.catch_warnings():
        # A solver that stops early says so in the table's 'pass' column; no traceback noise.
        warnings.simplefilter("ignore")
        example.solve()  # warm-up: compile kernels so the table shows solve time, not JIT time
        result, seconds = _timed(example.solve)
        # The reference may be costly and cached by the example: compute it outside the timings.
        accuracy = example.accuracy(result)
        (peer_nit, peer_accuracy), peer_seconds = _timed(example.solve_peer)
    passed = bool(result.success) and accuracy <= example.tolerance
    return (name, example.problem, f"{seconds:.3f}", str(result.get("nit", "-")),
            f"{accuracy:.1e} {example.accuracy_label}", "yes" if passed else "NO", example.peer,
            f"{peer_seconds:.3f}", str(peer_nit), f"{peer_accuracy:.1e}"), passed


def _print_table(rows, stream):
    widths = [max(len(str(row[i])) for row in (_HEADER, *rows)) for i in range(len(_HEADER))]
    line = "  ".join("-" * w for w in widths)
    for k, row in enumerate((_HEADER, *rows)):
        print("  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths, strict=True)), file=stream)
        if k == 0:
            print(line, file=stream)


def run_demo(solvers=None, stream=None):
    """Run the demo and print its table; return True when every solver passed.

    Parameters
    ----------
    solvers : list of str, optional
        Registry names to run (default: all).
    stream : file-like, optional
        Where the table goes (default ``sys.stdout``); progress goes to ``sys.stderr``.

    Returns
    -------
    bool
        Whether every solver met its example's accuracy target.
    """
    stream = stream or sys.stdout
    names = list(solvers or REGISTRY)
    unknown = sorted(set(names) - set(REGISTRY))
    if unknown:
        raise ValueError(f"Unknown solver(s) {', '.join(unknown)}; registered: "
                         f"{', '.join(REGISTRY)}.")
    rows, all_passed = [], True
    for k, name in enumerate(names, 1):
        example = REGISTRY[name].make_example()
        print(f"[{k}/{len(names)}] {name} on {example.problem} (peer: {example.peer}) ...",
              file=sys.stderr, flush=True)
        row, passed = _row(name, example)
        rows.append(row)
        all_passed &= passed
    _print_table(rows, stream)
    return all_passed
