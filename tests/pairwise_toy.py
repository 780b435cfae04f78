"""A callback that fails inside a solve, for tests/test_ot_pairwise.py.

It lives in its own import-light module because Dask workers import the module of every
function they run: importing the test module itself (POT, pytest, its data) would cost each
worker seconds.
"""


class WorkerFailure(RuntimeError):
    """Raised by :func:`failing_callback`, to see it come back from a worker unchanged."""


def failing_callback(intermediate_result):
    """Stop any solve that calls it with :class:`WorkerFailure`."""
    raise WorkerFailure("raised inside a tile")
