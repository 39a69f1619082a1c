"""The optimisers on their own: Levenberg-Marquardt's damping."""

import numpy as np
import pytest

from sklearn_neureco._network import Network, dense_masks
from sklearn_neureco._optimize import TrainingProblem, lbfgs, levenberg_marquardt


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
