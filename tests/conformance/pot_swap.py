"""pytest plugin that runs POT's own test files against numopt's drop-ins.

Loaded by ``run_pot_suite.py`` (``pytest -p pot_swap``) in a temporary directory holding test
files from POT's source distribution; never collected by numopt's own test run. It

* replaces ``sinkhorn`` and ``sinkhorn2`` wherever a POT module holds them (``ot``, ``ot.bregman``
  and every module that imported them by name, e.g. ``ot.optim``) with :mod:`numopt.ot`'s
  drop-ins, each behind a wrapper that counts its calls per test (``--pot-originals`` wraps
  POT's own functions instead, to check the harness);
* provides the ``nx`` fixture as POT's NumPy backend, ``pytest.skip_backend`` and
  ``pytest.skip_arg`` (all defined by POT's repository conftest, which the source distribution
  does not ship), so every backend-parametrised test runs on NumPy only;
* runs the tests listed in ``SEEDED`` once per seed of NumPy's global generator;
* writes ``{nodeid: {"outcome": ..., "calls": ...}}`` as JSON to ``--pot-report``.
"""

import functools
import json
import sys
from collections import Counter

import numpy as np
import pytest

SWAPPED = ("sinkhorn", "sinkhorn2")
# Tests that draw their data from NumPy's global generator, and how many seeds each runs.
SEEDED = {"test_gcg_no_reg": 20}

_calls = Counter()
_outcomes = {}


def pytest_addoption(parser):
    group = parser.getgroup("pot_swap")
    group.addoption("--pot-report", help="path of the JSON report")
    group.addoption("--pot-originals", action="store_true",
                    help="count calls to POT's own functions instead of swapping them")


def _counted(name, function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        _calls[name] += 1
        return function(*args, **kwargs)

    return wrapper


def _replacements(use_originals):
    """``{POT's function: counting wrapper}`` for each swapped name."""
    import ot.bregman

    import numopt.ot

    return {getattr(ot.bregman, name): _counted(name, getattr(ot.bregman, name) if use_originals
                                                 else getattr(numopt.ot, name))
            for name in SWAPPED}


def _swap(replacements):
    """Bind the wrappers wherever a loaded ``ot`` module holds POT's functions; returns where."""
    by_identity = {id(original): wrapper for original, wrapper in replacements.items()}
    patched = []
    for module_name, module in list(sys.modules.items()):
        if module is None or not (module_name == "ot" or module_name.startswith("ot.")):
            continue
        for attribute, value in list(vars(module).items()):
            if id(value) in by_identity:
                setattr(module, attribute, by_identity[id(value)])
                patched.append(f"{module_name}.{attribute}")
    return patched


def _skip_backend(name, reason=None):
    """POT's ``@pytest.skip_backend(name)``: only the NumPy backend runs here."""
    return pytest.mark.skipif(name == "numpy", reason=reason or f"skips backend {name}")


def _skip_arg(names, values, reason=None, getter=repr):
    """POT's ``@pytest.skip_arg(names, values)``: skip when ``getter(arg) == value`` for all."""
    return pytest.mark.pot_skip_arg(names, values, reason=reason, getter=getter)


pytest.skip_backend = _skip_backend
pytest.skip_arg = _skip_arg


@pytest.fixture(autouse=True)
def _apply_skip_arg(request):
    for marker in request.node.iter_markers("pot_skip_arg"):
        names, values = marker.args
        getter = marker.kwargs["getter"]
        if all(getter(request.getfixturevalue(name)) == value
               for name, value in zip(names, values, strict=True)):
            pytest.skip(marker.kwargs["reason"])


def pytest_configure(config):
    config.addinivalue_line("markers", "pot_skip_arg: POT's skip_arg (see _skip_arg)")
    config.pot_replacements = _replacements(config.getoption("--pot-originals"))
    config.pot_patched = _swap(config.pot_replacements)


def pytest_collection_finish(session):
    # modules the test files imported while being collected
    session.config.pot_patched += _swap(session.config.pot_replacements)


def pytest_report_header(config):
    mode = "POT's own functions (counted)" if config.getoption("--pot-originals") \
        else "numopt.ot drop-ins"
    return [f"pot_swap: {mode} bound at {len(config.pot_patched)} places: "
            + ", ".join(sorted(config.pot_patched))]


@pytest.fixture
def nx():
    from ot.backend import NumpyBackend

    return NumpyBackend()


def pytest_generate_tests(metafunc):
    seeds = SEEDED.get(metafunc.function.__name__)
    if seeds:
        metafunc.fixturenames.append("global_seed")
        metafunc.parametrize("global_seed", list(range(seeds)))


@pytest.fixture
def global_seed(request):
    # these tests draw from NumPy's legacy global generator, so that is the one to seed
    np.random.seed(request.param)  # noqa: NPY002
    return request.param


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _calls.clear()
    yield
    _outcomes.setdefault(item.nodeid, {"outcome": "passed"})["calls"] = sum(_calls.values())


def pytest_runtest_logreport(report):
    entry = _outcomes.setdefault(report.nodeid, {"outcome": "passed"})
    if report.failed:
        entry["outcome"] = "failed"
    elif report.skipped and entry["outcome"] != "failed":
        entry["outcome"] = "skipped"


def pytest_sessionfinish(session):
    path = session.config.getoption("--pot-report")
    if path:
        with open(path, "w") as stream:
            json.dump(_outcomes, stream, indent=1)
