"""``python -m numopt demo``: every registered solver on a small real problem, in one table."""

import sys
import time
import warnings

from numopt._core.registry import REGISTRY

__all__ = ["run_demo"]

# Two column groups, the solver's and its peer's; what each problem is and what its error
# measures go in a legend under the table, so that the table fits 120 columns.
_HEADER = ("solver", "time [s]", "nit", "error", "pass", "peer", "time [s]", "nit", "error")


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
    return (name, f"{seconds:.3f}", str(result.get("nit", "-")), f"{accuracy:.1e}",
            "yes" if passed else "NO", example.peer, f"{peer_seconds:.3f}", str(peer_nit),
            f"{peer_accuracy:.1e}"), passed


def _print_table(rows, legend, stream):
    widths = [max(len(row[i]) for row in (_HEADER, *rows)) for i in range(len(_HEADER))]
    line = "  ".join("-" * w for w in widths)
    for k, row in enumerate((_HEADER, *rows)):
        print("  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths, strict=True)).rstrip(),
              file=stream)
        if k == 0:
            print(line, file=stream)
    print("\nProblems and errors (both measured against the same independent reference):",
          file=stream)
    width = max(len(name) for name, _, _ in legend)
    for name, problem, label in legend:
        print(f"  {name:<{width}}  {problem}\n  {'':<{width}}  error: {label}", file=stream)


def run_demo(solvers=None, stream=None):
    """Run the demo and print its table; return True when every solver passed.

    Each solver runs once untimed (to compile its kernels), then once timed; its peer runs once,
    timed, in the same process. Both errors are measured against the example's independent
    reference.

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

    Raises
    ------
    ValueError
        When a name in ``solvers`` is not registered.

    Examples
    --------
    >>> import io
    >>> from numopt._demo import run_demo
    >>> table = io.StringIO()
    >>> run_demo(["certify_nash"], stream=table)
    True
    """
    stream = stream or sys.stdout
    names = list(solvers or REGISTRY)
    unknown = sorted(set(names) - set(REGISTRY))
    if unknown:
        raise ValueError(f"Unknown solver(s) {', '.join(unknown)}; registered: "
                         f"{', '.join(REGISTRY)}.")
    rows, legend, all_passed = [], [], True
    for k, name in enumerate(names, 1):
        example = REGISTRY[name].make_example()
        print(f"[{k}/{len(names)}] {name} on {example.problem} (peer: {example.peer}) ...",
              file=sys.stderr, flush=True)
        row, passed = _row(name, example)
        rows.append(row)
        legend.append((name, example.problem, example.accuracy_label))
        all_passed &= passed
    _print_table(rows, legend, stream)
    return all_passed
