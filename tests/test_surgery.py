"""Network surgery during the build: every operation leaves the computed function as it was
(or, for a removal, as the network without those links computes it)."""

import numpy as np
import pytest

from sklearn_neureco._architecture import deepen, drop_dead_neurons, remove_links, widen
from sklearn_neureco._network import Network, dense_masks


@pytest.fixture
def x():
    return np.random.default_rng(0).normal(size=(40, 3))


def random_network(sizes, rng, *, sparsity=0.0):
    masks = {key: rng.random(m.shape) >= sparsity for key, m in dense_masks(sizes).items()}
    network = Network(sizes, masks)
    return network, rng.normal(size=network.n_weights)


@pytest.mark.parametrize("sizes", [(3, 2), (3, 4, 2), (3, 4, 5, 2)])
def test_widening_a_layer_keeps_the_function(sizes, x):
    rng = np.random.default_rng(1)
    network, w = random_network(sizes, rng, sparsity=0.3)
    for layer in range(1, len(sizes) - 1):
        wider, w_wide = widen(network, w, layer, sizes[layer] + 3)
        assert wider.layer_sizes[layer] == sizes[layer] + 3
        assert np.array_equal(wider.forward(w_wide, x), network.forward(w, x))
        # the new neurons are linked (their weights start at zero)
        assert wider.n_weights > network.n_weights


@pytest.mark.parametrize("sizes", [(3, 2), (3, 4, 2)])
def test_deepening_keeps_the_function(sizes, x):
    rng = np.random.default_rng(2)
    network, w = random_network(sizes, rng)
    deeper, w_deep = deepen(network, w, 4)
    assert deeper.layer_sizes == sizes[:-1] + (4, sizes[-1])
    assert np.array_equal(deeper.forward(w_deep, x), network.forward(w, x))


def test_new_neurons_never_link_to_a_disconnected_input(x):
    masks = {(1, 0): np.array([[True, False, True], [True, False, True]])}
    linear = Network((3, 2), masks)
    w = np.random.default_rng(3).normal(size=linear.n_weights)
    deeper, w_deep = deepen(linear, w, 4)
    wider, _ = widen(deeper, w_deep, 1, 8)
    for network in (deeper, wider):
        assert network.connected_inputs().tolist() == [True, False, True]


def test_removing_links_equals_zeroing_their_weights(x):
    rng = np.random.default_rng(4)
    network, w = random_network((3, 5, 2), rng)
    is_link = np.zeros(network.n_weights, dtype=bool)
    for _, _, _, idx, off in network.blocks():
        is_link[off : off + idx.size] = True
    positions = rng.choice(np.flatnonzero(is_link), size=6, replace=False)
    smaller, w_small = remove_links(network, w, positions)
    zeroed = w.copy()
    zeroed[positions] = 0.0
    assert smaller.n_weights <= network.n_weights - 6
    np.testing.assert_allclose(
        smaller.forward(w_small, x), network.forward(zeroed, x), rtol=0, atol=1e-12
    )


def test_dropping_dead_neurons_keeps_the_function(x):
    rng = np.random.default_rng(5)
    sizes = (3, 4, 3, 2)
    masks = dense_masks(sizes)
    masks[2, 1][:, 1] = False  # hidden neuron (1, 1) feeds nothing
    masks[3, 2][:, 0] = False  # hidden neuron (2, 0) feeds nothing
    network = Network(sizes, masks)
    w = rng.normal(size=network.n_weights)
    smaller, w_small = drop_dead_neurons(network, w)
    assert smaller.layer_sizes == (3, 3, 2, 2)
    np.testing.assert_allclose(
        smaller.forward(w_small, x), network.forward(w, x), rtol=0, atol=1e-12
    )
    # a layer left with no live neuron goes, and what skipped it is kept
    masks = dense_masks((3, 2, 2))
    masks[2, 1][:] = False
    network = Network((3, 2, 2), masks)
    w = rng.normal(size=network.n_weights)
    smaller, w_small = drop_dead_neurons(network, w)
    assert smaller.layer_sizes == (3, 2)
    np.testing.assert_allclose(
        smaller.forward(w_small, x), network.forward(w, x), rtol=0, atol=1e-12
    )
