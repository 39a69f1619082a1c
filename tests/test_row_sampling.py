"""Large data: the search runs on a sample of the rows, the chosen network trains on all."""

import numpy as np
import pytest

from sklearn_neureco import NeurEcoClassifier, NeurEcoRegressor
from sklearn_neureco._architecture import BuildConfig
from sklearn_neureco._engine import _search_sample
from sklearn_neureco._network import Network, dense_masks
from sklearn_neureco._optimize import TrainingProblem, train, train_on_growing_rows
from tests._helpers import smooth_function


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def test_search_sample_keeps_the_proportions_and_draws_nothing_under_the_limit():
    train_idx, valid_idx = np.arange(0, 800), np.arange(800, 1000)
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    same = _search_sample(train_idx, valid_idx, 1000, rng)
    assert same[0] is train_idx and same[1] is valid_idx
    assert rng.bit_generator.state == state  # small data: the build's draws are unchanged
    t, v = _search_sample(train_idx, valid_idx, 250, rng)
    assert (t.size, v.size) == (200, 50)
    assert np.all(np.diff(t) > 0) and np.all(np.diff(v) > 0)
    assert np.isin(t, train_idx).all() and np.isin(v, valid_idx).all()


def test_growing_rows_reach_the_optimum_on_all_rows():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(20000, 3))
    y = smooth_function(x)[:, None]
    network = Network((3, 12, 1), dense_masks((3, 12, 1)))
    sw = np.full(len(x), 1 / len(x))
    sample = slice(0, 500)
    small = TrainingProblem(network, x[sample], y[sample], sw[sample] / sw[sample].sum())
    w0 = train(small, rng.normal(scale=0.5, size=network.n_weights)).w
    full = TrainingProblem(network, x, y, sw)
    grown = train_on_growing_rows(full, w0, 500)
    direct = train(full, w0, any_rows=True)
    assert full.loss(grown.w) < 0.95 * full.loss(w0)  # the sample's optimum is not all rows'
    assert full.loss(grown.w) <= 1.02 * full.loss(direct.w)


@pytest.fixture(scope="module")
def large():
    rng = np.random.default_rng(7)
    X = rng.uniform(-1, 1, size=(6000, 3))
    return X, smooth_function(X), rng.uniform(-1, 1, size=(2000, 3))


def test_sampled_search_is_accurate_and_trains_on_every_row(large):
    X, y, X_test = large
    model = NeurEcoRegressor(random_state=0, build_config=BuildConfig(search_rows=600))
    model.fit(X, y)
    final = [r for r in model.history_ if r["step"] == "final"]
    assert len(final) == 1
    assert rmse(model.predict(X_test), smooth_function(X_test)) < 2e-3
    # the final training on 6,000 rows beats the searched network trained on 480
    searched = NeurEcoRegressor(
        random_state=0, final_learning=False, build_config=BuildConfig(search_rows=600)
    )
    searched.fit(X, y)
    assert len([r for r in searched.history_ if r["step"] == "final"]) == 1  # all train rows
    # same seed, same model, bit for bit
    again = NeurEcoRegressor(random_state=0, build_config=BuildConfig(search_rows=600))
    np.testing.assert_array_equal(again.fit(X, y).get_weights(), model.get_weights())


def test_final_training_on_all_rows_improves_on_the_sample(large):
    X, y, X_test = large
    config = BuildConfig(search_rows=600)
    sampled = NeurEcoRegressor(random_state=1, build_config=config, n_init=1).fit(X, y)
    # the same network, trained on the search's sample only (freeze its structure)
    rows = np.random.default_rng(3).choice(len(X), 480, replace=False)
    small = NeurEcoRegressor(random_state=1, build_config=config).fit(
        X[rows], y[rows], init_model=sampled, freeze_structure=True
    )
    truth = smooth_function(X_test)
    assert rmse(sampled.predict(X_test), truth) < rmse(small.predict(X_test), truth)


def test_parallel_sampled_builds_equal_serial_ones(large):
    X, y, _ = large
    config = BuildConfig(search_rows=500)
    serial = NeurEcoRegressor(random_state=2, n_init=2, build_config=config).fit(X, y)
    parallel = NeurEcoRegressor(random_state=2, n_init=2, n_jobs=2, build_config=config)
    parallel.fit(X, y)
    assert serial.layer_sizes_ == parallel.layer_sizes_
    np.testing.assert_allclose(parallel.get_weights(), serial.get_weights(), rtol=1e-8)


def test_classifier_samples_its_search_too():
    rng = np.random.default_rng(4)
    X = rng.uniform(-1, 1, size=(5000, 2))
    labels = (X[:, 0] ** 2 + X[:, 1] > 0.3).astype(int)
    X_test = rng.uniform(-1, 1, size=(2000, 2))
    truth = (X_test[:, 0] ** 2 + X_test[:, 1] > 0.3).astype(int)
    model = NeurEcoClassifier(random_state=0, build_config=BuildConfig(search_rows=500))
    model.fit(X, labels)
    assert np.mean(model.predict(X_test) == truth) > 0.98


def test_search_size_grows_slowly_with_the_rows():
    config = BuildConfig()
    assert [config.search_size(n) for n in (500, 2000, 9000, 20000, 40000, 10**6)] == [
        500,
        2000,
        2000,
        4000,
        8000,
        8000,
    ]
    assert BuildConfig(search_rows=None).search_size(10**6) == 10**6
    assert BuildConfig(search_rows=600).search_size(5000) == 600
