"""benchmarks/sweep.py: a tiny sweep on a two-process LocalCluster against an in-process run,
resuming, and the hard per-run limit."""

import json
from collections import Counter

import pytest

from benchmarks.sweep import Task, load_results, local_cluster, run_sweep, run_task

SOLVERS = ("BFGS", "CG", "L-BFGS-B")
# (problem, repeat) pairs: three tasks keep the test fast and still give both workers work.
TASKS = (("rosen-2", 0), ("rosen-2", 1), ("rosen-3", 0))


def _tasks(log):
    return [Task("tests.sweep_toy:load", "tests.sweep_toy:run", problem, SOLVERS, repeat,
                 limit=30.0, options={"log": str(log)})
            for problem, repeat in TASKS]


def _outcomes(records):
    """What a run computes, without its timings and machine."""
    return {key: [(run["solver"], run["status"], run["nit"], run["fun"], run["success"])
                  for run in record["runs"]] for key, record in records.items()}


@pytest.fixture(scope="module")
def scheduler():
    with local_cluster(2) as cluster:
        yield cluster.scheduler_address


def test_cluster_sweep_equals_in_process_run(tmp_path, scheduler):
    # The toy's results are deterministic (SciPy's methods from fixed starting points), so a
    # distributed run in child processes must reproduce the serial in-process run exactly.
    serial = run_sweep(_tasks(tmp_path / "log"), tmp_path / "serial.jsonl", workers=0)
    distributed = run_sweep(_tasks(tmp_path / "log"), tmp_path / "cluster.jsonl",
                            scheduler=scheduler)
    assert len(serial) == len(TASKS)
    assert _outcomes(distributed) == _outcomes(serial)
    lines = (tmp_path / "cluster.jsonl").read_text().splitlines()
    assert len(lines) == len(serial)
    first = json.loads(lines[0])
    assert first["commit"] and first["machine"]["cores"] >= 1


def test_stopped_sweep_resumes_without_rerunning(tmp_path, scheduler):
    log = tmp_path / "log"
    stopped = run_sweep(_tasks(log), tmp_path / "results.jsonl", scheduler=scheduler,
                        max_tasks=2)
    assert len(stopped) == 2
    assert len(load_results(tmp_path / "results.jsonl")) == 2
    resumed = run_sweep(_tasks(log), tmp_path / "results.jsonl", scheduler=scheduler)
    assert set(resumed) == {task.key for task in _tasks(log)}
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == len(resumed)
    # Each (problem, solver) ran once per repeat: nothing was run twice.
    runs = Counter(log.read_text().splitlines())
    assert runs == Counter({f"{p} {s}": n for p, n in Counter(p for p, _ in TASKS).items()
                            for s in SOLVERS})
    reference = run_sweep(_tasks(log), tmp_path / "serial.jsonl", workers=0)
    assert _outcomes(resumed) == _outcomes(reference)


def test_run_over_the_limit_is_killed_and_the_task_goes_on():
    task = Task("tests.sweep_toy:load", "tests.sweep_toy:run", "rosen-2",
                ("BFGS", "spin", "CG"), limit=1.5)
    record = run_task(task)
    assert [(run["solver"], run["status"]) for run in record["runs"]] == [
        ("BFGS", "ok"), ("spin", "timeout"), ("CG", "ok")]
    assert record["runs"][1]["wall"] >= 1.5
    # CG ran in a fresh child and still converged on Rosenbrock's minimum f = 0.
    assert record["runs"][2]["fun"] < 1e-8


def test_load_failure_is_recorded():
    task = Task("tests.sweep_toy:load", "tests.sweep_toy:run", "rosen-x", ("BFGS",))
    record = run_task(task)
    assert record["status"] == "load-error" and "ValueError" in record["error"]
    assert record["runs"] == []


def test_changed_settings_are_not_reused(tmp_path):
    base = Task("tests.sweep_toy:load", "tests.sweep_toy:run", "rosen-2", ("BFGS",))
    other = Task("tests.sweep_toy:load", "tests.sweep_toy:run", "rosen-2", ("CG",))
    assert base.key != other.key
    run_sweep([base], tmp_path / "r.jsonl", workers=0)
    records = run_sweep([base, other], tmp_path / "r.jsonl", workers=0)
    assert [run["solver"] for run in records[other.key]["runs"]] == ["CG"]
