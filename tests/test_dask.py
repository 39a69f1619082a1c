"""Dask: prediction and derivatives on Dask collections, and searches on a real local
cluster (worker processes), equal to the in-memory results."""

import numpy as np
import pytest

from sklearn_neureco import NeurEcoClassifier, NeurEcoRegressor
from tests._helpers import smooth_function, timeless

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(300, 3))
    Y = smooth_function(X, 2)
    return (
        NeurEcoRegressor(random_state=0).fit(X, Y),
        NeurEcoRegressor(random_state=0).fit(X, Y[:, 0]),
        rng.uniform(-1, 1, size=(2000, 3)),
    )


def test_predict_and_jacobian_chunk_by_chunk(client, fitted):
    two, one, X = fitted
    Xd = da.from_array(X, chunks=(300, 3))
    for model in (two, one):
        lazy = model.predict(Xd)
        assert isinstance(lazy, da.Array) and lazy.numblocks[0] == 7
        np.testing.assert_array_equal(lazy.compute(), model.predict(X))
        J = model.jacobian(Xd)
        assert isinstance(J, da.Array)
        np.testing.assert_array_equal(J.compute(), model.jacobian(X))


def test_derivatives_chunk_by_chunk(client, fitted, rng):
    model, _, X = fitted
    Xd = da.from_array(X, chunks=(500, 3))
    w = model.get_weights()
    dw = rng.normal(size=w.shape)
    dx = rng.normal(size=X.shape)
    dy = model.forward_derivative(w, dw, Xd, da.from_array(dx, chunks=(250, 3)))
    np.testing.assert_allclose(dy.compute(), model.forward_derivative(w, dw, X, dx), rtol=1e-12)
    py = rng.normal(size=(len(X), 2))
    pw, px = model.gradient(w, Xd, da.from_array(py, chunks=(500, 2)))
    pw_ref, px_ref = model.gradient(w, X, py)
    assert pw.shape == pw_ref.shape
    # a sum over chunks instead of over blocks of 4,096 rows: equal to rounding
    np.testing.assert_allclose(pw.compute(), pw_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(px.compute(), px_ref)


def test_dataframes_and_classifiers(client, rng):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X = rng.uniform(-1, 1, size=(400, 2))
    y = np.where(X[:, 0] ** 2 + X[:, 1] > 0.3, "high", "low")
    model = NeurEcoClassifier(random_state=0).fit(X, y)
    frame = dd.from_pandas(pd.DataFrame(X, columns=["a", "b"]), npartitions=4)
    np.testing.assert_array_equal(model.predict_proba(frame).compute(), model.predict_proba(X))
    assert model.predict(frame).compute().tolist() == model.predict(X).tolist()


def test_bad_dask_input_is_refused(fitted):
    model, _, X = fitted
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 3\)"):
        model.predict(da.from_array(X[:, :2], chunks=(100, 2)))


def test_grid_search_on_the_cluster_equals_the_default_backend(client):
    from joblib import parallel_config
    from sklearn.model_selection import GridSearchCV

    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(200, 3))
    y = smooth_function(X)
    grid = {"inputs_scaling": ["auto", "std"], "valid_percentage": [20, 33.33]}
    local = GridSearchCV(NeurEcoRegressor(random_state=0), grid, cv=3, n_jobs=2).fit(X, y)
    with distributed.get_task_stream(client) as tasks, parallel_config(backend="dask"):
        remote = GridSearchCV(NeurEcoRegressor(random_state=0), grid, cv=3, n_jobs=-1)
        remote.fit(X, y)
    assert len(tasks.data) >= 12  # the 4 x 3 fits ran on the cluster's workers
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"], rtol=1e-6
    )


def test_n_init_builds_run_on_the_cluster(client, tmp_path):
    from joblib import parallel_config

    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, size=(250, 3))
    y = smooth_function(X)

    def build(folder, **params):
        model = NeurEcoRegressor(
            n_init=3, random_state=0, checkpoint_address=tmp_path / folder / "c.ckpt", **params
        )
        return model.fit(X, y)

    local = build("local", n_jobs=2)  # loky worker processes, one thread each
    with distributed.get_task_stream(client) as tasks, parallel_config(backend="dask"):
        remote = build("remote")
    assert len(tasks.data) >= 3  # the builds ran on the cluster's workers
    np.testing.assert_array_equal(remote.weights_, local.weights_)
    assert timeless(remote.history_) == timeless(local.history_)
    checkpoints = [
        [
            NeurEcoRegressor.load(tmp_path / folder / "c.ckpt", model_number=k).weights_
            for k in range(len(local.history_))
        ]
        for folder in ("local", "remote")
    ]
    for a, b in zip(*checkpoints, strict=True):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- training on Dask data
SMALL_SEARCH = {"search_rows": 1500, "min_search_rows": 500}


def _rows(n, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 3))
    return X, smooth_function(X, 2)


def test_dask_problem_sums_equal_the_in_memory_ones(rng):
    from sklearn_neureco._dask_training import DaskTrainingProblem
    from sklearn_neureco._network import Network, dense_masks
    from sklearn_neureco._optimize import TrainingProblem

    X, Y = _rows(3000)
    s = rng.uniform(0, 2, size=len(X))
    s /= s.sum()
    network = Network((3, 6, 2), dense_masks((3, 6, 2)))
    w = rng.normal(size=network.n_weights)
    memory = TrainingProblem(network, X, Y, s, beta=0.3)
    chunked = DaskTrainingProblem(
        network,
        da.from_array(X, chunks=(700, 3)),
        da.from_array(Y, chunks=(700, 2)),
        da.from_array(s, chunks=700),
        beta=0.3,
    )
    for a, b in zip(chunked.normal_equations(w), memory.normal_equations(w), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-14)
    for a, b in zip(chunked.loss_and_gradient(w), memory.loss_and_gradient(w), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-14)
    assert chunked.loss(w) == pytest.approx(memory.loss(w), rel=1e-12)
    assert chunked.data_error(w) == pytest.approx(memory.data_error(w), rel=1e-12)
    np.testing.assert_allclose(chunked.damping_diagonal(), memory.damping_diagonal(), rtol=1e-12)
    sub, sub_memory = chunked.every_kth_row(7), memory.every_kth_row(7)
    assert sub.x.shape == sub_memory.x.shape
    assert sub.loss(w) == pytest.approx(sub_memory.loss(w), rel=1e-12)


def test_fit_on_dask_trains_every_row(client, tmp_path):
    from sklearn_neureco import BuildConfig

    X, Y = _rows(24000)
    # noisy targets: every row the training sees makes the model more accurate
    Y = Y + np.random.default_rng(5).normal(scale=0.1, size=Y.shape)
    X_test, Y_test = _rows(5000, seed=4)  # noise-free
    config = BuildConfig(**SMALL_SEARCH)
    Xd, Yd = da.from_array(X, chunks=(4000, 3)), da.from_array(Y, chunks=(4000, 2))
    model = NeurEcoRegressor(random_state=0, build_config=config).fit(Xd, Yd)
    assert model.history_[-1]["step"] == "final" and model.history_[-1]["n_rows"] == 24000
    again = NeurEcoRegressor(
        random_state=0, build_config=config, checkpoint_address=tmp_path / "c.ckpt"
    ).fit(Xd, Yd)
    np.testing.assert_array_equal(again.weights_, model.weights_)  # deterministic
    # the checkpoint ends with the model trained on every row, its best
    best = NeurEcoRegressor.load(tmp_path / "c.ckpt")
    np.testing.assert_array_equal(best.weights_, model.weights_)
    assert best.history_[-1]["n_rows"] == 24000

    # the same search on its sample of 1,500 rows, without the training on every row
    rows = np.sort(
        np.random.default_rng([np.random.RandomState(0).randint(2**31 - 1), 7]).choice(
            24000, 1500, replace=False
        )
    )
    sample_only = NeurEcoRegressor(random_state=0, build_config=BuildConfig(search_rows=None)).fit(
        X[rows], Y[rows]
    )
    assert sample_only.layer_sizes_ == model.layer_sizes_  # the Dask fit searched that sample

    def rmse(m):
        return np.sqrt(np.mean((m.predict(X_test) - Y_test) ** 2))

    assert rmse(model) < 0.8 * rmse(sample_only)
    # predicting Dask rows stays lazy and equals the in-memory predictions
    np.testing.assert_array_equal(model.predict(Xd).compute(), model.predict(X))


def test_fit_on_dask_dataframes_with_weights(client):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    from sklearn_neureco import BuildConfig

    X, Y = _rows(12000)
    y = Y[:, 0].copy()
    weight = np.ones(len(y))
    weight[::3] = 0.0
    y[::3] += 50.0  # rows of weight 0 are ignored: their targets must not show
    frame = dd.from_pandas(pd.DataFrame(X, columns=["a", "b", "c"]), npartitions=5)
    series = dd.from_pandas(pd.Series(y), npartitions=5)
    weights = dd.from_pandas(pd.Series(weight), npartitions=5)
    model = NeurEcoRegressor(random_state=0, build_config=BuildConfig(**SMALL_SEARCH))
    model.fit(frame, series, sample_weight=weights)
    assert list(model.feature_names_in_) == ["a", "b", "c"]
    X_test, Y_test = _rows(3000, seed=5)
    predicted = model.predict(pd.DataFrame(X_test, columns=["a", "b", "c"]))
    error = np.sqrt(np.mean((predicted - Y_test[:, 0]) ** 2))
    assert error < 0.01 * Y_test[:, 0].std()


def _nan_row(X, y, w):
    X = X.copy()
    X[5, 1] = np.nan
    return X, y, w


@pytest.mark.parametrize(
    "make, match",
    [
        (_nan_row, "X must be finite"),
        (lambda X, y, w: (X, y[:-1], w), r"y must have shape"),
        (lambda X, y, w: (X, y, -w), "sample_weight must be non-negative"),
        (lambda X, y, w: (X, y, w[:10]), r"sample_weight must have shape \(3000,\)"),
        (lambda X, y, w: (X[:, 0], y, w), "X must be 2-D"),
    ],
)
def test_bad_dask_training_data_is_refused_and_the_model_kept(make, match):
    X, Y = _rows(3000)
    y = Y[:, 0]
    fitted = NeurEcoRegressor(random_state=0).fit(X[:200], y[:200])
    before = fitted.weights_.copy()
    Xb, yb, wb = make(X, y, np.ones(len(y)))
    with pytest.raises(ValueError, match=match):
        fitted.fit(
            da.from_array(Xb, chunks=500),
            da.from_array(yb, chunks=500),
            da.from_array(wb, chunks=500),
        )
    np.testing.assert_array_equal(fitted.weights_, before)


def test_dask_text_data_is_refused():
    X, Y = _rows(600)
    with pytest.raises(TypeError, match="y must hold numbers"):
        NeurEcoRegressor().fit(
            da.from_array(X, chunks=200), da.from_array(Y[:, 0].astype(str), chunks=200)
        )


def test_compressor_fit_refuses_dask_rows(rng):
    from sklearn_neureco import NeurEcoCompressor

    X = da.from_array(rng.uniform(-1, 1, size=(300, 3)), chunks=100)
    with pytest.raises(TypeError, match="NeurEcoCompressor.fit takes in-memory data"):
        NeurEcoCompressor().fit(X)


def _labelled_rows(n, seed):
    """Labels drawn from known probabilities: 'rare' in 4 rows, else 'low', 'mid', 'high'
    with softmax probabilities of three smooth scores."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 3))
    scores = 2.0 * np.column_stack([X[:, 0] + X[:, 1] ** 2, -X[:, 0], np.sin(2 * X[:, 2])])
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    draw = (rng.uniform(size=(n, 1)) > np.cumsum(p, axis=1)).sum(axis=1)
    y = np.array(["low", "mid", "high"])[draw].astype("<U4")
    return X, y, p


def test_classifier_fit_on_dask_trains_every_row(client):
    from sklearn_neureco import BuildConfig

    X, y, _ = _labelled_rows(20000, seed=6)
    y[[100, 7000, 13000, 19999]] = "rare"  # a random sample of 1,500 rows would miss it
    X_test, _, p_test = _labelled_rows(4000, seed=7)
    config = BuildConfig(**SMALL_SEARCH)
    model = NeurEcoClassifier(random_state=0, build_config=config)
    model.fit(da.from_array(X, chunks=(5000, 3)), da.from_array(y, chunks=5000))
    assert list(model.classes_) == ["high", "low", "mid", "rare"]
    assert model.history_[-1]["n_rows"] == 20000
    # the same search on its sample alone (the rare rows included), without the rest
    rows = np.sort(
        np.random.default_rng([np.random.RandomState(0).randint(2**31 - 1), 7]).choice(
            20000, 1500, replace=False
        )
    )
    rows = np.union1d(rows, [100, 7000, 13000, 19999])
    sample_only = NeurEcoClassifier(random_state=0, build_config=BuildConfig(search_rows=None))
    sample_only.fit(X[rows], y[rows])
    assert sample_only.layer_sizes_ == model.layer_sizes_

    def excess_log_loss(m):  # Kullback-Leibler from the true probabilities of low, mid, high
        proba = m.predict_proba(X_test)[:, [1, 2, 0]]
        return np.mean(np.sum(p_test * (np.log(p_test) - np.log(proba)), axis=1))

    assert excess_log_loss(model) < 0.8 * excess_log_loss(sample_only)  # measured: 0.56
