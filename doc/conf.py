"""Sphinx configuration for numopt (builds offline, warnings are errors in CI)."""

import os
import sys
import warnings
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
]

html_theme = "pydata_sphinx_theme"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path = []
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# numpydoc also scrapes raw docstrings (signatures, cross references) outside autodoc, where the
# hook below cannot rename the solvers' "Options" section; the rendered pages do show it.
warnings.filterwarnings("ignore", message="Unknown section Options", category=UserWarning)

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
autodoc_default_options = {"members": False}

sphinx_gallery_conf = {
    "examples_dirs": str(DOC.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
}


def _write_api_page():
    """The API reference is generated from the public names and the solver registry."""
    lines = [
        "API reference",
        "=============",
        "",
        "Generated from ``numopt.__all__`` and the solver registry ``numopt._core.registry``.",
        "",
        "Solvers",
        "-------",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - registry name",
        "     - entry point",
        "     - summary",
    ]
    for name, spec in REGISTRY.items():
        lines += [f"   * - ``{name}``", f"     - ``numopt.{spec.entry}``", f"     - {spec.summary}"]
    lines += ["", "Public functions and classes", "----------------------------", ""]
    for name in sorted(set(numopt.__all__) - {"__version__"}):
        kind = "autoclass" if name[0].isupper() else "autofunction"
        lines += [f".. {kind}:: numopt.{name}", ""]
    implementations = sorted({spec.implementation for spec in REGISTRY.values()
                              if spec.entry == "minimize"})
    if implementations:
        lines += ["Options of the ``minimize`` methods", "------------------------------------",
                  ""]
        for path in implementations:
            lines += [f".. autofunction:: {path.replace(':', '.')}", ""]
    out = DOC / "generated"
    out.mkdir(exist_ok=True)
    text = "\n".join(lines) + "\n"
    target = out / "api.rst"
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


_write_api_page()


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
