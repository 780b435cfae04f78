"""Command line: ``python -m numopt demo`` (and ``--help``)."""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m numopt",
        description="numopt: second-order and structure-exploiting solvers with a SciPy-style API.")
    commands = parser.add_subparsers(dest="command", metavar="command")
    demo = commands.add_parser(
        "demo", help="run every solver on a small real problem and print a table of results",
        description="Run every registered solver on a small real problem next to its peer "
                    "(time, iterations, accuracy against an independent reference).")
    demo.add_argument("solvers", nargs="*", help="registry names to run (default: all)")
    args = parser.parse_args(argv)
    if args.command != "demo":
        parser.print_help()
        return 2
    from numopt._demo import run_demo

    return 0 if run_demo(args.solvers) else 1


if __name__ == "__main__":
    sys.exit(main())
