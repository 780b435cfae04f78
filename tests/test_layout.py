"""The package's structure: one-way layers, no import cycles, options visible in signatures.

Layers, bottom to top (a module may import its own layer and the ones below):
``_core`` < ``backends`` < ``datasets`` < solver packages (``ot``, ``unconstrained``,
``constrained``, ``bilevel``, ``games``; none imports another) < ``problems`` and ``_minimize``
< ``_examples`` < ``_demo`` < the top-level package. Imports inside functions count, docstrings do
not.
"""

import ast
import inspect
from pathlib import Path

import pytest

import numopt
from numopt._core.options import documented_parameters, solver_options, stated_defaults
from numopt._core.registry import REGISTRY

PACKAGE = Path(numopt.__file__).parent
SOLVER_PACKAGES = ("ot", "unconstrained", "constrained", "bilevel", "games")
RANK = {"_core": 0, "backends": 1, "datasets": 2, **dict.fromkeys(SOLVER_PACKAGES, 3),
        "problems": 4, "_minimize": 4, "_examples": 5, "_demo": 6, "__main__": 7, "__init__": 7}


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _layer(module):
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def _imports(module):
    """numopt modules imported by ``module`` (a ``from pkg import sub`` names the submodule)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                     for alias in node.names]
        else:
            continue
        found.update(name for name in names if name.split(".")[0] == "numopt" and name in MODULES)
    return found - {module}


GRAPH = {module: _imports(module) for module in MODULES}


def test_layout_sanity():
    assert "numopt._core.registry" in GRAPH and "numopt.ot.sinkhorn_newton" in GRAPH
    assert "numopt.backends" in GRAPH["numopt.ot.sinkhorn_newton"]


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_run_one_way(module):
    layer = _layer(module)
    for target in GRAPH[module]:
        target_layer = _layer(target)
        if target_layer == layer:
            continue
        assert RANK[target_layer] < RANK[layer], f"{module} imports {target} (upward)"
        assert not (layer in SOLVER_PACKAGES and target_layer in SOLVER_PACKAGES), \
            f"{module} imports {target} (another solver package)"


def test_no_import_cycles_between_files():
    state, stack, cycles = {}, [], []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for target in sorted(GRAPH[module]):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)
    assert not cycles, cycles


def test_bilevel_problem_is_a_plain_input_type():
    from numopt.bilevel.problem import BilevelProblem

    assert not hasattr(BilevelProblem, "solve")


# ---------------------------------------------------------------- options visible in signatures

ENTRY_POINTS = {name: spec.load() for name, spec in REGISTRY.items()}


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_every_option_is_a_documented_keyword(name):
    function = ENTRY_POINTS[name]
    parameters = inspect.signature(function).parameters
    assert "backend" in parameters, f"{name} takes no backend="
    keywords = {option.name for option in solver_options(function)}
    documented = documented_parameters(function)
    undocumented = keywords - set(documented)
    assert not undocumented, f"{name}: options missing from the docstring: {undocumented}"
    catch_all = {name for name, parameter in parameters.items()
                 if parameter.kind is inspect.Parameter.VAR_KEYWORD}
    for option, (section, _, _) in documented.items():
        if section in ("Options", "Other Parameters") and option not in catch_all:
            assert option in keywords, f"{name} documents {option!r}, not in its signature"
    for option in solver_options(function):
        _, kind, description = documented[option.name]
        assert "default" not in kind.lower(), \
            f"{name}: {option.name}'s type line states a default; the signature is the source"
        for stated in stated_defaults(description):
            assert stated == option.default, \
                f"{name}: {option.name} says default {stated!r}, the signature {option.default!r}"


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_show_options_takes_defaults_from_the_signature(name):
    spec = REGISTRY[name]
    text = numopt.show_options(spec.entry, name if spec.entry == "minimize" else None,
                               disp=False)
    for option in solver_options(ENTRY_POINTS[name]):
        assert f"{option.name} : " in text and f"default {option.default!r}" in text


def test_show_options_rejects_a_non_string():
    with pytest.raises(TypeError, match="'solver' parameter of show_options"):
        numopt.show_options(123)


# ---------------------------------------------------------------- short functions, own citations

def _code_lines(function, source_lines):
    """Lines of code of a function: its body without the docstring, blank and comment lines."""
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    lines = set()
    for statement in body:
        for number in range(statement.lineno, statement.end_lineno + 1):
            text = source_lines[number - 1].strip()
            if text and not text.startswith("#"):
                lines.add(number)
    return len(lines)


def test_no_function_is_longer_than_80_lines_of_code():
    long = []
    for module, path in MODULES.items():
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                count = _code_lines(node, source.splitlines())
                if count > 80:
                    long.append(f"{module}.{node.name}: {count} lines")
    assert not long, long


def test_docstrings_cite_nothing_outside_the_repository():
    """Papers are cited by their bibliographic reference, not by the project's working notes."""
    import re

    outside = re.compile(r"CONVENTIONS\.md|shared/papers|\bspec (?:part |steps? )?[A-Z]?\d|"
                         r"\(spec\b|of the specification")
    found = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            docstring = (ast.get_docstring(node, clean=False)
                         if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) else None)
            if docstring and outside.search(docstring):
                found.append(f"{module}:{getattr(node, 'name', '<module>')}")
    assert not found, found
