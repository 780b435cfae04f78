"""Resumable benchmark sweeps on dask.distributed.

A sweep is a list of :class:`Task`, one per (problem, repeat). A task runs every solver of a
comparison on its problem, one after the other, in one child process of the Dask worker, so that
the solvers of one problem see the same machine and their time ratios keep their meaning. Each
solver run has a hard wall-clock limit: the worker kills the child when a run exceeds it (even if
compiled code holds the interpreter), records the run as ``"timeout"``, and runs the task's
remaining solvers in a fresh child.

Results are appended to a JSON-lines file as tasks finish, one line per task with the commit and
the machine; a rerun skips the tasks the file already holds, so an interrupted sweep resumes.
Tables and performance profiles are built from that file (:func:`load_results`).

Without ``scheduler`` a :class:`distributed.LocalCluster` is started on the loopback interface,
one single-threaded worker process per core (``workers``); a worker process runs one task at a
time whatever its thread count. ``workers=0`` runs the tasks serially in this process (no child
processes, so no hard limit), which is the reference for comparisons.

The child is ``python -m benchmarks.sweep``, started in the repository root; a worker of an
existing cluster must therefore see the same repository (``PYTHONPATH=/path/to/repo dask worker
ADDRESS --nthreads 1``).
"""

import hashlib
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from importlib import import_module
from multiprocessing.connection import Connection
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOAD_GRACE = 60.0  # seconds allowed beyond the run limit for starting a child and loading
# One task at a time per worker process, even on a cluster whose workers have several threads:
# concurrent tasks on one machine would change each other's timings more than needed.
_ONE_TASK_AT_A_TIME = threading.Lock()
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS")


@dataclass(frozen=True)
class Task:
    """One (problem, repeat) of a sweep.

    Parameters
    ----------
    load : str
        ``"module:function"``; ``function(problem, **options)`` returns the loaded problem. It is
        called once per child process, before the timed runs.
    run : str
        ``"module:function"``; ``function(loaded, solver, **options)`` runs one solver and returns
        a dict of JSON-serialisable values.
    problem : str
        Name of the problem, passed to ``load``.
    solvers : tuple of str
        The solvers compared on the problem, run in this order.
    repeat : int
        Index of the repeat (tasks differing only in it are independent measurements).
    limit : float
        Hard wall-clock limit of one solver run, in seconds.
    options : dict
        Keyword arguments of ``load`` and ``run`` (JSON-serialisable).

    Examples
    --------
    >>> task = Task("tests.sweep_toy:load", "tests.sweep_toy:run", "rosen-2", ("BFGS",))
    >>> task.key.startswith("rosen-2#0@")
    True
    """

    load: str
    run: str
    problem: str
    solvers: tuple
    repeat: int = 0
    limit: float = 60.0
    options: dict = field(default_factory=dict, hash=False)

    @property
    def key(self):
        """Identity of the task in a results file: problem, repeat and a digest of the settings
        (so that a sweep with other solvers, limits or options does not reuse these results)."""
        settings = json.dumps([self.load, self.run, self.problem, list(self.solvers),
                               self.limit, self.options], sort_keys=True)
        digest = hashlib.sha1(settings.encode()).hexdigest()[:10]
        return f"{self.problem}#{self.repeat}@{digest}"


def _resolve(spec):
    module, _, name = spec.partition(":")
    return getattr(import_module(module), name)


def _thread_environment():
    """Single-threaded BLAS/OpenMP/numba, and the repository importable (for the child)."""
    env = dict.fromkeys(THREAD_VARIABLES, "1")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def machine():
    """Host name, CPU model, core count and Python version of this process's machine."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"host": socket.gethostname(), "cpu": cpu, "cores": os.cpu_count(),
            "python": platform.python_version()}


def commit():
    """The repository's HEAD commit, with ``+dirty`` when tracked files differ from it."""
    def git(*args):
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True,
                              check=False).stdout.strip()
    head = git("rev-parse", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def _timed_run(run, loaded, solver, options):
    """One solver run as a record: status ``ok`` or ``error``, wall seconds, the run's dict."""
    start = time.perf_counter()
    try:
        record = {"status": "ok", **run(loaded, solver, **options)}
    except Exception as exc:  # a runner that raises is recorded, the task goes on
        record = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
    return {"solver": solver, "wall": time.perf_counter() - start, **record}


class _InProcess:
    """Runs a task's solvers in this process (no hard limit): the serial reference."""

    def __init__(self, task):
        self.task = task
        self.loaded = _resolve(task.load)(task.problem, **task.options)

    def run(self, solver):
        return _timed_run(_resolve(self.task.run), self.loaded, solver, self.task.options)

    def close(self):
        pass


class _Child:
    """A child process (``python -m benchmarks.sweep``) holding the loaded problem.

    The protocol is pickled messages over its stdin/stdout pipes; the child sends its own and its
    solvers' prints to stderr so that they cannot corrupt the protocol.
    """

    def __init__(self, task):
        self.task = task
        self.process = subprocess.Popen([sys.executable, "-m", "benchmarks.sweep"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        cwd=REPO, env={**os.environ, **_thread_environment()})
        self.to_child = Connection(os.dup(self.process.stdin.fileno()), readable=False)
        self.from_child = Connection(os.dup(self.process.stdout.fileno()), writable=False)
        self.process.stdin.close()
        self.process.stdout.close()
        self.to_child.send((task.load, task.run, task.problem, task.options))
        reply = self._receive(task.limit + LOAD_GRACE)
        if reply["status"] != "ok":
            self.close()
            raise _LoadError(reply)

    def _receive(self, timeout):
        if not self.from_child.poll(timeout):
            self.close()
            return {"status": "timeout"}
        try:
            return self.from_child.recv()
        except EOFError:  # killed, e.g. out of memory, or a crash in compiled code
            self.close()
            return {"status": "crashed", "exitcode": self.process.returncode}

    def run(self, solver):
        start = time.perf_counter()
        self.to_child.send(solver)
        record = self._receive(self.task.limit)
        if record["status"] in ("timeout", "crashed"):
            record = {"solver": solver, "wall": time.perf_counter() - start, **record}
        return record

    def close(self):
        self.to_child.close()
        self.from_child.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class _LoadError(Exception):
    def __init__(self, reply):
        super().__init__(reply.get("error", reply["status"]))
        self.reply = reply


def _die_with_parent():
    """Have the kernel kill this child if its worker dies (Linux), so that no orphan spins on
    after a cluster is shut down in the middle of a run."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _child_main():
    """Body of the child: load the problem, then run the solvers it is sent, one at a time."""
    _die_with_parent()
    from_parent = Connection(os.dup(0), writable=False)
    to_parent = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)  # prints, also from compiled code, go to stderr
    sys.stdout = sys.stderr
    load, run, problem, options = from_parent.recv()
    try:
        loaded = _resolve(load)(problem, **options)
    except Exception as exc:
        to_parent.send({"status": "load-error", "error": f"{type(exc).__name__}: {exc}",
                        "traceback": traceback.format_exc()})
        return
    to_parent.send({"status": "ok"})
    run = _resolve(run)
    while True:
        try:
            solver = from_parent.recv()
        except EOFError:
            return
        to_parent.send(_timed_run(run, loaded, solver, options))


def run_task(task, isolate=True):
    """Run every solver of ``task``; return the task's result record.

    Parameters
    ----------
    task : Task
    isolate : bool
        Run in child processes with the hard limit ``task.limit`` per run (a run over it is
        killed and recorded as ``"timeout"``; the next solvers run in a fresh child), or, if
        False, in this process without a limit.

    Returns
    -------
    dict
        ``key``, ``problem``, ``repeat``, ``status`` (``"ok"`` or why the problem could not be
        loaded), ``runs`` (one dict per solver: ``solver``, ``status``, ``wall`` and what the
        task's ``run`` returned) and ``machine``.

    Examples
    --------
    >>> task = Task("tests.sweep_toy:load", "tests.sweep_toy:run", "rosen-2", ("BFGS",))
    >>> [run["status"] for run in run_task(task)["runs"]]
    ['ok']
    """
    if isolate:
        with _ONE_TASK_AT_A_TIME:
            return _run_solvers(task, _Child)
    return _run_solvers(task, _InProcess)


def _run_solvers(task, runner):
    record = {"key": task.key, "problem": task.problem, "repeat": task.repeat, "status": "ok",
              "runs": [], "machine": machine()}
    pending = list(task.solvers)
    while pending:
        try:
            child = runner(task)
        except _LoadError as exc:
            record.update(status=exc.reply["status"], error=exc.reply.get("error", ""))
            break
        except Exception as exc:  # the in-process load failing, as _LoadError above
            record.update(status="load-error", error=f"{type(exc).__name__}: {exc}")
            break
        while pending:
            run = child.run(pending.pop(0))
            record["runs"].append(run)
            if run["status"] in ("timeout", "crashed"):
                break  # the child is gone; the remaining solvers get a fresh one
        child.close()
    return record


def load_results(path):
    """Records of a results file, by task key (the last line of a key wins); ``{}`` if absent.

    Examples
    --------
    >>> load_results("/nonexistent/results.jsonl")
    {}
    """
    path = Path(path)
    if not path.exists():
        return {}
    records = {}
    with path.open() as lines:
        for line in lines:
            if line.strip():
                record = json.loads(line)
                records[record["key"]] = record
    return records


def _append(path, record):
    with Path(path).open("a") as results:
        results.write(json.dumps(record, default=_to_json) + "\n")
        results.flush()
        os.fsync(results.fileno())


def _to_json(value):
    if hasattr(value, "item"):  # NumPy scalars
        return value.item()
    raise TypeError(f"a sweep result must be JSON-serialisable; got {type(value).__name__}")


def local_cluster(workers=None):
    """A LocalCluster for sweeps: ``workers`` single-threaded processes (default: one per
    core) on the loopback interface, no dashboard, single-threaded BLAS in the workers.

    Examples
    --------
    >>> cluster = local_cluster(1)
    >>> len(cluster.workers)
    1
    >>> cluster.close()
    """
    from distributed import LocalCluster

    # dashboard_address=None still lets the scheduler's HTTP server try port 8787; a free
    # loopback port avoids the "port in use" warning when another cluster holds it.
    return LocalCluster(n_workers=workers or os.cpu_count(), threads_per_worker=1,
                        processes=True, dashboard_address=None, host="127.0.0.1",
                        scheduler_kwargs={"dashboard": False,
                                          "dashboard_address": "127.0.0.1:0"},
                        env=_thread_environment())


def _progress(done, total, record, started):
    elapsed = time.perf_counter() - started
    eta = elapsed / done * (total - done)
    runs = " ".join(f"{run['solver']}={run['status']}" for run in record["runs"])
    print(f"[sweep {done}/{total}, {elapsed:.0f} s, ~{eta:.0f} s left] {record['key']} "
          f"{record['status']} {runs}", file=sys.stderr, flush=True)


def run_sweep(tasks, path, *, scheduler=None, workers=None, max_tasks=None, on_result=None):
    """Run the tasks that ``path`` does not hold yet; return the records of all ``tasks``.

    Parameters
    ----------
    tasks : list of Task
    path : str or Path
        JSON-lines results file; each finished task is appended as one line with ``commit``.
    scheduler : str, optional
        Address of an existing Dask scheduler. Default: a :func:`local_cluster`.
    workers : int, optional
        Worker processes of the LocalCluster (default one per core); ``0`` runs the tasks
        serially in this process, without child processes or hard limits.
    max_tasks : int, optional
        Run at most this many of the pending tasks, then stop (the next call resumes).
    on_result : callable, optional
        Called with each new record as it arrives (after it is written).

    Returns
    -------
    dict
        Records by task key, for the tasks of ``tasks`` that the file now holds.

    Examples
    --------
    >>> import tempfile
    >>> tasks = [Task("tests.sweep_toy:load", "tests.sweep_toy:run", "rosen-2", ("BFGS",))]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     records = run_sweep(tasks, f"{folder}/results.jsonl", workers=0)
    >>> [run["solver"] for run in records[tasks[0].key]["runs"]]
    ['BFGS']
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    held = load_results(path)
    pending = list({task.key: task for task in tasks if task.key not in held}.values())
    pending = pending[:max_tasks] if max_tasks is not None else pending
    revision, started = commit(), time.perf_counter()

    def arrived(done, record):
        record["commit"] = revision
        _append(path, record)
        held[record["key"]] = record
        _progress(done, len(pending), record, started)
        if on_result is not None:
            on_result(record)

    if workers == 0 and scheduler is None:
        for done, task in enumerate(pending, start=1):
            arrived(done, run_task(task, isolate=False))
    elif pending:
        _run_distributed(pending, scheduler, workers, arrived)
    return {task.key: held[task.key] for task in tasks if task.key in held}


def _run_distributed(pending, scheduler, workers, arrived):
    from distributed import Client, as_completed

    cluster = None if scheduler else local_cluster(workers)
    try:
        with Client(scheduler or cluster) as client:
            futures = client.map(run_task, pending, key=[f"sweep-{t.key}" for t in pending])
            for done, future in enumerate(as_completed(futures), start=1):
                arrived(done, future.result())
    finally:
        if cluster is not None:
            cluster.close()


def add_arguments(parser):
    """Add the sweep options (``--scheduler``, ``--workers``, ``--results``, ``--max-tasks``)
    to an argparse parser.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> add_arguments(parser)
    >>> parser.parse_args(["--workers", "2"]).workers
    2
    """
    group = parser.add_argument_group("sweep (dask.distributed)")
    group.add_argument("--scheduler", default=None,
                       help="address of an existing Dask scheduler (default: a LocalCluster)")
    group.add_argument("--workers", type=int, default=None,
                       help="LocalCluster worker processes (default: one per core); 0 runs "
                       "the tasks serially in this process, without hard time limits")
    group.add_argument("--results", default=None,
                       help="JSON-lines results file; a rerun skips the tasks it holds")
    group.add_argument("--max-tasks", type=int, default=None,
                       help="run at most this many pending tasks, then stop (resume later)")


def sweep_options(args):
    """The keyword arguments of :func:`run_sweep` chosen on the command line.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> add_arguments(parser)
    >>> sweep_options(parser.parse_args(["--workers", "0"]))
    {'scheduler': None, 'workers': 0, 'max_tasks': None}
    """
    return {"scheduler": args.scheduler, "workers": args.workers, "max_tasks": args.max_tasks}


def runs_by_solver(records):
    """``{(problem, solver): [run, ...]}`` over the repeats of the loaded tasks.

    Examples
    --------
    >>> record = {"problem": "p", "status": "ok", "runs": [{"solver": "s", "status": "ok"}]}
    >>> runs_by_solver({"p#0": record})
    {('p', 's'): [{'solver': 's', 'status': 'ok'}]}
    """
    table = {}
    for record in records.values():
        for run in record["runs"]:
            table.setdefault((record["problem"], run["solver"]), []).append(run)
    return table


if __name__ == "__main__":
    _child_main()
