"""The network's pure functions: forward, JVP, VJP and per-sample Jacobians."""

import numpy as np
import pytest

from sklearn_neureco._network import (
    TANH,
    Network,
    _exp_tanh,
    _numpy_tanh,
    _numpy_tanh_is_vectorised,
    dense_masks,
)


def random_network(rng, sizes=(4, 5, 3, 2), prune=0.3, direct=True):
    masks = dense_masks(sizes, direct_links=direct)
    masks[len(sizes) - 1, 1] = np.ones((sizes[-1], sizes[1]), dtype=bool)  # skip link
    for key, mask in masks.items():
        masks[key] = mask & (rng.random(mask.shape) > prune)
    return Network(sizes, masks)


@pytest.fixture(
    params=[(0.0, 7), (0.4, 7), (0.0, 1000), (0.4, 1000)],
    ids=["dense", "pruned", "dense-1000-rows", "pruned-1000-rows"],
)
def case(request, rng):
    prune, rows = request.param
    net = random_network(rng, prune=prune)
    w = rng.normal(size=net.n_weights)
    x = rng.normal(size=(rows, net.n_inputs))
    return net, w, x


def test_pack_unpack_round_trip(case):
    net, w, _ = case
    W, b = net.unpack(w)
    assert np.array_equal(net.pack(W, b), w)
    for (l, s), mask in net.masks.items():
        assert np.all(W[l, s][~mask] == 0.0)


def test_weight_order_is_documented_order(rng):
    net = Network(
        (2, 2, 1),
        {
            (1, 0): np.array([[1, 0], [1, 1]], bool),
            (2, 1): np.ones((1, 2), bool),
            (2, 0): np.ones((1, 2), bool),
        },
    )
    # layer 1: W[1,0] active entries row by row, then b1; layer 2: W[2,0], W[2,1], b2
    w = np.arange(net.n_weights, dtype=float)
    W, b = net.unpack(w)
    assert np.array_equal(W[1, 0], [[0, 0], [1, 2]])
    assert np.array_equal(b[1], [3, 4])
    assert np.array_equal(W[2, 0], [[5, 6]])
    assert np.array_equal(W[2, 1], [[7, 8]])
    assert np.array_equal(b[2], [9])


@pytest.mark.parametrize("rows", [5, 1000])
def test_forward_matches_explicit_formula(rows, rng):
    net = Network((3, 4, 2), dense_masks((3, 4, 2)))
    w = rng.normal(size=net.n_weights)
    x = rng.normal(size=(rows, 3))
    W, b = net.unpack(w)
    expected = np.tanh(x @ W[1, 0].T + b[1]) @ W[2, 1].T + x @ W[2, 0].T + b[2]
    assert np.allclose(net.forward(w, x), expected, rtol=1e-14, atol=1e-14)


def test_jvp_matches_finite_differences(case, rng):
    net, w, x = case
    dw, dx = rng.normal(size=w.shape), rng.normal(size=x.shape)
    h = 1e-6
    fd = (net.forward(w + h * dw, x + h * dx) - net.forward(w - h * dw, x - h * dx)) / (2 * h)
    y, dy = net.jvp(w, x, dw, dx)
    assert np.allclose(y, net.forward(w, x), rtol=0, atol=1e-14)
    assert np.allclose(dy, fd, rtol=1e-6, atol=1e-8)


def test_vjp_is_transpose_of_jvp(case, rng):
    net, w, x = case
    dw, dx = rng.normal(size=w.shape), rng.normal(size=x.shape)
    gy = rng.normal(size=(x.shape[0], net.n_outputs))
    _, dy = net.jvp(w, x, dw, dx)
    _, gw, gx = net.vjp(w, x, gy)
    lhs = np.sum(gy * dy)
    rhs = gw @ dw + np.sum(gx * dx)
    assert np.isclose(lhs, rhs, rtol=1e-12, atol=0)


def test_jacobians_match_jvp(case, rng):
    net, w, x = case
    _, Jw, Jx = net.jacobians(w, x, wrt_weights=True, wrt_inputs=True)
    dw, dx = rng.normal(size=w.shape), rng.normal(size=x.shape)
    _, dy_w = net.jvp(w, x, dw, None)
    _, dy_x = net.jvp(w, x, None, dx)
    assert np.allclose(Jw @ dw, dy_w, rtol=1e-12, atol=1e-12)
    assert np.allclose(np.einsum("nkj,nj->nk", Jx, dx), dy_x, rtol=1e-12, atol=1e-12)


def test_jacobians_into_a_reused_buffer(case):
    net, w, x = case
    _, expected, _ = net.jacobians(w, x)
    buffer = np.full(expected.shape, np.nan)  # stale contents must not leak through
    _, Jw, _ = net.jacobians(w, x, out=buffer)
    assert Jw is buffer and np.array_equal(Jw, expected)
    with pytest.raises(ValueError, match="out must be float64 of shape"):
        net.jacobians(w, x, out=np.empty((1,) + expected.shape[1:]))


def test_few_row_passes_equal_the_block_passes(case, rng):
    # one dense product per layer (the derivative API's below FEW_ROWS rows) against the
    # block passes: the same derivatives to rounding, every weight written once
    net, w, x = case
    dw, dx = rng.normal(size=w.shape), rng.normal(size=x.shape)
    gy = rng.normal(size=(x.shape[0], net.n_outputs))
    for perturbation in [(dw, dx), (dw, None), (None, dx)]:
        for few, block in zip(
            net.few_rows_jvp(w, x, *perturbation), net.jvp(w, x, *perturbation), strict=True
        ):
            np.testing.assert_allclose(few, block, rtol=1e-13, atol=1e-14)
            assert few.flags.c_contiguous
    for few, block in zip(net.few_rows_vjp(w, x, gy), net.vjp(w, x, gy), strict=True):
        np.testing.assert_allclose(few, block, rtol=1e-13, atol=1e-14)
        assert few.flags.c_contiguous
    np.testing.assert_allclose(
        net.few_rows_forward(w, x), net.forward(w, x), rtol=1e-13, atol=1e-14
    )
    assert np.array_equal(np.sort(net.stacked.scatter), np.unique(net.stacked.scatter))


def test_few_row_passes_through_a_layer_whose_links_were_all_pruned(rng):
    # the hidden layer has no incoming links: its units are tanh(bias) for every row
    masks = dense_masks((3, 4, 2))
    masks[1, 0][:] = False
    net = Network((3, 4, 2), masks)
    w, dw = rng.normal(size=net.n_weights), rng.normal(size=net.n_weights)
    x, dx, gy = rng.normal(size=(2, 3)), rng.normal(size=(2, 3)), rng.normal(size=(2, 2))
    for few, block in zip(net.few_rows_jvp(w, x, dw, dx), net.jvp(w, x, dw, dx), strict=True):
        np.testing.assert_allclose(few, block, rtol=1e-13, atol=1e-14)
    for few, block in zip(net.few_rows_vjp(w, x, gy), net.vjp(w, x, gy), strict=True):
        np.testing.assert_allclose(few, block, rtol=1e-13, atol=1e-14)


def test_chunked_passes_equal_one_block(rng, monkeypatch):
    import sklearn_neureco._network as network_module

    net = random_network(rng)
    w, dw = rng.normal(size=net.n_weights), rng.normal(size=net.n_weights)
    x = rng.normal(size=(50, net.n_inputs))
    gy = rng.normal(size=(50, net.n_outputs))
    whole = net.forward(w, x), net.jvp(w, x, dw)[1], net.vjp(w, x, gy)[1:]
    monkeypatch.setattr(network_module, "CHUNK_ROWS", 7)  # 8 blocks, the last one short
    chunked = net.forward(w, x), net.jvp(w, x, dw)[1], net.vjp(w, x, gy)[1:]
    assert np.allclose(whole[0], chunked[0], rtol=1e-14, atol=0)
    assert np.allclose(whole[1], chunked[1], rtol=1e-14, atol=0)
    assert np.allclose(whole[2][0], chunked[2][0], rtol=1e-12, atol=1e-14)
    assert np.allclose(whole[2][1], chunked[2][1], rtol=1e-14, atol=0)


def test_absent_input_gets_zero_derivative(rng):
    masks = dense_masks((3, 4, 1))
    masks[1, 0][:, 2] = False
    masks[2, 0][:, 2] = False
    net = Network((3, 4, 1), masks)
    assert list(net.connected_inputs()) == [True, True, False]
    w = rng.normal(size=net.n_weights)
    _, _, Jx = net.jacobians(w, rng.normal(size=(4, 3)), wrt_weights=False, wrt_inputs=True)
    assert np.all(Jx[:, :, 2] == 0.0)


def test_bad_structure_is_rejected():
    with pytest.raises(ValueError, match="mask"):
        Network((2, 3, 1), {(1, 0): np.ones((2, 3), bool)})
    with pytest.raises(ValueError, match="layer_sizes"):
        Network((2,), {})
    net = Network((2, 1), dense_masks((2, 1)))
    with pytest.raises(ValueError, match="expected 3 weights"):
        net.unpack(np.zeros(4))


@pytest.mark.parametrize(
    "sizes", [(4, 5, 3, 2), (1, 1, 1), (1, 3, 1, 2)], ids=["wide", "one-neuron", "narrow"]
)
def test_input_scale_gives_derivatives_in_raw_units(sizes, rng):
    # a model feeds the network x = u / scale (shift aside): with the scale bound, dx, gx
    # and Jx are with respect to u; bound for 2 rows, the passes rebind for 7, scale kept
    net = random_network(rng, sizes=sizes, prune=0.0)
    w = rng.normal(size=net.n_weights)
    scale = rng.uniform(0.1, 10.0, size=net.n_inputs)
    u = rng.normal(size=(7, net.n_inputs)) * scale
    bound = net.bind(w, 2, input_scale=scale)
    dw, du = rng.normal(size=w.shape), rng.normal(size=u.shape) * scale
    gy = rng.normal(size=(u.shape[0], net.n_outputs))

    def f(w, u):
        return net.forward(w, u / scale)

    h = 1e-6
    fd = (f(w + h * dw, u + h * du) - f(w - h * dw, u - h * du)) / (2 * h)
    y, dy = net.jvp(bound, u / scale, dw, du)
    assert np.array_equal(y, f(w, u))
    assert np.allclose(dy, fd, rtol=1e-6, atol=1e-8)
    _, gw, gx = net.vjp(bound, u / scale, gy)
    assert np.isclose(np.sum(gy * dy), gw @ dw + np.sum(gx * du), rtol=1e-12, atol=0)
    _, _, Jx = net.jacobians(bound, u / scale, wrt_weights=False, wrt_inputs=True)
    _, dy_u = net.jvp(bound, u / scale, None, du)
    assert np.allclose(np.einsum("nkj,nj->nk", Jx, du), dy_u, rtol=1e-12, atol=1e-12)
    # without the scale: the same passes in the network's own units
    _, _, gx_plain = net.vjp(w, u / scale, gy)
    assert np.allclose(gx_plain, gx * scale, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("far", [False, True], ids=["shift-near-0", "shift-far"])
def test_normalisation_folded_into_the_weights(case, far, rng):
    # every block from the inputs (direct links to the outputs among them) and every
    # block into the outputs; pruned or dense
    net, w, x = case
    scale = rng.uniform(0.1, 10.0, size=net.n_inputs)
    shift = rng.normal(size=net.n_inputs) * scale * (300.0 if far else 1.0)
    out_shift = rng.normal(size=net.n_outputs) * 50.0
    out_scale = rng.uniform(0.1, 10.0, size=net.n_outputs)
    u = x * scale + shift
    folded = net.with_normalisation(w, shift, scale, out_shift, out_scale)
    assert folded.shape == w.shape and not np.shares_memory(folded, w)
    expected = net.forward(w, (u - shift) / scale) * out_scale + out_shift
    # rounding grows with the shift in scales (Network.with_normalisation)
    error = np.abs(net.forward(folded, u) - expected).max() / np.abs(expected).max()
    assert error <= 1e-14 * (1.0 + np.abs(shift / scale).max())


def test_folded_normalisation_tangent_and_transpose(case, rng):
    # the fold is affine in the weights: its change along dw is fold_tangent's linear
    # part (the outputs' shift left out), whose transpose pulls gradients back
    net, w, _ = case
    scale = rng.uniform(0.1, 10.0, size=net.n_inputs)
    shift = rng.normal(size=net.n_inputs) * scale
    out_shift = rng.normal(size=net.n_outputs) * 50.0
    out_scale = rng.uniform(0.1, 10.0, size=net.n_outputs)
    dw, g = rng.normal(size=w.shape), rng.normal(size=w.shape)
    tangent = net.with_normalisation(dw, shift, scale, np.zeros(net.n_outputs), out_scale)
    moved = net.with_normalisation(w + dw, shift, scale, out_shift, out_scale)
    here = net.with_normalisation(w, shift, scale, out_shift, out_scale)
    np.testing.assert_allclose(moved - here, tangent, rtol=1e-9, atol=1e-9)
    back = net.with_normalisation_transposed(g, shift, scale, out_scale)
    assert back.shape == w.shape and not np.shares_memory(back, g)
    assert np.isclose(g @ tangent, back @ dw, rtol=1e-12, atol=0)


def test_bias_gradient_is_the_column_sum(rng):
    # the biases' share of the VJP is a sum over rows (a BLAS product here): checked
    # against an explicit sum on a network whose layers have one neuron and one input
    net = Network((1, 1, 1), dense_masks((1, 1, 1), direct_links=False))
    w = rng.normal(size=net.n_weights)
    x, gy = rng.normal(size=(9, 1)), rng.normal(size=(9, 1))
    W, b = net.unpack(w)
    hidden = np.tanh(x @ W[1, 0].T + b[1])
    _, gw, gx = net.vjp(w, x, gy)
    W2 = W[2, 1][0, 0]
    gz1 = (gy * W2) * (1.0 - hidden**2)
    # weight order: W[1,0], b1, W[2,1], b2
    expected = [np.sum(gz1 * x), np.sum(gz1), np.sum(gy * hidden), np.sum(gy)]
    assert np.allclose(gw, expected, rtol=1e-13, atol=1e-14)
    assert np.allclose(gx, gz1 * W[1, 0][0, 0], rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize(
    "sizes, rows", [((5, 3, 1), 4096), ((10, 32, 16, 3), 1024), ((10, 500, 1), 1024)]
)
def test_block_rows_keep_activations_within_budget(sizes, rows):
    import sklearn_neureco._network as network_module

    net = Network(sizes, dense_masks(sizes))
    assert net.block_rows == rows
    fits = net.block_rows * 8 * sum(sizes) <= network_module.BLOCK_BYTES
    assert fits or net.block_rows == 1024  # the floor: BLAS wants rows


def test_copied_transposes_give_the_same_passes(case, rng):
    # the derivative API binds with contiguous transposes (faster products, other
    # rounding): the passes agree to rounding, and a rebind for more rows keeps them
    net, w, x = case
    views, copies = net.bind(w, 64), net.bind(w, 64, copy_transposes=True)
    assert all(block.flags.c_contiguous for block in copies.WT.values())
    rebound = net._bound(net.bind(w, 2, copy_transposes=True), 100)
    assert all(block.flags.c_contiguous for block in rebound.WT.values())
    dw, dx = rng.normal(size=w.shape), rng.normal(size=x.shape)
    gy = rng.normal(size=(x.shape[0], net.n_outputs))
    for bound_dw in (None, net.bind(dw, 64, copy_transposes=True)):
        expected = net.jvp(views, x, dw if bound_dw is not None else None, dx)
        got = net.jvp(copies, x, bound_dw, dx)
        for a, b in zip(expected, got, strict=True):
            assert np.allclose(a, b, rtol=1e-13, atol=1e-14)
    for a, b in zip(net.vjp(views, x, gy), net.vjp(copies, x, gy), strict=True):
        assert np.allclose(a, b, rtol=1e-13, atol=1e-14)
    assert np.allclose(net.forward(views, x), net.forward(copies, x), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("apply", [_exp_tanh, _numpy_tanh], ids=["exp-form", "np.tanh"])
@pytest.mark.parametrize("size", [11, 100_000])
def test_tanh_is_numpys_within_one_epsilon(apply, size, rng):
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 800.0, -800.0, 5e-324, -1e-8, 19.06, 0.55]
    z = rng.normal(size=size) * np.logspace(-300, 3, size)
    z[: len(special)] = special
    expected = np.tanh(z)
    t = apply(z.copy())
    number = ~np.isnan(expected)
    assert np.isnan(t[~number]).all()
    assert np.abs(t - expected)[number].max() <= np.finfo(float).eps
    assert np.array_equal(np.signbit(t), np.signbit(expected))  # -0.0 included
    assert np.all(np.abs(t[number]) <= 1.0) and t[2] == 1.0 and t[3] == -1.0


@pytest.mark.parametrize("apply", [_exp_tanh, _numpy_tanh], ids=["exp-form", "np.tanh"])
def test_tanh_gives_a_value_the_same_bits_in_any_batch(apply, rng):
    z = rng.normal(size=(1000, 7)) * 3
    whole = apply(z.copy())
    for start in range(0, 1000, 13):  # another block size, another alignment
        assert np.array_equal(apply(z[start : start + 13].copy()), whole[start : start + 13])
    assert np.array_equal(apply(np.ascontiguousarray(z[:, 2])), whole[:, 2])


@pytest.mark.parametrize(
    "current, vectorised",
    [("X86_V4", True), ("AVX512_SKX", True), ("X86_V3", False), ("AVX2", False), ("ASIMD", False)],
)
def test_numpy_tanh_counts_as_vectorised_on_avx512_only(current, vectorised, monkeypatch):
    introspect = pytest.importorskip("numpy.lib.introspect")
    loops = {"tanh": {"dd": {"current": current, "available": current}}}
    monkeypatch.setattr(introspect, "opt_func_info", lambda **_: loops)
    assert _numpy_tanh_is_vectorised() is vectorised


def test_tanh_is_numpys_where_numpy_vectorises_it():
    expected = _numpy_tanh if _numpy_tanh_is_vectorised() else _exp_tanh
    assert TANH.apply is expected
    assert TANH.apply_few is _numpy_tanh  # one call: cheaper on a handful of values
