"""The optimisers on their own: Levenberg-Marquardt's damping, L-BFGS's output layer
solved exactly (variable projection), stopping rules."""

import numpy as np
import pytest

from sklearn_neureco import _network, _optimize
from sklearn_neureco._network import Network, dense_masks
from sklearn_neureco._optimize import (
    TrainingProblem,
    fit_output_layer,
    lbfgs,
    levenberg_marquardt,
)


def _teacher_problem(rng, squeeze: float):
    """A (3, 4, 1) network fitting another one; input 2 multiplied by ``squeeze`` (its
    links' weights divided by it, so the problem is the same one in other units)."""
    sizes = (3, 4, 1)
    network = Network(sizes, dense_masks(sizes))
    x = rng.uniform(-1, 1, size=(200, 3)) * [1.0, 1.0, 0.5]
    y = network.forward(rng.normal(size=network.n_weights), x)
    w0 = rng.normal(size=network.n_weights)
    units = np.ones(network.n_weights)
    for _, s, mask, idx, off in network.blocks():
        if s == 0:
            units[off : off + idx.size] = np.where(
                np.unravel_index(idx, mask.shape)[1] == 2, 1 / squeeze, 1
            )
    problem = TrainingProblem(network, x * [1.0, 1.0, squeeze], y, np.full(200, 1 / 200))
    return problem, w0 * units, units


@pytest.mark.parametrize("squeeze", [1e-2, 1e-4])
def test_levenberg_marquardt_does_not_depend_on_an_inputs_units(squeeze):
    # inputs normalised by their extremes can have bulks of very different spreads; LM
    # damped every weight alike and crawled along the links of the squeezed inputs
    plain, w_plain, _ = _teacher_problem(np.random.default_rng(0), 1.0)
    squeezed, w_squeezed, units = _teacher_problem(np.random.default_rng(0), squeeze)
    a = levenberg_marquardt(plain, w_plain, max_iter=50, ftol=0.0)
    b = levenberg_marquardt(squeezed, w_squeezed, max_iter=50, ftol=0.0)
    assert a.loss < 1e-3 * plain.loss(w_plain)
    assert b.loss == pytest.approx(a.loss, rel=1e-3)
    np.testing.assert_allclose(b.w / units, a.w, rtol=1e-3, atol=1e-6)


def test_damping_is_relative_input_variance_on_input_links():
    rng = np.random.default_rng(1)
    problem, _, _ = _teacher_problem(rng, 0.1)
    # the variance is the sample-weighted one, over the rows the problem trains on
    problem.sample_weight = rng.uniform(0, 2, size=200)
    problem.sample_weight /= problem.sample_weight.sum()
    damping = problem.damping_diagonal()
    mean = problem.sample_weight @ problem.x
    variance = problem.sample_weight @ (problem.x - mean) ** 2
    relative = variance / variance.max()
    assert relative.min() < 0.1
    W, b = problem.network.unpack(damping)
    np.testing.assert_allclose(W[1, 0], np.broadcast_to(relative, (4, 3)))
    assert np.all(W[2, 1] == 1) and np.all(b[1] == 1) and np.all(b[2] == 1)


@pytest.mark.parametrize("solver", ["lm", "lbfgs"])
def test_give_up_stops_training_and_keeps_the_best_weights(solver):
    problem, w0, _ = _teacher_problem(np.random.default_rng(1), 1.0)
    monitored = []

    def monitor(w):
        monitored.append(problem.data_error(w))
        return monitored[-1]

    optimise = levenberg_marquardt if solver == "lm" else lbfgs
    full = optimise(problem, w0, ftol=0.0, max_iter=200, monitor=monitor)
    assert not full.gave_up
    monitored.clear()
    # the first call is the starting point's, then one per accepted step
    enough = 0.5 * problem.data_error(w0)
    stopped = optimise(
        problem, w0, ftol=0.0, max_iter=200, monitor=monitor, give_up=lambda e: e < enough
    )
    assert stopped.gave_up and stopped.n_iter < full.n_iter
    assert monitored[-1] < enough and all(e >= enough for e in monitored[1:-1])
    assert problem.data_error(stopped.w) == min(monitored)


def _wide_problem(rng, beta: float, pruned: bool, weighted: bool, sizes=(3, 6, 5)):
    """A network with direct links fitting smooth fields of several outputs; with
    ``pruned``, some output links removed (two outputs share a pattern)."""
    masks = dense_masks(sizes)
    if pruned:
        last = len(sizes) - 1
        masks[last, last - 1][[0, 1], 2] = False
        masks[last, 0][3, :2] = False
    network = Network(sizes, masks)
    x = rng.uniform(-1, 1, size=(120, sizes[0]))
    y = np.sin(x @ rng.normal(size=(sizes[0], sizes[-1])) * 2)
    sw = rng.uniform(0.1, 2, size=120) if weighted else np.ones(120)
    problem = TrainingProblem(network, x, y, sw / sw.sum(), beta=beta)
    return problem, rng.normal(size=network.n_weights) / 2


@pytest.mark.parametrize("pruned", [False, True])
def test_output_layer_inputs_times_its_weights_are_the_outputs(pruned):
    problem, w = _wide_problem(np.random.default_rng(2), 0.0, pruned, False)
    network = problem.network
    index = network.output_layer_index()
    assert index.shape == (6 + 3 + 1, 5)
    assert (index < 0).sum() == (4 if pruned else 0)
    coef = np.where(index >= 0, w[np.maximum(index, 0)], 0.0)
    np.testing.assert_allclose(
        network.output_layer_inputs(w, problem.x) @ coef,
        network.forward(w, problem.x),
        rtol=1e-13,
        atol=1e-13,
    )


@pytest.mark.parametrize("beta", [0.0, 1e-3, 1.0])
@pytest.mark.parametrize("pruned", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_fit_output_layer_minimises_the_loss_in_the_output_weights(beta, pruned, weighted):
    problem, w0 = _wide_problem(np.random.default_rng(3), beta, pruned, weighted)
    index = problem.network.output_layer_index()
    w = fit_output_layer(problem, w0, index)
    linked = index[index >= 0]
    hidden = np.setdiff1d(np.arange(w.size), linked)
    np.testing.assert_array_equal(w[hidden], w0[hidden])
    _, g = problem.loss_and_gradient(w)
    _, g0 = problem.loss_and_gradient(w0)
    assert np.abs(g[linked]).max() < 1e-10 * np.abs(g0[linked]).max()
    # a convex quadratic in those weights: any move raises the loss
    rng = np.random.default_rng(4)
    for _ in range(3):
        moved = w.copy()
        moved[linked] += 1e-3 * rng.normal(size=linked.size)
        assert problem.loss(moved) > problem.loss(w)


@pytest.mark.parametrize("beta", [1e-3, 1e-9])
@pytest.mark.parametrize("pruned", [False, True])
def test_the_hidden_weights_gradient_is_the_reduced_loss_gradient(beta, pruned):
    # with the output layer solved, the loss is a function of the hidden weights alone;
    # L-BFGS takes the loss's own gradient for its gradient (the envelope theorem)
    problem, w0 = _wide_problem(np.random.default_rng(5), beta, pruned, True)
    index = problem.network.output_layer_index()
    free = np.ones(w0.size, dtype=bool)
    free[index[index >= 0]] = False

    def reduced(theta):
        w = w0.copy()
        w[free] = theta
        return fit_output_layer(problem, w, index)

    theta = w0[free]
    _, g = problem.loss_and_gradient(reduced(theta))
    v = np.random.default_rng(6).normal(size=theta.size)
    eps = 1e-5
    up, down = problem.loss(reduced(theta + eps * v)), problem.loss(reduced(theta - eps * v))
    fd = (up - down) / (2 * eps)
    assert g[free] @ v == pytest.approx(fd, rel=1e-6)


def test_lbfgs_solves_a_linear_network_outright():
    rng = np.random.default_rng(7)
    network = Network((4, 3), dense_masks((4, 3)))
    x, y = rng.normal(size=(50, 4)), rng.normal(size=(50, 3))
    sw = rng.uniform(0.5, 1.5, 50)
    problem = TrainingProblem(network, x, y, sw / sw.sum(), beta=1e-2)
    result = lbfgs(problem, np.zeros(network.n_weights))
    assert result.n_iter == 0
    # the weighted ridge regression, written out
    root = np.sqrt(problem.sample_weight)[:, None]
    design = np.column_stack([x, np.ones(50)]) * root
    reg = problem.beta / network.n_weights
    coef = np.linalg.solve(design.T @ design + reg * np.eye(5), design.T @ (y * root))
    W, b = network.unpack(result.w)
    np.testing.assert_allclose(W[1, 0], coef[:4].T, rtol=1e-10)
    np.testing.assert_allclose(b[1], coef[4], rtol=1e-10)


@pytest.mark.parametrize("pruned", [False, True])
def test_separable_lbfgs_trains_wide_outputs_further_than_plain_lbfgs(monkeypatch, pruned):
    problem, w0 = _wide_problem(np.random.default_rng(8), 1e-6, pruned, True, sizes=(2, 12, 20))
    separable = lbfgs(problem, w0, max_iter=150, ftol=0.0)
    monkeypatch.setattr(_optimize, "SEPARABLE_LBFGS", False)
    plain = lbfgs(problem, w0, max_iter=150, ftol=0.0)
    assert separable.loss == pytest.approx(problem.loss(separable.w))
    assert separable.loss < 0.5 * plain.loss


@pytest.mark.parametrize("pruned", [False, True])
@pytest.mark.parametrize("sizes", [(3, 6, 5), (3, 6, 4, 5)])
def test_gauss_newton_diagonal_of_several_outputs_is_the_jacobians(monkeypatch, pruned, sizes):
    # computed from the sensitivities, without J; checked against J itself
    problem, w = _wide_problem(np.random.default_rng(9), 1e-3, pruned, True, sizes=sizes)
    _, J, _ = problem.network.jacobians(w, problem.x)
    expected = np.einsum("i,iok,iok->k", problem.sample_weight, J, J) + problem._reg
    np.testing.assert_allclose(problem.gauss_newton_diagonal(w), expected, rtol=1e-12)
    # in blocks of 13 rows (the last one shorter) as in one
    monkeypatch.setattr(_network, "SENSITIVITY_VALUES", 13 * 5 * 6)
    np.testing.assert_allclose(problem.gauss_newton_diagonal(w), expected, rtol=1e-12)
