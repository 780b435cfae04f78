import io
import subprocess
import sys

import pytest

from numopt.__main__ import main
from numopt._core.registry import REGISTRY
from numopt._demo import run_demo


def test_help_lists_demo():
    out = subprocess.run([sys.executable, "-m", "numopt", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "demo" in out


def test_no_command_prints_usage_and_fails(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().out


def test_unknown_solver_is_an_error():
    with pytest.raises(ValueError, match="Unknown solver"):
        run_demo(["no-such-solver"])


def test_demo_table_has_a_passing_row_per_solver(capsys):
    stream = io.StringIO()
    assert run_demo(stream=stream)
    lines = stream.getvalue().splitlines()
    assert lines[0].split()[:2] == ["solver", "problem"]
    body = lines[2:]
    assert [line.split()[0] for line in body] == list(REGISTRY)
    assert "NO" not in {cell for line in body for cell in line.split()}
    progress = capsys.readouterr().err
    assert all(f"{name} on" in progress for name in REGISTRY)
