"""Exact projections of numopt.bilevel.projections against SciPy and the KKT certificate."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog, minimize

from numopt.bilevel.projections import (
    AffineProjection,
    BoxProjection,
    PolyhedralProjection,
    SlackProjection,
    make_projection,
    slack_structure,
)


def _random_polyhedron(rng, size=8, n_ineq=6, n_eq=2):
    A = rng.normal(size=(n_ineq, size))
    b = rng.normal(size=n_ineq) + 1.0
    E = rng.normal(size=(n_eq, size))
    d = rng.normal(size=n_eq)
    lower = np.where(rng.random(size) < 0.5, -1.0, -np.inf)
    upper = np.where(rng.random(size) < 0.5, 1.0, np.inf)
    return A, b, E, d, lower, upper


def _feasible(A, b, E, d, lower, upper):
    res = linprog(np.zeros(A.shape[1]), A_ub=A, b_ub=b, A_eq=E, b_eq=d,
                  bounds=list(zip(lower, upper, strict=True)))
    return res.status == 0


def _slsqp_projection(point, A, b, E, d, lower, upper):
    constraints = [{"type": "ineq", "fun": lambda v: b - A @ v, "jac": lambda v: -A},
                   {"type": "eq", "fun": lambda v: E @ v - d, "jac": lambda v: E}]
    res = minimize(lambda v: 0.5 * np.sum((v - point) ** 2), np.zeros(point.size),
                   jac=lambda v: v - point, bounds=list(zip(lower, upper, strict=True)),
                   constraints=constraints, method="SLSQP",
                   options={"ftol": 1e-15, "maxiter": 1000})
    return res.x


def _assert_kkt_certificate(projection, point, projected):
    """w = p - K^T u, K w <= r (= on equalities), u >= 0 on inequalities, u_i (K w - r)_i = 0."""
    u = projection.multipliers
    np.testing.assert_allclose(projected, point - projection.K.T @ u, atol=1e-12)
    slack = projection.K @ projected - projection.r
    assert np.all(np.abs(slack[projection.free]) < 1e-8)
    assert np.all(slack[~projection.free] < 1e-8)
    assert np.all(u[~projection.free] >= 0)
    assert np.all(np.abs(u * slack) < 1e-8 * (1 + np.abs(u)))


@pytest.mark.parametrize("seed", range(30))
def test_polyhedral_projection_matches_scipy_and_certifies(seed):
    rng = np.random.default_rng(seed)
    A, b, E, d, lower, upper = _random_polyhedron(rng)
    point = 3 * rng.normal(size=A.shape[1])
    if not _feasible(A, b, E, d, lower, upper):
        with pytest.raises(ValueError, match="empty set"):
            PolyhedralProjection(A, b, E, d, lower, upper)(point)
        return
    projection = PolyhedralProjection(A, b, E, d, lower, upper)
    projected = projection(point)
    _assert_kkt_certificate(projection, point, projected)
    np.testing.assert_allclose(projected, _slsqp_projection(point, A, b, E, d, lower, upper),
                               atol=1e-6)


def test_degenerate_rows_more_active_than_dimensions():
    # Every row passes through the corner (1, 1) of the square: 6 active rows in 2 dimensions.
    A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 1.0], [2.0, 1.0], [1.0, 2.0]])
    b = A @ np.ones(2)
    projection = PolyhedralProjection(A, b)
    projected = projection(np.array([5.0, 4.0]))
    np.testing.assert_allclose(projected, [1.0, 1.0], atol=1e-9)
    _assert_kkt_certificate(projection, np.array([5.0, 4.0]), projected)


def test_warm_start_reuses_the_active_set():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(40, 10))
    b = np.abs(rng.normal(size=40))
    projection = PolyhedralProjection(A, b)
    point = 5 * rng.normal(size=10)
    first = projection(point)
    assert projection.n_active_set_steps > 0
    nearby = point + 1e-6 * rng.normal(size=10)
    second = projection(nearby)
    assert projection.n_active_set_steps == 0  # the previous active set was optimal
    cold = PolyhedralProjection(A, b)(nearby)
    np.testing.assert_allclose(second, cold, atol=1e-10)
    assert np.linalg.norm(second - first) <= np.linalg.norm(nearby - point) + 1e-12


def test_affine_projection_closed_form_and_dependent_rows():
    rng = np.random.default_rng(0)
    E = rng.normal(size=(3, 7))
    E = np.vstack([E, E[0] + E[1]])  # a dependent fourth row
    d = np.concatenate([rng.normal(size=3), [0.0]])
    d[3] = d[0] + d[1]
    point = rng.normal(size=7)
    projected = AffineProjection(E, d)(point)
    reference = point - np.linalg.pinv(E) @ (E @ point - d)
    np.testing.assert_allclose(projected, reference, atol=1e-12)
    np.testing.assert_allclose(E @ projected, d, atol=1e-12)


def test_inconsistent_equalities_raise():
    E = np.array([[1.0, 1.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="inconsistent"):
        AffineProjection(E, np.array([0.0, 1.0]))


def test_make_projection_picks_the_cheapest():
    inf = np.full(3, np.inf)
    assert isinstance(make_projection(lower=-inf, upper=inf), BoxProjection)
    assert isinstance(make_projection(E=np.ones((1, 3)), d=np.zeros(1), lower=-inf, upper=inf),
                      AffineProjection)
    assert isinstance(make_projection(E=np.ones((1, 3)), d=np.zeros(1), lower=np.zeros(3),
                                      upper=inf), PolyhedralProjection)
    # One row over three unbounded columns: each column is private to it (a half-space).
    assert isinstance(make_projection(A=np.ones((1, 3)), b=np.zeros(1), lower=-inf, upper=inf),
                      SlackProjection)
    # Two rows sharing every column: no private slack, the general active-set method.
    assert isinstance(make_projection(A=np.ones((2, 3)), b=np.zeros(2), lower=-inf, upper=inf),
                      PolyhedralProjection)
    # A bounded column inside a row breaks the closed-form slack step.
    assert isinstance(make_projection(A=np.ones((1, 3)), b=np.zeros(1), lower=np.zeros(3),
                                      upper=inf), PolyhedralProjection)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_projection_is_idempotent_and_nonexpansive(seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(5, 4))
    b = np.abs(rng.normal(size=5)) + 0.1  # contains the origin: never empty
    E = rng.normal(size=(1, 4))
    projection = PolyhedralProjection(A, b, E, np.zeros(1), -2 * np.ones(4), 2 * np.ones(4))
    p, q = 4 * rng.normal(size=4), 4 * rng.normal(size=4)
    proj_p, proj_q = projection(p), projection(q)
    np.testing.assert_allclose(projection(proj_p), proj_p, atol=1e-9)
    assert np.linalg.norm(proj_p - proj_q) <= np.linalg.norm(p - q) + 1e-9


def test_sparse_hinge_rows_use_cg_and_match_the_dense_projection(monkeypatch):
    """One hinge row per sample (identity plus low-rank Gram): the CG path, checked against the
    dense Cholesky path and the KKT certificate, also after warm-started nearby calls."""
    from scipy import sparse

    import numopt.bilevel.projections as projections

    converged_cg = []
    original = projections.conjugate_gradients

    def counting(*args, **kwargs):
        outcome = original(*args, **kwargs)
        converged_cg.append(outcome.converged)
        return outcome

    monkeypatch.setattr(projections, "conjugate_gradients", counting)

    rng = np.random.default_rng(7)
    samples, features = 150, 4
    Z = rng.normal(size=(samples, features))
    t = np.sign(rng.normal(size=samples))
    # Rows on v = [w, b, xi]:  -t_i z_i^T w - t_i b - xi_i <= -1.
    dense_rows = np.hstack([-t[:, None] * Z, -t[:, None], -np.eye(samples)])
    rhs = -np.ones(samples)
    sparse_projection = PolyhedralProjection(sparse.csr_matrix(dense_rows), rhs)
    dense_projection = PolyhedralProjection(dense_rows, rhs)
    point = np.concatenate([rng.normal(size=features + 1), -np.ones(samples)])
    for _ in range(3):
        projected = sparse_projection(point)
        assert int(np.sum(sparse_projection.multipliers > 0)) > 64  # the CG-sized case
        np.testing.assert_allclose(projected, dense_projection(point), atol=1e-9)
        u = sparse_projection.multipliers
        slack = dense_rows @ projected - rhs
        assert np.all(slack < 1e-8) and np.all(u >= 0)
        assert np.all(np.abs(u * slack) < 1e-8 * (1 + u))
        point = point + 0.01 * rng.normal(size=point.size)
    assert any(converged_cg)


def _slack_rows(rng, samples, shared, outside):
    """Rows ``S u + D v <= b`` with one or two private columns per row, and free columns outside
    every row (boxed)."""
    S = rng.normal(size=(samples, shared))
    blocks = [rng.normal(size=(1, 1 + i % 2)) for i in range(samples)]
    width = sum(block.shape[1] for block in blocks)
    D = np.zeros((samples, width))
    column = 0
    for i, block in enumerate(blocks):
        D[i, column:column + block.shape[1]] = block
        column += block.shape[1]
    A = np.hstack([np.zeros((samples, outside)), S, D])
    b = rng.normal(size=samples)
    size = A.shape[1]
    lower = np.concatenate([-np.ones(outside), np.full(size - outside, -np.inf)])
    upper = np.concatenate([np.full(outside, 2.0), np.full(size - outside, np.inf)])
    return A, b, lower, upper


@pytest.mark.parametrize("seed", range(6))
def test_slack_projection_matches_scipy_and_the_active_set_method(seed):
    """The semismooth-Newton slack projection against SLSQP (independent) and against the exact
    active-set projection, dense and sparse, with boxed columns outside the rows."""
    from scipy import sparse

    rng = np.random.default_rng(seed)
    A, b, lower, upper = _slack_rows(rng, samples=12, shared=3, outside=2)
    structure = slack_structure(A, lower, upper)
    assert structure is not None
    np.testing.assert_array_equal(structure[0], [2, 3, 4])
    projection = make_projection(A=A, b=b, lower=lower, upper=upper)
    assert isinstance(projection, SlackProjection)
    sparse_projection = make_projection(A=sparse.csr_matrix(A), b=b, lower=lower, upper=upper)
    assert isinstance(sparse_projection, SlackProjection)
    reference = PolyhedralProjection(A=A, b=b, lower=lower, upper=upper)
    empty = np.zeros((0, A.shape[1]))
    for _ in range(3):
        point = 3 * rng.normal(size=A.shape[1])
        projected = projection(point)
        slsqp = _slsqp_projection(point, A, b, empty, np.zeros(0), lower, upper)
        np.testing.assert_allclose(projected, slsqp, atol=1e-6)
        np.testing.assert_allclose(projected, reference(point), atol=1e-9)
        np.testing.assert_allclose(sparse_projection(point), projected, atol=1e-12)
        # KKT: feasible, point - projected = A^T m on the row columns, m >= 0 complementary.
        m = projection.multipliers
        slack = A @ projected - b
        assert np.all(slack <= 1e-9) and np.all(m >= 0)
        assert np.all(np.abs(m * slack) <= 1e-9)
        rows = slice(2, None)
        np.testing.assert_allclose((point - projected)[rows], (A.T @ m)[rows], atol=1e-9)


def test_slack_projection_on_svm_hinge_rows():
    """The SVM's hinge rows (shared w, b; one private xi per sample; c outside the rows)."""
    from scipy import sparse

    rng = np.random.default_rng(3)
    samples, features = 200, 5
    Z = rng.normal(size=(samples, features))
    t = np.sign(rng.normal(size=samples))
    rows = sparse.hstack([sparse.csr_matrix((samples, samples)),
                          sparse.csr_matrix(-t[:, None] * Z), sparse.csr_matrix(-t[:, None]),
                          -sparse.identity(samples)]).tocsr()
    size = rows.shape[1]
    inf = np.full(size, np.inf)
    rhs = -np.ones(samples)
    projection = make_projection(A=rows, b=rhs, lower=-inf, upper=inf)
    assert isinstance(projection, SlackProjection)
    reference = PolyhedralProjection(A=rows, b=rhs, lower=-inf, upper=inf)
    for scale in (0.01, 1.0, 10.0):
        point = scale * rng.normal(size=size)
        np.testing.assert_allclose(projection(point), reference(point), atol=1e-8)
    # c (the first block) is in no row: it passes through.
    np.testing.assert_array_equal(projection(point)[:samples], point[:samples])
