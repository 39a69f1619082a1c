"""NeurEcoClassifier: cross-entropy on the shared build, and exact derivatives of its
class probabilities."""

import copy
import pickle

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import sklearn_neureco
from sklearn_neureco import ModelFileError, NeurEcoClassifier, NeurEcoRegressor
from sklearn_neureco._normalization import SCALINGS, SHIFTINGS


def make_classes(n_classes, n=300, seed=0, labels=None):
    """Classes cut by smooth boundaries of 3 inputs of different magnitudes."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 3)) * [1.0, 30.0, 0.01] + [5.0, 0.0, -2.0]
    u = (X - [5.0, 0.0, -2.0]) / [1.0, 30.0, 0.01]
    score = np.sin(2 * u[:, 0]) + u[:, 1] ** 2 + 0.5 * u[:, 2]
    edges = np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1])
    codes = np.searchsorted(edges, score)
    return X, codes if labels is None else np.asarray(labels)[codes]


def proba_at(model, w, X):
    other = copy.deepcopy(model)
    other.set_weights(w)
    return other.predict_proba(X)


def assert_proba_derivatives_exact(model, X, rng):
    """Finite differences and the dot-product test of predict_proba, in weights and
    inputs together, and the input Jacobian."""
    w = model.get_weights()
    p = model.predict_proba(X)
    dw = rng.normal(size=w.shape) * (np.abs(w) + 1e-3)
    dx = rng.normal(size=X.shape) * X.std(axis=0)
    dp = model.forward_derivative(w, dw, X, dx)
    assert dp.shape == p.shape
    assert np.allclose(dp.sum(axis=1), 0.0, atol=1e-12)  # probabilities keep summing to 1

    h = 1e-6
    fd = (proba_at(model, w + h * dw, X + h * dx) - proba_at(model, w - h * dw, X - h * dx)) / (
        2 * h
    )
    assert np.max(np.abs(dp - fd)) <= 1e-5 * (np.abs(fd).max() + 1e-3)

    pp = rng.normal(size=p.shape)
    pw, px = model.gradient(w, X, pp)
    assert pw.shape == w.shape and px.shape == X.shape
    lhs, rhs = np.sum(pp * dp), np.sum(pw * dw) + np.sum(px * dx)
    assert np.isclose(lhs, rhs, rtol=1e-10, atol=1e-12 * np.abs(pp).sum())

    J = model.jacobian(X)
    assert J.shape == (len(X), p.shape[1], X.shape[1])
    expected = np.einsum("nkj,nj->nk", J, dx)
    assert np.allclose(model.forward_derivative(w, None, X, dx), expected, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_learns_a_smooth_boundary(n_classes):
    X, y = make_classes(n_classes, n=600)
    X_test, y_test = make_classes(n_classes, n=2000, seed=1)
    model = NeurEcoClassifier(random_state=0).fit(X, y)
    assert model.n_outputs_ == (1 if n_classes == 2 else n_classes)
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), n_classes)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(model.predict(X_test), model.classes_[proba.argmax(axis=1)])
    assert np.allclose(np.exp(model.predict_log_proba(X_test)), proba)
    error = np.mean(model.predict(X_test) != y_test)
    linear = LogisticRegression(max_iter=5000).fit((X - X.mean(0)) / X.std(0), y)
    linear_error = np.mean(linear.predict((X_test - X.mean(0)) / X.std(0)) != y_test)
    # the boundary is curved: the network must beat a linear model (measured: 0.040
    # against 0.060 with two classes; the aim of half the best peer's error rate on
    # smooth boundaries is not reached yet, see benchmarks/classification.py)
    assert error < linear_error


def test_labels_of_any_type_and_decision_function():
    X, y = make_classes(2, labels=["cold", "hot"])
    model = NeurEcoClassifier(random_state=0).fit(X, y)
    assert model.classes_.tolist() == ["cold", "hot"]
    assert set(model.predict(X)) <= {"cold", "hot"}
    logit = model.decision_function(X)
    assert logit.shape == (len(X),)
    assert np.allclose(model.predict_proba(X)[:, 1], 1 / (1 + np.exp(-logit)))
    X3, y3 = make_classes(3, labels=[10, 20, 30])
    model3 = NeurEcoClassifier(random_state=0).fit(X3, y3)
    assert model3.classes_.tolist() == [10, 20, 30]
    assert model3.decision_function(X3).shape == (len(X3), 3)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize(
    ("shifting", "scaling"), [("auto", "auto"), ("mean", "std"), ("none", "none")]
)
def test_probability_derivatives_are_exact(n_classes, shifting, scaling):
    assert shifting in SHIFTINGS and scaling in SCALINGS
    X, y = make_classes(n_classes, n=200)
    weights = np.random.default_rng(3).uniform(0.2, 3.0, size=len(X))
    model = NeurEcoClassifier(random_state=0, inputs_shifting=shifting, inputs_scaling=scaling).fit(
        X, y, sample_weight=weights
    )
    # 200 rows go block by block; 40, below FEW_ROWS, one product per layer
    for rows in (X, X[:40]):
        assert_proba_derivatives_exact(model, rows, np.random.default_rng(4))


def test_derivative_arguments_are_checked():
    X, y = make_classes(3, n=150)
    model = NeurEcoClassifier(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"predict_proba\(x\)"):
        model.gradient(None, X, np.ones((len(X), 1)))


def test_files_pickles_and_the_estimator_they_hold(tmp_path):
    X, y = make_classes(3, n=200, labels=["a", "b", "c"])
    model = NeurEcoClassifier(random_state=0).fit(X, y)
    path = model.save(tmp_path / "classifier.ednn")
    for loaded in (NeurEcoClassifier.load(path), sklearn_neureco.load(path)):
        assert type(loaded) is NeurEcoClassifier
        assert loaded.classes_.tolist() == ["a", "b", "c"]
        assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    with pytest.raises(ModelFileError, match="holds a NeurEcoClassifier, not a NeurEcoRegressor"):
        NeurEcoRegressor.load(path)
    clone = pickle.loads(pickle.dumps(model))
    assert np.array_equal(clone.predict_proba(X), model.predict_proba(X))


def test_checkpoint_and_resume(tmp_path):
    X, y = make_classes(2, n=200)
    checkpoint = tmp_path / "build.checkpoint"
    model = NeurEcoClassifier(random_state=0, checkpoint_address=checkpoint).fit(X, y)
    final = NeurEcoClassifier.load(checkpoint)
    assert np.array_equal(final.predict_proba(X), model.predict_proba(X))
    first = NeurEcoClassifier.load(checkpoint, model_number=0)
    assert first.layer_sizes_ == (3, 1) and first.classes_.tolist() == [0, 1]
    resumed = NeurEcoClassifier(random_state=0).fit(X, y, init_model=first, freeze_structure=True)
    assert resumed.layer_sizes_ == (3, 1)
    with pytest.raises(ValueError, match="classes"):
        NeurEcoClassifier().fit(X, np.where(y == 1, 2, 0), init_model=first)


def test_bad_labels_are_named():
    X, y = make_classes(2, n=100)
    with pytest.raises(ValueError, match="at least 2 classes"):
        NeurEcoClassifier().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="y_val holds labels that y does not"):
        NeurEcoClassifier().fit(X, y, X_val=X[:5], y_val=[0, 1, 2, 0, 1])
    with pytest.raises(ValueError, match="Unknown label type"):
        NeurEcoClassifier().fit(X, np.linspace(0, 1, len(X)))


def test_explicit_validation_data_and_class_weights():
    X, y = make_classes(2, n=400)
    model = NeurEcoClassifier(random_state=0).fit(X[:300], y[:300], X_val=X[300:], y_val=y[300:])
    assert np.mean(model.predict(X[300:]) == y[300:]) > 0.9
    # weighting a class up moves the probabilities towards it
    rare = NeurEcoClassifier(random_state=0).fit(X, y, sample_weight=np.where(y == 1, 10.0, 1.0))
    base = NeurEcoClassifier(random_state=0).fit(X, y)
    assert rare.predict_proba(X)[:, 1].mean() > base.predict_proba(X)[:, 1].mean()


def test_parallel_builds_give_the_serial_model():
    X, y = make_classes(3, n=200)
    serial = NeurEcoClassifier(random_state=0, n_init=2).fit(X, y)
    parallel = NeurEcoClassifier(random_state=0, n_init=2, n_jobs=2).fit(X, y)
    assert {r["build"] for r in serial.history_} == {0, 1}
    assert serial.layer_sizes_ == parallel.layer_sizes_
    np.testing.assert_allclose(parallel.predict_proba(X), serial.predict_proba(X), atol=1e-8)


def test_the_constant_baseline_is_the_best_constant():
    """What fit compares a model with: the log-loss of the class frequencies (their
    entropy) for a classifier, the variance for a regressor."""
    from sklearn_neureco._objectives import CROSS_ENTROPY, LEAST_SQUARES

    rng = np.random.default_rng(0)
    s = rng.uniform(0.5, 2.0, size=300)
    s /= s.sum()
    for n_classes in (2, 3):
        codes = rng.integers(0, n_classes, size=300)
        y = codes[:, None].astype(float) if n_classes == 2 else np.eye(n_classes)[codes]
        q = np.bincount(codes, weights=s, minlength=n_classes)
        f = np.broadcast_to(CROSS_ENTROPY.constant(y, s), y.shape)
        assert np.isclose(CROSS_ENTROPY.error(f, y, s), -np.sum(q * np.log(q)))
    y = rng.normal(size=(300, 2))
    f = np.broadcast_to(LEAST_SQUARES.constant(y, s), y.shape)
    assert np.isclose(LEAST_SQUARES.error(f, y, s), np.sum(s @ (y - s @ y) ** 2))


def test_the_classifier_searches_once_even_when_pruning_drops_inputs():
    # whole-input pruning and the second search are the regressor's (measured worse for
    # the classifier on wine and digits); link pruning alone still drops inert inputs
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (600, 8))
    y = (np.sin(3 * X[:, 0]) + X[:, 1] ** 2 > 0.4).astype(int)
    model = NeurEcoClassifier(random_state=0).fit(X, y)
    np.testing.assert_array_equal(model.connected_inputs_, [1, 1, 0, 0, 0, 0, 0, 0])
    assert [r["step"] for r in model.history_].count("linear") == 1
