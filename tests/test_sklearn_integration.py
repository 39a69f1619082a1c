"""NeurEcoRegressor as a scikit-learn citizen: pipelines, search, CV, clone, joblib."""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_neureco import NeurEcoClassifier, NeurEcoRegressor


def test_pipeline_and_grid_search_in_parallel(smooth_data):
    X, y = smooth_data
    pipe = make_pipeline(StandardScaler(), NeurEcoRegressor(random_state=0))
    search = GridSearchCV(
        pipe,
        {"neurecoregressor__initial_beta_reg": [0.1, 1e-3]},
        cv=KFold(3, shuffle=True, random_state=0),
        n_jobs=2,
    )
    search.fit(X, y)
    assert search.best_score_ > 0.99
    assert search.predict(X).shape == y.shape


def test_cross_val_score(smooth_data):
    X, y = smooth_data
    scores = cross_val_score(NeurEcoRegressor(random_state=0), X, y, cv=3)
    assert scores.min() > 0.99


def test_clone_copies_parameters_not_fit(smooth_data):
    X, y = smooth_data
    model = NeurEcoRegressor(inputs_scaling="std", random_state=3).fit(X, y)
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert not hasattr(twin, "weights_")


@pytest.mark.parametrize("mmap_mode", [None, "r"])
def test_joblib_round_trip(smooth_data, tmp_path, mmap_mode):
    X, y = smooth_data
    model = NeurEcoRegressor(random_state=0).fit(X, y)
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    loaded = joblib.load(path, mmap_mode=mmap_mode)
    assert np.array_equal(loaded.predict(X), model.predict(X))
    w = loaded.get_weights()
    assert loaded.set_weights(w * 2.0) == 0  # still writable after memory mapping
    assert np.array_equal(loaded.get_weights(), w * 2.0)


def test_pickle_round_trip_keeps_derivatives(smooth_data):
    X, y = smooth_data
    model = NeurEcoRegressor(random_state=0).fit(X, y)
    loaded = pickle.loads(pickle.dumps(model))
    py = np.ones(len(X))
    for a, b in zip(model.gradient(None, X, py), loaded.gradient(None, X, py), strict=True):
        assert np.array_equal(a, b)


def test_fitted_state_is_plain_data(smooth_data):
    X, y = smooth_data
    model = NeurEcoRegressor(random_state=0).fit(X, y)

    def plain(value):
        if isinstance(value, np.ndarray):
            return value.dtype != object
        if isinstance(value, dict):
            return all(plain(k) and plain(v) for k, v in value.items())
        if isinstance(value, list | tuple):
            return all(plain(v) for v in value)
        return value is None or isinstance(value, bool | int | float | str)

    for name, value in vars(model).items():
        if name == "state_":  # what a pickle of the fitted state holds
            value = value.__reduce__()[1][0]
        assert plain(value), name


@pytest.mark.parametrize("estimator", [NeurEcoRegressor(), NeurEcoClassifier()])
def test_html_diagram_links_to_the_api_page(estimator):
    name = type(estimator).__name__
    html = make_pipeline(StandardScaler(), estimator)._repr_html_()
    assert f'href="../gen_modules/sklearn_neureco.{name}.html"' in html
