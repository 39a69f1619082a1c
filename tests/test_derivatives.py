"""The estimator's derivative API: exact, on raw inputs and outputs, for every option."""

import copy
import itertools

import numpy as np
import pytest

from sklearn_neureco import NeurEcoRegressor
from sklearn_neureco._network import FEW_ROWS, FOLD_SHIFT_LIMIT
from sklearn_neureco._normalization import SCALINGS, SHIFTINGS
from tests._helpers import smooth_function


def make_data(n_outputs, n=80, seed=0):
    rng = np.random.default_rng(seed)
    # inputs far from 0 and of different magnitudes, so every normalisation does something
    X = rng.uniform(-1.0, 1.0, size=(n, 3)) * [1.0, 30.0, 0.01] + [5.0, 0.0, -2.0]
    Y = smooth_function((X - [5.0, 0.0, -2.0]) / [1.0, 30.0, 0.01], n_outputs)
    return X, Y * 7.0 + 3.0


def predict_at(model, w, X):
    other = copy.deepcopy(model)
    other.set_weights(w)
    return other.predict(X)


def assert_derivatives_exact(model, X, rng):
    """Finite differences and the dot-product test, in weights and inputs together, on
    ``X`` and on its first rows (below FEW_ROWS rows the passes take one product per
    layer: Network.few_rows_jvp and few_rows_vjp)."""
    assert_derivatives_exact_on(model, X, rng)
    if len(X) >= FEW_ROWS:
        assert_derivatives_exact_on(model, X[:3], rng)


def assert_derivatives_exact_on(model, X, rng):
    w = model.get_weights()
    y = model.predict(X)
    dw = rng.normal(size=w.shape) * (np.abs(w) + 1e-3)
    dx = rng.normal(size=X.shape) * X.std(axis=0)
    dy = model.forward_derivative(w, dw, X, dx)
    assert dy.shape == y.shape and dy.dtype == np.float64

    h = 1e-6
    plus = predict_at(model, w + h * dw, X + h * dx)
    minus = predict_at(model, w - h * dw, X - h * dx)
    fd = (plus - minus) / (2 * h)
    scale = np.abs(fd).max() + np.abs(y).max() * 1e-3
    assert np.max(np.abs(dy - fd)) <= 1e-5 * scale

    py = rng.normal(size=y.shape)
    pw, px = model.gradient(w, X, py)
    assert pw.shape == w.shape and px.shape == X.shape
    lhs = np.sum(py * dy)
    rhs = np.sum(pw * dw) + np.sum(px * dx)
    assert np.isclose(lhs, rhs, rtol=1e-10, atol=1e-12 * np.abs(py).sum() * scale)

    # the input part alone matches the input Jacobian
    J = model.jacobian(X)
    dy_x = model.forward_derivative(w, None, X, dx)
    expected = np.einsum("nkj,nj->nk", J, dx)
    assert np.allclose(dy_x.reshape(expected.shape), expected, rtol=1e-10, atol=1e-12 * scale)


NORMALISATIONS = list(itertools.product(SHIFTINGS, SCALINGS))


@pytest.mark.parametrize("shifting, scaling", NORMALISATIONS)
def test_derivatives_for_every_normalisation(shifting, scaling, rng):
    per_feature = (SHIFTINGS.index(shifting) + SCALINGS.index(scaling)) % 2 == 0
    X, Y = make_data(n_outputs=3)
    model = NeurEcoRegressor(
        inputs_shifting=shifting,
        inputs_scaling=scaling,
        outputs_shifting=shifting,
        outputs_scaling=scaling,
        inputs_normalize_per_feature=per_feature,
        outputs_normalize_per_feature=not per_feature,
        random_state=0,
    ).fit(X, Y)
    assert_derivatives_exact(model, X, rng)


@pytest.mark.parametrize("shifting, scaling", NORMALISATIONS)
@pytest.mark.parametrize("offset", [0.0, 200.0], ids=["near", "far"])
def test_passes_fold_every_normalisation(shifting, scaling, offset, rng):
    """On many rows predict and the derivatives take the normalisation folded into the
    weights: the inputs' shift too where it is near 0 in scales, otherwise each block is
    shifted first. Both give the normalised pass to rounding, and exact derivatives."""
    X, Y = make_data(n_outputs=3)
    X = (X - X.mean(axis=0)) / X.std(axis=0) + offset
    model = NeurEcoRegressor(
        inputs_shifting=shifting,
        inputs_scaling=scaling,
        outputs_shifting=shifting,
        outputs_scaling=scaling,
        random_state=0,
    ).fit(X, Y)
    state = model.state_
    folded, folds_shift = state.fold(state.weights)
    assert folded is not None
    assert state.fold(state.weights)[0] is folded  # the model's own weights: folded once
    ratio = np.abs(state.input_shift) / state.input_scale
    assert folds_shift == (ratio.max() <= FOLD_SHIFT_LIMIT)
    if offset == 0.0:
        assert folds_shift
    elif shifting in ("mean", "auto") and scaling in ("std", "auto"):
        assert not folds_shift  # 200 standard deviations from 0
    xn = (X - state.input_shift) / state.input_scale
    expected = model.network_.forward(state.weights, xn) * state.output_scale + state.output_shift
    predicted = model.predict(X)
    np.testing.assert_allclose(predicted, expected, rtol=0, atol=1e-13 * np.abs(expected).max())
    assert_derivatives_exact(model, X, rng)


@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_derivatives_one_and_several_outputs(n_outputs, weighted, rng):
    X, Y = make_data(n_outputs)
    sample_weight = rng.uniform(0.1, 3.0, size=len(X)) if weighted else None
    model = NeurEcoRegressor(random_state=0).fit(X, Y, sample_weight=sample_weight)
    assert model.predict(X).shape == Y.shape
    assert_derivatives_exact(model, X, rng)


def test_derivatives_with_column_vector_target(rng):
    X, y = make_data(1)
    model = NeurEcoRegressor(random_state=0).fit(X, y.reshape(-1, 1))
    assert model.predict(X).shape == (len(X), 1)
    assert model.forward_derivative(None, None, X, np.ones_like(X)).shape == (len(X), 1)
    pw, px = model.gradient(None, X, np.ones((len(X), 1)))
    assert px.shape == X.shape
    pw_flat, _ = model.gradient(None, X, np.ones(len(X)))  # 1-D py accepted too
    assert np.array_equal(pw, pw_flat)


def test_derivatives_with_pruned_links_and_disconnected_inputs(rng):
    X = rng.uniform(-1, 1, size=(150, 5)) * [1, 2, 3, 4, 5]
    y = np.c_[np.sin(X[:, 0]) * X[:, 1], X[:, 1] ** 2]  # inputs 2, 3, 4 do not matter
    model = NeurEcoRegressor(random_state=0).fit(X, y)
    assert not model.connected_inputs_.all()
    assert any(not mask.all() for mask in model.link_masks_.values())
    assert_derivatives_exact(model, X, rng)
    J = model.jacobian(X)
    assert np.all(J[:, :, ~model.connected_inputs_] == 0.0)


@pytest.fixture(scope="module")
def fitted():
    X, Y = make_data(2)
    return NeurEcoRegressor(random_state=0).fit(X, Y), X


def test_few_row_predictions_agree_with_the_block_pass(fitted):
    # below FEW_ROWS rows predict takes one product per layer (other rounding only)
    model, X = fitted
    assert len(X) >= FEW_ROWS
    many = model.predict(X)
    for rows in (slice(0, 1), slice(5, 8), slice(0, FEW_ROWS - 1)):
        np.testing.assert_allclose(model.predict(X[rows]), many[rows], rtol=1e-12, atol=1e-13)


def test_derivatives_are_pure(fitted, rng):
    model, X = fitted
    before = model.get_weights()
    pred = model.predict(X)
    other = before + rng.normal(size=before.shape)
    model.forward_derivative(other, other, X, X)
    model.gradient(other, X, pred)
    assert np.array_equal(model.get_weights(), before)
    assert np.array_equal(model.predict(X), pred)


def test_none_weights_mean_current_weights(fitted, rng):
    model, X = fitted
    w = model.get_weights()
    dx = rng.normal(size=X.shape)
    py = rng.normal(size=(len(X), 2))
    assert np.array_equal(
        model.forward_derivative(None, None, X, dx), model.forward_derivative(w, None, X, dx)
    )
    assert np.array_equal(model.gradient(None, X, py)[0], model.gradient(w, X, py)[0])


def test_static_everything_gives_zero(fitted):
    model, X = fitted
    assert np.all(model.forward_derivative(None, None, X) == 0.0)


def test_evaluating_at_other_weights_uses_them(fitted, rng):
    model, X = fitted
    w2 = model.get_weights() * 1.5
    dw = rng.normal(size=w2.shape)
    h = 1e-6
    fd = (predict_at(model, w2 + h * dw, X) - predict_at(model, w2 - h * dw, X)) / (2 * h)
    assert np.allclose(model.forward_derivative(w2, dw, X), fd, rtol=1e-5, atol=1e-6)


def test_get_set_weights_round_trip(fitted):
    model = copy.deepcopy(fitted[0])
    X = fitted[1]
    w = model.get_weights()
    assert w.shape == (model.n_weights_, 1)
    w[0] += 1.0  # a copy: changing it does not touch the model
    assert model.get_weights()[0, 0] != w[0, 0]
    assert model.set_weights(w) == 0
    assert np.array_equal(model.get_weights(), w)
    assert model.set_weights(w.ravel()) == 0
    assert not np.array_equal(model.predict(X), fitted[0].predict(X))


def test_float32_and_pandas_inputs_match_float64(fitted, rng):
    pd = pytest.importorskip("pandas")
    model, X = fitted
    X32 = X.astype(np.float32)
    X64 = X32.astype(np.float64)
    py = rng.normal(size=(len(X), 2))
    dx = rng.normal(size=X.shape)
    py32 = py.astype(np.float32)
    ref = model.gradient(None, X64, py32.astype(np.float64))
    got = model.gradient(None, X32, py32)  # float32 is converted exactly to float64
    assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1])
    frame = pd.DataFrame(X64)
    assert np.array_equal(
        model.gradient(None, frame, pd.DataFrame(py))[1], model.gradient(None, X64, py)[1]
    )
    assert np.array_equal(
        model.forward_derivative(None, None, frame, pd.DataFrame(dx)),
        model.forward_derivative(None, None, X64, dx),
    )
    assert np.array_equal(model.jacobian(frame), model.jacobian(X64))


def test_pandas_feature_names_are_checked(rng):
    pd = pytest.importorskip("pandas")
    X, Y = make_data(1)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = NeurEcoRegressor(random_state=0).fit(frame, pd.Series(Y))
    assert list(model.feature_names_in_) == ["a", "b", "c"]
    assert model.gradient(None, frame, np.ones(len(X)))[1].shape == X.shape
    with pytest.warns(UserWarning, match="feature names"):
        model.jacobian(X)
    with pytest.raises(ValueError, match="feature names"):
        model.gradient(None, frame[["b", "a", "c"]], np.ones(len(X)))


def test_gradient_of_a_loss_drives_descent(smooth_data):
    """The use the API exists for: fine-tune weights on a loss through gradient()."""
    from scipy.optimize import minimize

    X, y = smooth_data
    model = NeurEcoRegressor(random_state=0).fit(X[:100], y[:100])
    X_new, y_new = X[100:], y[100:] + 0.3 * X[100:, 2]  # the data have drifted

    def loss_and_grad(w):
        r = predict_at(model, w, X_new) - y_new
        pw, _ = model.gradient(w, X_new, r / len(r))
        return 0.5 * np.mean(r**2), pw.ravel()

    w0 = model.get_weights().ravel()
    start = loss_and_grad(w0)[0]
    res = minimize(loss_and_grad, w0, jac=True, method="L-BFGS-B", options={"maxiter": 100})
    assert res.fun < 0.1 * start


@pytest.mark.parametrize("kind", ["regressor", "binary", "three classes"])
def test_many_rows_pass_block_by_block(kind, rng):
    """Past one row block (4,096 rows), normalisation and passes go block by block:
    the answers are those of the same calls on pieces of the rows (1, 50 and 1,000 rows,
    each within one block), stitched, and the weight gradient their sum."""
    from sklearn_neureco import NeurEcoClassifier
    from tests.test_classifier import make_classes

    if kind == "regressor":
        X, Y = make_data(n_outputs=3)
        model = NeurEcoRegressor(random_state=0).fit(X, Y)
    else:
        X, y = make_classes(2 if kind == "binary" else 3)
        model = NeurEcoClassifier(random_state=0).fit(X, y)
    X = X[rng.integers(0, len(X), size=2 * 4096 + 37)] * rng.uniform(0.9, 1.1, size=(1, 3))
    w = model.get_weights()
    dw = rng.normal(size=w.shape)
    dx = rng.normal(size=X.shape) * X.std(axis=0)
    predict = model.predict if kind == "regressor" else model.predict_proba
    py = rng.normal(size=predict(X).shape)

    edges = [0, 1, 51, *range(1051, len(X), 1000), len(X)]
    pieces = [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    stitched = {
        "predict": np.concatenate([predict(X[s]) for s in pieces]),
        "forward": np.concatenate([model.forward_derivative(w, dw, X[s], dx[s]) for s in pieces]),
        "input gradient": np.concatenate([model.gradient(w, X[s], py[s])[1] for s in pieces]),
        "jacobian": np.concatenate([model.jacobian(X[s]) for s in pieces]),
    }
    pw, px = model.gradient(w, X, py)
    whole = {
        "predict": predict(X),
        "forward": model.forward_derivative(w, dw, X, dx),
        "input gradient": px,
        "jacobian": model.jacobian(X),
    }
    for name, value in whole.items():
        np.testing.assert_allclose(value, stitched[name], rtol=1e-12, atol=1e-14, err_msg=name)
    pw_pieces = sum(model.gradient(w, X[s], py[s])[0] for s in pieces)
    np.testing.assert_allclose(pw, pw_pieces, rtol=1e-10, atol=1e-12 * np.abs(pw).max())


def test_derivative_calls_leave_their_arguments_alone(fitted, rng):
    """float64 arguments are used without a copy: no call may write into them."""
    model, X = copy.deepcopy(fitted[0]), fitted[1]  # set_weights below: not the shared one
    w = model.get_weights() + 0.1
    args = {
        "w": w,
        "dw": rng.normal(size=w.shape),
        "x": X.copy(),
        "dx": rng.normal(size=X.shape),
        "py": rng.normal(size=model.predict(X).shape),
    }
    before = {name: value.copy() for name, value in args.items()}
    model.forward_derivative(args["w"], args["dw"], args["x"], args["dx"])
    model.gradient(args["w"], args["x"], args["py"])
    model.jacobian(args["x"])
    model.set_weights(args["w"])
    model.predict(args["x"])
    args["w"][0] += 1.0  # set_weights kept a copy
    assert np.array_equal(model.get_weights(), before["w"])
    args["w"][0] -= 1.0
    for name, value in args.items():
        assert np.array_equal(value, before[name]), name
