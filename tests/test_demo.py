import io
import subprocess
import sys
import warnings

import numpy as np
import pytest

import numopt
from numopt.__main__ import main
from numopt._core.registry import REGISTRY
from numopt._demo import run_demo
from numopt._examples.ot import dense_newton_plan


def _run(*args):
    return subprocess.run([sys.executable, "-m", "numopt", *args], capture_output=True,
                          text=True, check=False)


def test_help_lists_demo():
    out = _run("--help")
    assert out.returncode == 0 and "demo" in out.stdout and "--version" in out.stdout


def test_version():
    out = _run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"numopt {numopt.__version__}"


def test_no_command_prints_usage_and_fails(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["demo", "bogus"], ["demo", "gn-newton", "bogus"],
                                  ["bogus"], ["demo", "--bogus"]])
def test_unknown_argument_prints_usage_and_exits_2(args):
    out = _run(*args)
    assert out.returncode == 2
    assert out.stderr.startswith("usage: python -m numopt") and "bogus" in out.stderr
    assert "Traceback" not in out.stderr


def test_unknown_solver_is_an_error():
    with pytest.raises(ValueError, match="Unknown solver"):
        run_demo(["no-such-solver"])


def test_demo_table_has_a_passing_row_per_solver(capsys):
    stream = io.StringIO()
    assert run_demo(stream=stream)
    lines = stream.getvalue().splitlines()
    assert lines[0].split()[:2] == ["solver", "time"]
    body = lines[2:2 + len(REGISTRY)]
    assert [line.split()[0] for line in body] == list(REGISTRY)
    assert "NO" not in {cell for line in body for cell in line.split()}
    assert max(map(len, lines)) <= 120
    legend = "\n".join(lines[2 + len(REGISTRY):])
    for name in REGISTRY:
        example = REGISTRY[name].make_example()
        assert example.problem in legend and example.accuracy_label in legend
    progress = capsys.readouterr().err
    assert all(f"{name} on" in progress for name in REGISTRY)


def _gaussian_transport(n, reg):
    grid = np.linspace(0.0, 1.0, n)
    a = np.exp(-(grid - 0.3) ** 2 / 0.02)
    b = np.exp(-(grid - 0.6) ** 2 / 0.05) + 0.3
    return a / a.sum(), b / b.sum(), (grid[:, None] - grid[None, :]) ** 2, reg


def test_dense_newton_reference_matches_pot_log_domain_sinkhorn():
    import ot

    a, b, cost, reg = _gaussian_transport(60, 1e-2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # POT warns if it stops at numItermax
        pot_plan = ot.sinkhorn(a, b, cost, reg, method="sinkhorn_log", stopThr=1e-14,
                               numItermax=200000)
    plan = dense_newton_plan(a, b, cost, reg)
    np.testing.assert_allclose(plan, pot_plan, rtol=0, atol=1e-11 * pot_plan.max())
    np.testing.assert_allclose(plan.sum(axis=1), a, rtol=0, atol=1e-14)
    np.testing.assert_allclose(plan.sum(axis=0), b, rtol=0, atol=1e-14)


def test_dense_newton_reference_says_when_it_did_not_converge():
    with pytest.raises(RuntimeError, match="marginal error"):
        dense_newton_plan(*_gaussian_transport(60, 1e-3), maxiter=1)
