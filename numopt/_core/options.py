"""Solver options: read from signatures, described by docstrings, printed with real defaults.

Every option of a numopt solver is a keyword-only parameter of its entry function (SciPy's
``**unknown_options`` catch-all aside), so ``inspect.signature``, ``help()`` and IDEs show it with
its default. The docstring describes it (numpydoc "Parameters" or "Options" section) without
repeating the default; :func:`options_text` (behind :func:`numopt.show_options`) and the API docs
take each default from the signature, so documentation and code cannot drift apart.
"""

import inspect
import re
from dataclasses import dataclass

__all__ = ["Option", "solver_options", "documented_parameters", "options_text",
           "stated_defaults", "add_signature_defaults"]

_SECTION = re.compile(r"^(?P<title>\S[^\n]*)\n(?P<rule>-{3,})\n", re.M)
_ENTRY = re.compile(r"^(?P<names>[*\w][\w, *]*?)(?: : (?P<type>.*))?$")


@dataclass(frozen=True)
class Option:
    """One keyword option of a solver.

    Attributes
    ----------
    name : str
    default : object
        The signature's default.
    type : str
        The numpydoc type text (empty when undocumented).
    description : str
        The numpydoc description (empty when undocumented).
    """

    name: str
    default: object
    type: str = ""
    description: str = ""

    def header(self):
        """``"name : type, default value"`` with the default taken from the signature."""
        kind = f"{self.type}, " if self.type else ""
        return f"{self.name} : {kind}default {self.default!r}"


def _sections(doc):
    """``{title: body}`` of a numpydoc docstring."""
    doc = inspect.cleandoc(doc or "")
    matches = list(_SECTION.finditer(doc))
    sections = {}
    for k, match in enumerate(matches):
        end = matches[k + 1].start() if k + 1 < len(matches) else len(doc)
        sections[match["title"].strip()] = doc[match.end():end]
    return sections


def _entries(body):
    """``[(names, type, description)]`` of a numpydoc parameter list."""
    entries = []
    for line in body.splitlines():
        if line and not line[0].isspace():
            match = _ENTRY.match(line.strip())
            if match is None:
                continue
            names = [name.strip().lstrip("*") for name in match["names"].split(",")]
            entries.append([names, (match["type"] or "").strip(), []])
        elif entries:
            entries[-1][2].append(line.strip())
    return [(names, kind, " ".join(filter(None, text))) for names, kind, text in entries]


def documented_parameters(func, sections=("Parameters", "Options", "Other Parameters")):
    """``{name: (section, type, description)}`` for the parameters ``func``'s docstring lists.

    Examples
    --------
    >>> from numopt._core.options import documented_parameters
    >>> def f(x, *, tol=1e-8):
    ...     '''Doc.
    ...
    ...     Parameters
    ...     ----------
    ...     x : float
    ...         The point.
    ...     tol : float
    ...         Tolerance.
    ...     '''
    >>> documented_parameters(f)["tol"]
    ('Parameters', 'float', 'Tolerance.')
    """
    found = {}
    for title, body in _sections(func.__doc__).items():
        if title in sections:
            for names, kind, description in _entries(body):
                for name in names:
                    found[name] = (title, kind, description)
    return found


def solver_options(func):
    """The keyword-only parameters of ``func`` as :class:`Option` objects, in signature order.

    Examples
    --------
    >>> from numopt._core.options import solver_options
    >>> def f(x, *, tol=1e-8, **unknown_options):
    ...     '''Doc.'''
    >>> solver_options(f)
    [Option(name='tol', default=1e-08, type='', description='')]
    """
    documented = documented_parameters(func)
    options = []
    for parameter in inspect.signature(func).parameters.values():
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
            _, kind, description = documented.get(parameter.name, (None, "", ""))
            options.append(Option(parameter.name, parameter.default, kind, description))
    return options


def options_text(func):
    """The options of ``func`` as numpydoc text, each headed by its signature default.

    Examples
    --------
    >>> from numopt._core.options import options_text
    >>> def f(x, *, tol=1e-8):
    ...     '''Doc.
    ...
    ...     Options
    ...     -------
    ...     tol : float
    ...         Tolerance.
    ...     '''
    >>> print(options_text(f))
    tol : float, default 1e-08
        Tolerance.
    """
    blocks = []
    for option in solver_options(func):
        words, lines, line = option.description.split(), [], "   "
        for word in words:
            if len(line) + len(word) > 95:
                lines.append(line)
                line = "   "
            line += " " + word
        lines.append(line)
        blocks.append("\n".join([option.header(), *[text for text in lines if text.strip()]]))
    return "\n".join(blocks)


_STATED = re.compile(r"[Dd]efaults?:?\s+(?:is\s+)?(?:``([^`]+)``|([^\s`,;)]+))")


def stated_defaults(description):
    """Literal default values a description states ("Default 500.", "default ``"block"``").

    Returns the values that parse as Python literals; a test compares them with the signature.

    Examples
    --------
    >>> from numopt._core.options import stated_defaults
    >>> stated_defaults("Maximum number of iterations. Default 500.")
    [500]
    """
    import ast

    values = []
    for quoted, plain in _STATED.findall(description):
        token = quoted or plain
        try:
            values.append(ast.literal_eval(token.rstrip(".")))
        except (ValueError, SyntaxError):
            continue
    return values


def add_signature_defaults(lines, func):
    """Append ``, default <value>`` from ``func``'s signature to the documented type lines.

    ``lines`` is a docstring as a list of lines (Sphinx's autodoc hook gets it so); it is edited in
    place, for the parameters of the "Parameters" and "Options" sections that have a default.
    """
    defaults = {name: parameter.default
                for name, parameter in inspect.signature(func).parameters.items()
                if parameter.default is not inspect.Parameter.empty}
    section = None
    for k, line in enumerate(lines):
        if k + 1 < len(lines) and set(lines[k + 1].strip()) == {"-"} and line.strip():
            section = line.strip()
            continue
        if section not in ("Parameters", "Options", "Other Parameters") or not line \
                or line[0].isspace():
            continue
        match = _ENTRY.match(line.strip())
        if match is None:
            continue
        names = [name.strip() for name in match["names"].split(",")]
        if len(names) == 1 and names[0] in defaults:
            kind = f"{match['type']}, " if match["type"] else ""
            lines[k] = f"{names[0]} : {kind}default {defaults[names[0]]!r}"
