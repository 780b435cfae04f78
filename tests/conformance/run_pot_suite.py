"""Run POT's own tests of ``ot.sinkhorn`` / ``ot.sinkhorn2`` against numopt's drop-ins.

The conformance step of ``.ci/run``: it installs the pinned POT version, downloads that version's
source distribution with pip (nothing of POT is stored in this repository), extracts the test
files below into a temporary directory and runs them with pytest and the ``pot_swap`` plugin
(beside this file), which binds :func:`numopt.ot.sinkhorn` and :func:`numopt.ot.sinkhorn2`
wherever POT holds ``sinkhorn`` / ``sinkhorn2`` and limits POT's backend fixture to NumPy. It
prints pass/fail for every test that calls a swapped name and exits non-zero when one of them
fails (``KNOWN_EXCEPTIONS`` aside), when a seeded test does not pass on every seed, when no test
calls a swapped name, or when the download or the run itself fails.

Usage: ``python tests/conformance/run_pot_suite.py [--originals]``; ``--originals`` counts calls
to POT's own functions instead (a check of the harness).
"""

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

#: The POT release whose tests are run; a newer pin is a deliberate change.
POT_VERSION = "0.9.7.post1"
TEST_FILES = ("test_bregman.py", "test_optim.py", "test_partial.py", "test_smooth.py",
              "test_stochastic.py")
#: Tests allowed to fail, with the reason (each also listed in benchmarks/RESULTS.md); at most
#: two, and only tests that read POT internals.
KNOWN_EXCEPTIONS = {}
HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parents[1]
sys.path.insert(0, str(HERE))
from pot_swap import SEEDED  # noqa: E402  (the plugin beside this file says which tests and how often)


def _pip(*args):
    subprocess.run([sys.executable, "-m", "pip", *args], check=True)


def fetch_tests(directory):
    """Install the pinned POT, download its sdist and extract the test files into ``directory``."""
    _pip("install", "--quiet", f"POT=={POT_VERSION}")
    # --no-binary POT (not :all:): the sdist's build requirements may come as wheels
    _pip("download", "--quiet", "--no-deps", "--no-binary", "POT", f"POT=={POT_VERSION}",
         "-d", str(directory))
    archives = list(directory.glob("*.tar.gz"))
    if len(archives) != 1:
        raise RuntimeError(f"expected one POT source archive in {directory}; found {archives}")
    with tarfile.open(archives[0]) as archive:
        members = {Path(member.name).name: member for member in archive.getmembers()
                   if Path(member.name).parent.name == "test"}
        for name in TEST_FILES:
            if name not in members:
                raise RuntimeError(f"{name} is not in {archives[0].name}")
            (directory / name).write_bytes(archive.extractfile(members[name]).read())
    # an ini file of its own, so that no configuration above the directory applies
    (directory / "pytest.ini").write_text("[pytest]\n")


def run_tests(directory, originals):
    """Run the test files with the plugin; returns ``(pytest's exit code, report dict)``."""
    report = directory / "report.json"
    command = [sys.executable, "-m", "pytest", "-p", "pot_swap", "-p", "no:cacheprovider", "-q",
               "--tb=short", f"--pot-report={report}", *TEST_FILES]
    if originals:
        command.append("--pot-originals")
    environment = {**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{REPOSITORY}"}
    completed = subprocess.run(command, cwd=directory, env=environment)
    if not report.exists():
        return completed.returncode, {}
    return completed.returncode, json.loads(report.read_text())


def summarise(outcomes):
    """Print every test that calls a swapped name; return the list of problems found."""
    calling = {nodeid: entry for nodeid, entry in outcomes.items() if entry.get("calls", 0)}
    for nodeid, entry in calling.items():
        note = f"  (known exception: {KNOWN_EXCEPTIONS[nodeid]})" if nodeid in KNOWN_EXCEPTIONS \
            else ""
        print(f"{entry['outcome'].upper():8s} {nodeid}  [{entry['calls']} calls]{note}")
    failed = [nodeid for nodeid, entry in calling.items()
              if entry["outcome"] != "passed" and nodeid not in KNOWN_EXCEPTIONS]
    passed = sum(entry["outcome"] == "passed" for entry in calling.values())
    print(f"\n{len(calling)} tests of POT {POT_VERSION} call a swapped name; {passed} pass, "
          f"{len(failed)} fail, {len(KNOWN_EXCEPTIONS)} known exceptions.")
    problems = [f"failed: {nodeid}" for nodeid in failed]
    for name, seeds in SEEDED.items():
        passed_seeds = sum(entry["outcome"] == "passed" for nodeid, entry in calling.items()
                           if f"::{name}[" in nodeid)
        print(f"{name}: {passed_seeds} of {seeds} seeds pass.")
        if passed_seeds != seeds:
            problems.append(f"{name} passed on {passed_seeds} of {seeds} seeds")
    if not calling:
        problems.append("no test called a swapped name (is the plugin working?)")
    if len(KNOWN_EXCEPTIONS) > 2:
        problems.append("more than two known exceptions")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--originals", action="store_true",
                        help="count calls to POT's own functions instead of swapping them")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pot-conformance-") as tmp:
        directory = Path(tmp)
        fetch_tests(directory)
        returncode, outcomes = run_tests(directory, args.originals)
    # 0: all passed, 1: some test failed (decided below per test); anything else broke the run
    if returncode not in (0, 1) or not outcomes:
        print(f"pytest did not complete (exit code {returncode})", file=sys.stderr)
        return 1
    problems = summarise(outcomes)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
