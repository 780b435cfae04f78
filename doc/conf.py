"""Sphinx configuration for numopt (builds offline; CI builds with ``-n -W``)."""

import builtins
import inspect
import os
import re
import sys
import warnings
from collections import Counter
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path

DOC = Path(__file__).parent
sys.path.insert(0, str(DOC.parent))
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numopt  # noqa: E402
from numopt._core.options import add_signature_defaults  # noqa: E402
from numopt._core.registry import REGISTRY  # noqa: E402

project = "numopt"
author = "numopt developers"
copyright = "2026, numopt developers"
release = version = numopt.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}

html_theme = "pydata_sphinx_theme"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path = []
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# numpydoc also scrapes raw docstrings (signatures, cross references) outside autodoc, where the
# hook below cannot rename the solvers' "Options" section; the rendered pages do show it.
warnings.filterwarnings("ignore", message="Unknown section Options", category=UserWarning)

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

sphinx_gallery_conf = {
    "examples_dirs": str(DOC.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
}

GENERATED = DOC / "generated"

# The API reference: one section per public module, one page per object. ``None`` takes the
# module's ``__all__`` (its classes and functions); a tuple picks the names other pages refer to
# in a module whose ``__all__`` also lists internal helpers.
API_SECTIONS = (
    ("Solvers and tools", "numopt", None),
    ("Warnings", "numopt._core.warnings", ("NumoptWarning", "ConvergenceWarning")),
    ("Optimal transport", "numopt.ot", None),
    ("Games", "numopt.games", None),
    ("Test problems", "numopt.problems", None),
    ("Bilevel test problems", "numopt.problems.bilevel_zoo", None),
    ("Game test problems", "numopt.problems.games_zoo", None),
    ("PDE-constrained test problem", "numopt.problems.poisson_control", None),
    ("Constrained logistic regression", "numopt.problems.constrained_logistic", None),
    ("Bilevel problem pieces", "numopt.bilevel.problem",
     ("LevelFunction", "BilevelProblem", "CoupledConstraints")),
    ("Bilevel projections", "numopt.bilevel.projections", None),
    ("Data sets", "numopt.datasets", None),
    ("Backends", "numopt.backends", ("Backend", "get_backend", "set_backend", "on_device")),
    ("Hessian approximations of gn-newton", "numopt.unconstrained.hessian_approx", ("RankOne",)),
)


def _public_objects(module_name, names):
    """``[(documented name, object)]`` of a section, in ``__all__`` order."""
    module = import_module(module_name)
    names = names or module.__all__
    objects = [(f"{module_name}.{name}", getattr(module, name)) for name in names]
    return [(name, obj) for name, obj in objects if inspect.isclass(obj) or inspect.isfunction(obj)]


def _object_page(name, obj, title=None):
    """The reST of one object's page."""
    if inspect.isclass(obj):
        kind = "autoexception" if issubclass(obj, BaseException) else "autoclass"
        body = f".. {kind}:: {name}\n   :members:\n   :show-inheritance:\n"
    else:
        body = f".. autofunction:: {name}\n"
    title = title or name
    return f"{title}\n{'=' * len(title)}\n\n{body}"


def _write(path, text):
    """Write only when changed, so that Sphinx does not rebuild unchanged pages."""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _registry_table():
    lines = ["Solvers", "-------", "",
             "The solver registry ``numopt._core.registry``: the one list that dispatch, the "
             "demo, the contract tests and these pages read.", "",
             ".. list-table::", "   :header-rows: 1", "", "   * - registry name",
             "     - entry point", "     - summary"]
    for name, spec in REGISTRY.items():
        target = spec.implementation.replace(":", ".")
        entry = (f':func:`minimize(method="{name}") <{target}>`' if spec.entry == "minimize"
                 else f":func:`numopt.{spec.entry}`")
        lines += [f"   * - ``{name}``", f"     - {entry}", f"     - {spec.summary}"]
    return lines + [""]


def _summary(obj):
    """The first paragraph of ``obj``'s docstring, on one line."""
    return " ".join(inspect.getdoc(obj).split("\n\n")[0].split())


def _section(title, module_name, entries):
    """A section of the API page: the module's summary and a table of its objects."""
    lines = [title, "-" * len(title), "", f".. py:module:: {module_name}", "",
             _summary(import_module(module_name)), "", ".. list-table::", "   :widths: 30 70", ""]
    for name, obj in entries:
        lines += [f"   * - :obj:`~{name}`", f"     - {_summary(obj)}"]
    return lines + [""]


def _write_api_pages():
    """Write ``generated/api.rst`` and one page per public object; return ``{name: object}``.

    An object exported under several names (``numopt.sinkhorn_newton`` is also
    ``numopt.ot.sinkhorn_newton``) gets one page, under the first name met; later sections list
    it under that name.
    """
    GENERATED.mkdir(exist_ok=True)
    pages, documented = {}, {}  # page name -> object; id(object) -> page name
    lines = ["API reference", "=============", "",
             "One page per public object, generated from the solver registry and the public "
             "modules' ``__all__``.", ""] + _registry_table()
    for title, module_name, names in API_SECTIONS:
        entries = []
        for name, obj in _public_objects(module_name, names):
            if id(obj) not in documented:
                documented[id(obj)] = name
                pages[name] = obj
                _write(GENERATED / f"{name}.rst", _object_page(name, obj))
            entries.append((documented[id(obj)], obj))
        lines += _section(title, module_name, entries)
    lines += ["Methods of numopt.minimize", "--------------------------", "",
              "Each page documents the method's options (``options={...}``).", ""]
    for name, spec in REGISTRY.items():
        if spec.entry == "minimize":
            target = spec.implementation.replace(":", ".")
            pages[target] = spec.load()
            _write(GENERATED / f"{target}.rst",
                   _object_page(target, spec.load(), title=f'minimize(method="{name}")'))
            lines.append(f'* :func:`minimize(method="{name}") <{target}>`: {spec.summary}')
    lines += ["", ".. toctree::", "   :hidden:", ""] + [f"   {page}" for page in pages]
    _write(GENERATED / "api.rst", "\n".join(lines) + "\n")
    return pages


def _aliases(pages):
    """Every name under which numopt's docs refer to a documented object -> its page's name.

    Docstrings say ``numopt.games.certify.Certificate`` (where it is defined), ``Certificate``
    (relative to the module they live in) or ``numopt._core.warnings.ConvergenceWarning``; each
    resolves to the one page. A short name counts only when one documented object has it.
    """
    short = Counter(obj.__name__ for obj in pages.values())
    aliases = {}
    for name, obj in pages.items():
        aliases[f"{obj.__module__}.{obj.__qualname__}"] = name
        if short[obj.__name__] == 1:
            aliases[obj.__name__] = name
    return aliases | {name: name for name in pages}


# References that render as plain code instead of links: the build's one ignore list.
# - NumPy, SciPy, POT, scikit-learn and the Python standard library: CI reaches no documentation
#   host, so no intersphinx inventory can be fetched, and no installable package ships theirs.
# - numopt's private modules and objects that have no page (e.g. a numba kernel module).
# Each such target is checked to exist when its package is installed: a misspelt reference still
# fails the nitpicky build.
EXTERNAL_PACKAGES = ("numpy", "scipy", "ot", "sklearn")


def _exists(target):
    """Whether ``package.module.attribute...`` imports."""
    parts = target.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return False
        return True
    return False


def _is_plain_code(target):
    """Whether ``target`` is on the ignore list above (and exists)."""
    top = target.split(".")[0]
    if hasattr(builtins, target):
        return True
    if top == "numopt":
        return any(part.startswith("_") for part in target.split(".")) and _exists(target)
    if top not in EXTERNAL_PACKAGES and top not in sys.stdlib_module_names:
        return False
    return find_spec(top) is None or _exists(target)  # not installed here: cannot be checked


def _write_benchmarks_page():
    """``generated/benchmarks.md``: benchmarks/RESULTS.md, then every plot it does not embed."""
    results = DOC.parent / "benchmarks" / "RESULTS.md"
    embedded = set(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", results.read_text()))
    figures = [png for png in sorted((results.parent / "plots").glob("*.png"))
               if f"plots/{png.name}" not in embedded]
    lines = ["```{include} ../../benchmarks/RESULTS.md", ":relative-images:", "```", "",
             "## Figures", "",
             "The plots the benchmark scripts write next to RESULTS.md.", ""]
    for png in figures:
        lines += [f"```{{figure}} ../../benchmarks/plots/{png.name}", f":alt: {png.stem}", "",
                  f"`benchmarks/plots/{png.name}`", "```", ""]
    _write(GENERATED / "benchmarks.md", "\n".join(lines))


ALIASES = _aliases(_write_api_pages())
_write_benchmarks_page()


def _resolve_reference(app, env, node, contnode):
    """Resolve numopt's aliases to the object's page; leave the ignore list's targets unlinked."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip(".~")
    if target in ALIASES:
        domain = env.get_domain("py")
        return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"],
                                   ALIASES[target], node, contnode)
    return contnode if _is_plain_code(target) else None


def _options_as_other_parameters(app, what, name, obj, options, lines):
    """Render the solvers' "Options" heading (SciPy's convention) as numpydoc "Other Parameters",
    each option headed by its default read from the signature.

    numpydoc knows no "Options" section and would drop it; its content is a parameter list. The
    docstrings do not repeat defaults: the signature is their one source.
    """
    if what == "function" and callable(obj):
        add_signature_defaults(lines, obj)
    for k in range(len(lines) - 1):
        if lines[k].strip() == "Options" and set(lines[k + 1].strip()) == {"-"}:
            indent = lines[k][: len(lines[k]) - len(lines[k].lstrip())]
            lines[k] = indent + "Other Parameters"
            lines[k + 1] = indent + "-" * len("Other Parameters")


def setup(app):
    # Before numpydoc (priority 500) parses the docstring.
    app.connect("autodoc-process-docstring", _options_as_other_parameters, priority=400)
    app.connect("missing-reference", _resolve_reference)
