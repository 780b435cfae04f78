"""Differentiable N-player games: player blocks, the pseudo-gradient, its Jacobian, feasible sets.

Player ``i`` controls the block ``x_i`` of length ``d_i`` of the joint strategy ``x`` and minimises
its own cost ``f_i(x_i, x_{-i})``. Everything the certificate and gradient play need is the
pseudo-gradient ``F(x) = (grad_{x_1} f_1(x), ..., grad_{x_N} f_N(x))``, its Jacobian (given, or by
central finite differences) and, optionally, one closed convex feasible set per player.
"""

import itertools

import numpy as np

from numopt._core.validation import (
    array_namespace,
    check_array,
    check_callable,
    check_function_output,
    check_int,
    check_scalar,
)

__all__ = ["Game", "Box", "Simplex", "Region", "quadratic_game", "linear_quadratic_game"]

_GAME = "Game"


class Box:
    """The feasible set ``{x_i : low <= x_i <= high}`` of one player (bounds may be infinite).

    Examples
    --------
    >>> from numopt.games import Box
    >>> Box(0.0, 1.0).project([-0.5, 0.3, 2.0])
    array([0. , 0.3, 1. ])
    """

    def __init__(self, low, high):
        self.low = np.asarray(low, dtype=float)
        self.high = np.asarray(high, dtype=float)
        if np.isnan(self.low).any() or np.isnan(self.high).any() or (self.low > self.high).any():
            raise ValueError(f"`Box` needs low <= high without NaN; got low = {low!r}, "
                             f"high = {high!r}.")

    def project(self, x):
        xp = array_namespace(x)
        return xp.clip(xp.asarray(x), xp.asarray(self.low), xp.asarray(self.high))

    def __repr__(self):
        return f"Box({self.low!r}, {self.high!r})"


class Simplex:
    """The feasible set ``{x_i >= 0 : sum(x_i) = radius}`` of one player (mixed strategies).

    The Euclidean projection sorts once (Held, Wolfe and Crowder 1974).

    Examples
    --------
    >>> from numopt.games import Simplex
    >>> Simplex().project([0.6, 0.6, -1.0])
    array([0.5, 0.5, 0. ])
    """

    def __init__(self, radius=1.0):
        self.radius = check_scalar(radius, "radius", "Simplex", low=0)

    def project(self, x):
        xp = array_namespace(x)
        x = xp.asarray(x, dtype=float)
        sorted_desc = xp.sort(x)[::-1]
        cumulative = xp.cumsum(sorted_desc) - self.radius
        ranks = xp.arange(1, x.shape[0] + 1)
        active = int(xp.count_nonzero(sorted_desc - cumulative / ranks > 0))
        threshold = cumulative[active - 1] / active
        return xp.maximum(x - threshold, 0.0)

    def __repr__(self):
        return f"Simplex(radius={self.radius})"


class _UserProjection:
    """A user's projection callable onto one player's feasible set."""

    def __init__(self, function, player):
        self.function, self.player = function, player

    def project(self, x):
        value = check_function_output(self.function(x), f"feasible_sets[{self.player}]",
                                      x.shape, array_namespace(x))
        return value


class Region:
    """A box ``{low <= x <= high}`` of joint strategies on which a certificate must hold.

    Infinite bounds are allowed (the whole space is ``Region.whole(dim)``); a product set keeps
    the mixed points ``(y_i, x_{-i})`` of the small-gain argument inside the region.

    Parameters
    ----------
    low, high : array_like, shape (dim,)
        Bounds with ``low <= high``.

    Examples
    --------
    >>> from numopt.games import Region
    >>> cube = Region.cube([0.0, 0.0], 0.1)
    >>> cube.contains([0.05, -0.1]), cube.contains([0.2, 0.0])
    (True, False)
    """

    def __init__(self, low, high):
        self.low = check_array(low, "region low", ndim=1, finite=False)
        self.high = check_array(high, "region high", ndim=1, finite=False, shape=self.low.shape)
        if np.isnan(self.low).any() or np.isnan(self.high).any() or (self.low > self.high).any():
            raise ValueError("`region` must have low <= high without NaN entries.")

    @classmethod
    def cube(cls, center, radius):
        """The l-infinity ball ``{x : |x - center|_inf <= radius}``."""
        center = check_array(center, "region center", ndim=1)
        radius = check_scalar(radius, "radius", "Region.cube", low=0)
        return cls(center - radius, center + radius)

    @classmethod
    def whole(cls, dim):
        """The whole space ``R^dim`` (for games whose Jacobian is constant)."""
        return cls(np.full(dim, -np.inf), np.full(dim, np.inf))

    @property
    def dim(self):
        return self.low.shape[0]

    @property
    def bounded(self):
        return bool(np.isfinite(self.low).all() and np.isfinite(self.high).all())

    @property
    def center(self):
        return (self.low + self.high) / 2

    def contains(self, x, tol=1e-12):
        """True when ``x`` lies in the box (up to ``tol``)."""
        x = np.asarray(x, dtype=float)
        return bool(np.all(x >= self.low - tol) and np.all(x <= self.high + tol))

    def sample_points(self, max_points, rng):
        """All vertices (at most ``max_points``, else random ones) plus the centre."""
        dim = self.dim
        if 2 ** dim <= max_points:
            corners = (np.arange(2 ** dim)[:, None] >> np.arange(dim)[None, :]) & 1
        else:
            corners = rng.integers(0, 2, size=(max_points, dim))
        vertices = np.where(corners == 1, self.high, self.low)
        return np.vstack([vertices, self.center])

    def cell_centres(self, max_points):
        """Centres of a uniform grid of at most ``max_points`` cells, and the half cell diagonal."""
        per_axis = max(1, int(np.floor(max_points ** (1 / self.dim) + 1e-9)))
        width = (self.high - self.low) / per_axis
        axes = [self.low[k] + width[k] * (np.arange(per_axis) + 0.5) for k in range(self.dim)]
        centres = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, self.dim)
        return centres, float(np.linalg.norm(width) / 2)

    def __repr__(self):
        if not self.bounded and np.isinf(self.low).all() and np.isinf(self.high).all():
            return f"Region.whole({self.dim})"
        return f"Region(low={self.low!r}, high={self.high!r})"


def _as_feasible_set(value, player):
    if value is None or hasattr(value, "project"):
        return value
    if callable(value):
        return _UserProjection(value, player)
    raise TypeError(f"`feasible_sets[{player}]` must be None, a Box, a Simplex or a projection "
                    f"callable; got {type(value).__name__}.")


class Game:
    """An N-player differentiable game given by its pseudo-gradient.

    Parameters
    ----------
    pseudo_gradient : callable
        ``F(x) -> array, shape (dim,)``: the stacked partial gradients
        ``(grad_{x_1} f_1(x), ..., grad_{x_N} f_N(x))``.
    block_sizes : sequence of int
        ``(d_1, ..., d_N)``: how many coordinates each player controls; ``dim = sum(d_i)``.
    jacobian : callable, optional
        ``J(x) -> array, shape (dim, dim)``, the Jacobian of ``F``; block ``(i, j)`` is
        ``grad^2_{x_i x_j} f_i``. Default: central finite differences of ``F`` (``2 dim``
        evaluations).
    feasible_sets : sequence, optional
        One entry per player: ``None`` (unconstrained), :class:`Box`, :class:`Simplex` or a callable
        ``project(y_i) -> x_i`` (the Euclidean projection onto a closed convex set).
    jacobian_lipschitz : float, optional
        A Lipschitz constant of ``J`` (operator 2-norm per unit of Euclidean distance) on the
        regions that will be certified. With it and an exact ``jacobian``, certificates of
        non-quadratic games are rigorous.
    name : str, optional
        Shown in summaries.

    Attributes
    ----------
    n_players, dim : int
    block_sizes : tuple of int
    is_affine : bool
        True when ``F`` is affine (constant Jacobian): certificates then hold on the whole space.

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.games import Game
    >>> game = Game(lambda x: np.array([x[0] + 10 * x[1], 0.05 * x[0] + x[1]]), [1, 1])
    >>> np.round(game.jacobian(np.zeros(2)), 6)
    array([[ 1.  , 10.  ],
           [ 0.05,  1.  ]])
    """

    is_affine = False

    def __init__(self, pseudo_gradient, block_sizes, *, jacobian=None, feasible_sets=None,
                 jacobian_lipschitz=None, name="game"):
        self._pseudo_gradient = check_callable(pseudo_gradient, "pseudo_gradient", _GAME)
        self._jacobian = check_callable(jacobian, "jacobian", _GAME, optional=True)
        if isinstance(block_sizes, (str, bytes)) or not hasattr(block_sizes, "__len__"):
            raise TypeError(f"`block_sizes` must be a sequence of positive ints; got "
                            f"{type(block_sizes).__name__}.")
        self.block_sizes = tuple(check_int(size, "block_sizes", _GAME, low=1)
                                 for size in block_sizes)
        if not self.block_sizes:
            raise ValueError("`block_sizes` must name at least one player; got an empty sequence.")
        self.n_players = len(self.block_sizes)
        self.dim = int(sum(self.block_sizes))
        edges = np.concatenate([[0], np.cumsum(self.block_sizes)])
        self.blocks = tuple(slice(int(a), int(b)) for a, b in itertools.pairwise(edges))
        if feasible_sets is None:
            feasible_sets = [None] * self.n_players
        if len(feasible_sets) != self.n_players:
            raise ValueError(f"`feasible_sets` must have one entry per player ({self.n_players}); "
                             f"got {len(feasible_sets)}.")
        self.feasible_sets = tuple(_as_feasible_set(s, i) for i, s in enumerate(feasible_sets))
        self._joint_box = self._boxes_as_one()
        self.jacobian_lipschitz = (None if jacobian_lipschitz is None else check_scalar(
            jacobian_lipschitz, "jacobian_lipschitz", _GAME, low=0, low_inclusive=True))
        self.name = str(name)

    @property
    def exact_jacobian(self):
        """True when ``J`` is the user's (not a finite-difference estimate)."""
        return self._jacobian is not None

    @property
    def constrained(self):
        return any(s is not None for s in self.feasible_sets)

    def check_point(self, x, name="x0"):
        """``x`` as a finite float array of shape ``(dim,)`` (NumPy or CuPy), or raise."""
        return check_array(x, name, shape=(self.dim,))

    def pseudo_gradient(self, x):
        """``F(x)``, shape ``(dim,)``; may hold NaN/inf (callers decide)."""
        return check_function_output(self._pseudo_gradient(x), "pseudo_gradient", (self.dim,),
                                     array_namespace(x))

    def jacobian(self, x):
        """``J_F(x)``, shape ``(dim, dim)``: the user's Jacobian or central differences of ``F``."""
        xp = array_namespace(x)
        if self._jacobian is not None:
            value = self._jacobian(x)
            # The Jacobian may live on the device (CuPy) even when x is a host array.
            return check_function_output(value, "jacobian", (self.dim, self.dim),
                                         array_namespace(value))
        # Central differences with the step that balances truncation and rounding error.
        steps = np.cbrt(np.finfo(float).eps) * np.maximum(1.0, np.abs(np.asarray(x, dtype=float)))
        columns = []
        for j in range(self.dim):
            shift = xp.zeros(self.dim)
            shift[j] = steps[j]
            columns.append((self.pseudo_gradient(x + shift) - self.pseudo_gradient(x - shift))
                           / (2 * steps[j]))
        return xp.stack(columns, axis=1)

    def _boxes_as_one(self):
        """One joint :class:`Box` when every feasible set is a Box or None, else None."""
        if not all(s is None or isinstance(s, Box) for s in self.feasible_sets):
            return None
        bounds = [(np.full(size, -np.inf), np.full(size, np.inf)) if s is None else
                  (np.broadcast_to(s.low, (size,)), np.broadcast_to(s.high, (size,)))
                  for size, s in zip(self.block_sizes, self.feasible_sets, strict=True)]
        return Box(*(np.concatenate(side) for side in zip(*bounds, strict=True)))

    def project(self, x):
        """Per-player projection onto the feasible sets (the M-projection for block weights)."""
        if not self.constrained:
            return x
        if self._joint_box is not None:
            # Boxes only: one clip of the joint vector (the per-player clips, vectorised).
            return self._joint_box.project(x)
        xp = array_namespace(x)
        parts = [x[block] if s is None else s.project(x[block])
                 for block, s in zip(self.blocks, self.feasible_sets, strict=True)]
        return xp.concatenate(parts)

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r}, block_sizes={self.block_sizes})"


class QuadraticGame(Game):
    """A game with affine pseudo-gradient ``F(x) = H x + c`` (quadratic costs)."""

    is_affine = True

    def __init__(self, matrix, block_sizes, *, offset=None, feasible_sets=None, name="quadratic"):
        matrix = check_array(matrix, "H", ndim=2)
        dim = int(np.sum(block_sizes)) if hasattr(block_sizes, "__len__") else -1
        if matrix.shape != (dim, dim):
            raise ValueError(f"`H` must have shape ({dim}, {dim}) to match block_sizes "
                             f"{tuple(block_sizes)!r}; got shape {matrix.shape}.")
        xp = array_namespace(matrix)
        offset = xp.zeros(dim) if offset is None else check_array(offset, "offset", shape=(dim,))
        self.matrix, self.offset = matrix, offset
        super().__init__(lambda x: self.matrix @ x + self.offset, block_sizes,
                         jacobian=lambda x: self.matrix, feasible_sets=feasible_sets,
                         jacobian_lipschitz=0.0, name=name)


def quadratic_game(H, block_sizes, *, offset=None, feasible_sets=None, name="quadratic"):
    """A game with affine pseudo-gradient ``F(x) = H x + offset``.

    Parameters
    ----------
    H : array_like, shape (dim, dim)
        The (constant) Jacobian; block ``(i, j)`` is ``grad^2_{x_i x_j} f_i``.
    block_sizes : sequence of int
        Player block sizes, summing to ``dim``.
    offset : array_like, shape (dim,), optional
        The constant term ``c`` (default 0).
    feasible_sets : sequence, optional
        As in :class:`Game`.
    name : str, optional
        Shown in summaries.

    Returns
    -------
    Game
        With ``is_affine = True``, ``matrix`` and ``offset`` attributes.

    Examples
    --------
    >>> from numopt.games import quadratic_game
    >>> game = quadratic_game([[1.0, 10.0], [0.05, 1.0]], [1, 1])
    >>> game.pseudo_gradient([1.0, 0.0])
    array([1.  , 0.05])
    """
    return QuadraticGame(H, block_sizes, offset=offset, feasible_sets=feasible_sets, name=name)


def linear_quadratic_game(own_costs, couplings, *, offset=None, feasible_sets=None,
                          name="linear-quadratic"):
    """The game with costs ``f_i = 1/2 x_i^T Q_i x_i + x_i^T sum_{j != i} C_ij x_j + c_i^T x_i``.

    Parameters
    ----------
    own_costs : sequence of array_like
        ``Q_i``, shape ``(d_i, d_i)``; only the symmetric part matters.
    couplings : dict
        ``{(i, j): C_ij}`` with ``C_ij`` of shape ``(d_i, d_j)``, ``i != j``; missing pairs are 0.
    offset : array_like, shape (dim,), optional
        The stacked linear terms ``c_i``.
    feasible_sets : sequence, optional
        As in :class:`Game`.
    name : str, optional
        Shown in summaries.

    Returns
    -------
    Game
        ``F(x) = H x + c`` with ``H_ii = sym(Q_i)`` and ``H_ij = C_ij``.

    Examples
    --------
    >>> from numopt.games import linear_quadratic_game
    >>> game = linear_quadratic_game([[[1.0]], [[1.0]]], {(0, 1): [[10.0]], (1, 0): [[0.05]]})
    >>> game.matrix
    array([[ 1.  , 10.  ],
           [ 0.05,  1.  ]])
    """
    blocks = [check_array(q, f"own_costs[{i}]", ndim=2) for i, q in enumerate(own_costs)]
    sizes = [b.shape[0] for b in blocks]
    for i, b in enumerate(blocks):
        if b.shape[1] != b.shape[0]:
            raise ValueError(f"`own_costs[{i}]` must be square; got shape {b.shape}.")
    edges = np.concatenate([[0], np.cumsum(sizes)])
    matrix = np.zeros((edges[-1], edges[-1]))
    for i, b in enumerate(blocks):
        matrix[edges[i]:edges[i + 1], edges[i]:edges[i + 1]] = (b + b.T) / 2
    for (i, j), c in dict(couplings).items():
        if not (0 <= i < len(sizes) and 0 <= j < len(sizes)) or i == j:
            raise ValueError(f"`couplings` keys must be pairs of distinct players in "
                             f"0..{len(sizes) - 1}; got {(i, j)!r}.")
        matrix[edges[i]:edges[i + 1], edges[j]:edges[j + 1]] = check_array(
            c, f"couplings[{(i, j)}]", shape=(sizes[i], sizes[j]))
    return QuadraticGame(matrix, sizes, offset=offset, feasible_sets=feasible_sets, name=name)


def game_backend(backend, game, solver, *arrays):
    """The backend of a games entry point: where the game's arrays live.

    The games code has no compiled kernels (``"numba"`` runs and reports ``"numpy"``) and cannot
    move a user's game to a GPU: ``"cupy"`` needs a game whose arrays are CuPy arrays.

    Parameters
    ----------
    backend : {"auto", "numpy", "numba", "cupy"}
        The user's ``backend`` argument.
    game : Game
    solver : str
        The entry point's name, for messages.
    *arrays : array_like
        Other inputs whose namespace decides under ``"auto"`` (e.g. ``x0``).

    Returns
    -------
    Backend

    Raises
    ------
    ValueError
        ``backend="cupy"`` with a game on the host.

    Examples
    --------
    >>> from numopt.games import quadratic_game
    >>> from numopt.games.game import game_backend
    >>> game_backend("auto", quadratic_game([[2.0, 1.0], [0.0, 2.0]], [1, 1]), "demo").name
    'numpy'
    """
    from numopt.backends import get_backend, on_device

    probes = [array for array in (getattr(game, "matrix", None), *arrays) if array is not None]
    chosen = get_backend(backend, *probes, compiled=False)
    if chosen.on_device and not on_device(*probes):
        raise ValueError(f"The 'backend' parameter of {solver} is 'cupy' but the game's arrays "
                         f"are NumPy arrays; build the game from CuPy arrays (its functions then "
                         f"run on the GPU) or use backend='auto'.")
    return chosen
