"""Dask: prediction and derivatives on Dask collections, and searches on a real local
cluster (worker processes), equal to the in-memory results."""

import numpy as np
import pytest

from sklearn_neureco import NeurEcoClassifier, NeurEcoRegressor
from tests._helpers import smooth_function

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
