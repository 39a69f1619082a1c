"""Bad input gets a clear error naming the argument, and leaves a fitted model as it was."""

import copy

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from sklearn_neureco import NeurEcoRegressor


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(60, 2))
    y = X[:, 0] ** 2 + X[:, 1]
    return NeurEcoRegressor(random_state=0).fit(X, y), X, y


def state(model):
    return {k: copy.deepcopy(v) for k, v in vars(model).items()}


def assert_same_state(before, model):
    after = vars(model)
    assert before.keys() == after.keys()
    for key, value in before.items():
        if key == "state_":
            for name, part in value.to_plain().items():
                if name == "network":
                    assert after[key].network.layer_sizes == value.network.layer_sizes
                elif isinstance(part, np.ndarray):
                    assert np.array_equal(part, getattr(after[key], name)), name
                else:
                    assert part == getattr(after[key], name), name
        elif isinstance(value, np.ndarray):
            assert np.array_equal(value, after[key]), key
        elif key != "history_":
            assert repr(value) == repr(after[key]), key


@pytest.mark.parametrize(
    "params, match",
    [
        ({"inputs_shifting": "median"}, "inputs_shifting"),
        ({"outputs_scaling": "range"}, "outputs_scaling"),
        ({"inputs_normalize_per_feature": "yes"}, "inputs_normalize_per_feature"),
        ({"valid_percentage": 80}, "valid_percentage"),
        ({"valid_percentage": 0.5}, "valid_percentage"),
        ({"initial_beta_reg": -1.0}, "initial_beta_reg"),
        ({"links_maximum_number": -3}, "links_maximum_number"),
        ({"links_maximum_number": 2.5}, "links_maximum_number"),
        ({"checkpoint_address": 3}, "checkpoint_address"),
        ({"final_learning": None}, "final_learning"),
        ({"n_init": 0}, "n_init"),
        ({"n_init": 1.5}, "n_init"),
        ({"n_jobs": "two"}, "n_jobs"),
        ({"n_jobs": 1.5}, "n_jobs"),
        ({"n_jobs": 0}, "n_jobs"),
    ],
)
def test_bad_parameters_are_named(params, match, fitted):
    model, X, y = fitted
    model = copy.deepcopy(model).set_params(**params)
    before = state(model)
    with pytest.raises(ValueError, match=match):
        model.fit(X, y)
    assert_same_state(before, model)


@pytest.mark.parametrize(
    "args, error, match",
    [
        (lambda X, y: (X[:, :1], y), None, None),  # fewer features: a different but valid fit
        (lambda X, y: (X, y[:-1]), ValueError, "inconsistent numbers of samples"),
        (lambda X, y: (np.where(X > 0.9, np.nan, X), y), ValueError, "NaN"),
        (lambda X, y: (X, np.where(y > 0.5, np.inf, y)), ValueError, "[Ii]nf"),
        (lambda X, y: (X.astype(str).astype(object) + "x", y), ValueError, "convert"),
        (lambda X, y: (X[:0], y[:0]), ValueError, "0 sample"),
    ],
)
def test_bad_fit_data_leaves_model_untouched(args, error, match, fitted):
    model, X, y = fitted
    model = copy.deepcopy(model)
    X2, y2 = args(X, y)
    if error is None:
        model.fit(X2, y2)
        assert model.n_features_in_ == 1
        return
    before = state(model)
    with pytest.raises(error, match=match):
        model.fit(X2, y2)
    assert_same_state(before, model)


@pytest.mark.parametrize(
    "sample_weight, match",
    [
        (lambda n: -np.ones(n), "[Nn]egative"),
        (lambda n: np.zeros(n), "[Ss]ample.weight"),
        (lambda n: np.ones(n - 1), "sample_weight"),
        (lambda n: np.full(n, np.nan), "NaN"),
    ],
)
def test_bad_sample_weight(sample_weight, match, fitted):
    model, X, y = fitted
    model = copy.deepcopy(model)
    before = state(model)
    with pytest.raises(ValueError, match=match):
        model.fit(X, y, sample_weight=sample_weight(len(X)))
    assert_same_state(before, model)


def test_bad_validation_data(fitted):
    model, X, y = fitted
    model = copy.deepcopy(model)
    before = state(model)
    with pytest.raises(ValueError, match="X_val and y_val"):
        model.fit(X, y, X_val=X)
    with pytest.raises(ValueError, match="features"):
        model.fit(X, y, X_val=X[:, :1], y_val=y)
    with pytest.raises(ValueError, match="y_val"):
        model.fit(X, y, X_val=X, y_val=np.c_[y, y])
    with pytest.raises(ValueError, match="y_val"):
        model.fit(X, y, X_val=X, y_val=y[:-1])
    with pytest.raises(ValueError, match="y_val"):
        model.fit(X, y, X_val=X, y_val=np.where(y > 0, np.nan, y))
    assert_same_state(before, model)


@pytest.mark.parametrize(
    "method, call",
    [
        ("predict", lambda m, X: m.predict(X)),
        ("get_weights", lambda m, X: m.get_weights()),
        ("set_weights", lambda m, X: m.set_weights(np.zeros(3))),
        ("forward_derivative", lambda m, X: m.forward_derivative(None, None, X)),
        ("gradient", lambda m, X: m.gradient(None, X, np.zeros(len(X)))),
        ("jacobian", lambda m, X: m.jacobian(X)),
    ],
)
def test_unfitted_model_raises(method, call, fitted):
    with pytest.raises(NotFittedError):
        call(NeurEcoRegressor(), fitted[1])


def test_set_weights_rejects_bad_weights(fitted):
    model, X, _ = fitted
    model = copy.deepcopy(model)
    p = model.n_weights_
    before = state(model)
    for bad, error, match in [
        (np.zeros(p + 1), ValueError, rf"\({p}, 1\)"),
        (np.zeros((p, 2)), ValueError, rf"\({p}, 1\)"),
        (np.zeros((1, p)), ValueError, rf"\({p}, 1\)"),
        (np.full(p, np.nan), ValueError, "NaN"),
        (np.array(["a"] * p), TypeError, "numbers"),
        ("weights", TypeError, "numbers"),
        (None, TypeError, "numbers"),
    ]:
        with pytest.raises(error, match=match):
            model.set_weights(bad)
        assert_same_state(before, model)


def test_derivative_methods_reject_bad_shapes(fitted):
    model, X, _ = fitted
    p = model.n_weights_
    w = model.get_weights()
    with pytest.raises(ValueError, match=r"^w must have shape"):
        model.forward_derivative(np.zeros(p + 2), None, X)
    with pytest.raises(ValueError, match=r"^dw must have shape"):
        model.forward_derivative(w, np.zeros((p, 3)), X)
    with pytest.raises(ValueError, match=r"^w must have shape"):  # the right size, a row
        model.gradient(w.reshape(1, -1), X, np.ones(len(X)))
    with pytest.raises(ValueError, match=r"^dw contains NaN"):
        model.forward_derivative(w, np.full(p, np.nan), X)
    with pytest.raises(ValueError, match=r"^dx must be shaped like x"):
        model.forward_derivative(w, None, X, X[:, :1])
    with pytest.raises(ValueError, match="features"):
        model.forward_derivative(w, None, X[:, :1])
    with pytest.raises(ValueError, match=r"^py must be shaped like predict\(x\)"):
        model.gradient(w, X, np.zeros((len(X), 2)))
    with pytest.raises(ValueError, match=r"^py must be shaped"):
        model.gradient(w, X, np.zeros(len(X) + 1))
    with pytest.raises(ValueError, match="NaN"):
        model.gradient(w, X, np.full(len(X), np.nan))
    with pytest.raises(TypeError, match="^py must be an array of numbers"):
        model.gradient(w, X, "py")
    with pytest.raises(ValueError, match="NaN"):
        model.jacobian(np.full_like(X, np.nan))
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :1])


def test_fast_input_path_agrees_with_full_validation(fitted):
    model, X, _ = fitted
    w = model.get_weights()
    py = np.ones(len(X))
    reference = model.gradient(w, X.tolist(), py)  # a list goes through sklearn's checks
    for variant in (np.asfortranarray(X), np.hstack([X, X])[:, :2], X.copy()):
        for got, expected in zip(model.gradient(w, variant, py), reference, strict=True):
            assert np.array_equal(got, expected)
    with pytest.raises(ValueError, match="infinity"):
        model.gradient(w, np.where(X > 0.9, np.inf, X), py)
    with pytest.raises(ValueError, match="0 sample"):
        model.predict(X[:0])
