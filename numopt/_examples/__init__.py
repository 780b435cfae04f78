"""The solver registry's small real problems, their independent references and peer baselines.

One module per solver family. They feed ``python -m numopt demo`` and the contract tests; they sit
above the solver packages and :mod:`numopt.problems` (which they import), so no solver package ever
imports them.
"""
