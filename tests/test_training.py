"""fit really trains: accuracy, determinism, sample weights, validation data, options."""

import re
import warnings

import numpy as np
import pytest

from sklearn_neureco import NeurEcoRegressor
from sklearn_neureco._architecture import BuildConfig, Builder, deepen
from sklearn_neureco._optimize import set_large_product_threads
from tests._helpers import smooth_function, timeless


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def test_learns_a_smooth_function_accurately(smooth_data, rng):
    X, y = smooth_data
    model = NeurEcoRegressor(random_state=0).fit(X, y)
    X_test = rng.uniform(-1, 1, size=(500, 3))
    # the target varies by about 1 (std); a linear model leaves an RMSE of ~0.3
    assert rmse(model.predict(X_test), smooth_function(X_test)) < 1e-2
    assert model.n_weights_ < 100
    assert model.layer_sizes_[0] == 3 and model.layer_sizes_[-1] == 1


@pytest.mark.parametrize("data_seed, n_builds", [(123, 10), (99, 20)])
def test_small_data_finds_the_nonlinear_model_whatever_the_seed(data_seed, n_builds):
    # 60 rows leave 20 validation values, so each weight must cut the validation error a
    # lot. On data 123, growth used to skip the candidates that do (2 of 10 seeds stayed
    # near-linear, RMSE ~0.24). On data 99, AIC asked each weight to cut the validation MSE
    # by 10 %, so a 41-weight network 4.5 times more accurate than an 11-weight one lost to
    # it (2 of 20 builds ended near-linear, RMSE ~0.2 and ~0.4)
    rng = np.random.default_rng(data_seed)
    X, X_test = rng.uniform(-1, 1, size=(60, 3)), rng.uniform(-1, 1, size=(1000, 3))
    errors = [
        rmse(
            NeurEcoRegressor(random_state=seed).fit(X, smooth_function(X)).predict(X_test),
            smooth_function(X_test),
        )
        for seed in range(n_builds)
    ]
    assert max(errors) < 2e-2, errors


def test_several_outputs(rng):
    X = rng.uniform(-1, 1, size=(300, 3))
    Y = smooth_function(X, 3)
    model = NeurEcoRegressor(random_state=0).fit(X, Y)
    X_test = rng.uniform(-1, 1, size=(300, 3))
    pred = model.predict(X_test)
    assert pred.shape == (300, 3)
    assert rmse(pred, smooth_function(X_test, 3)) < 2e-2


@pytest.mark.parametrize("data_seed", [3, 4])
def test_inputs_that_do_not_matter_are_disconnected_and_searched_without(data_seed):
    # 4 of 6 inputs are inert. Link-by-link pruning left each of them a few links (all 4
    # on data 3, one on data 4); whole-input pruning removes them, and the search runs
    # again on the 2 inputs left
    rng = np.random.default_rng(data_seed)
    X, X_test = rng.uniform(-1, 1, size=(400, 6)), rng.uniform(-1, 1, size=(2000, 6))

    def f(X):
        return np.sin(2 * X[:, 0]) * X[:, 1] + X[:, 1] ** 2

    model = NeurEcoRegressor(random_state=0).fit(X, f(X))
    np.testing.assert_array_equal(model.connected_inputs_, [1, 1, 0, 0, 0, 0])
    steps = [record["step"] for record in model.history_]
    assert steps.count("linear") == 2
    # the second search starts on the inputs the first one kept (on data 4, one inert
    # input among them, which its own pruning removes)
    second = model.history_[steps.index("linear", 1)]
    assert 2 <= second["n_connected_inputs"] <= 3
    assert rmse(model.predict(X_test), f(X_test)) < 1e-3
    # without disconnect_inputs_if_possible every input keeps a link and one search runs
    kept = NeurEcoRegressor(random_state=0, disconnect_inputs_if_possible=False).fit(X, f(X))
    assert kept.connected_inputs_.all()
    assert [record["step"] for record in kept.history_].count("linear") == 1


def test_linear_data_gives_a_linear_network(rng):
    X = rng.normal(size=(200, 4))
    y = X @ [1.0, -2.0, 0.5, 3.0] + 7.0
    model = NeurEcoRegressor(random_state=0).fit(X, y)
    assert model.layer_sizes_ == (4, 1)
    assert rmse(model.predict(X), y) < 1e-6


def test_same_seed_same_model_bit_for_bit(smooth_data):
    X, y = smooth_data
    a = NeurEcoRegressor(random_state=7).fit(X, y)
    b = NeurEcoRegressor(random_state=7).fit(X, y)
    assert a.layer_sizes_ == b.layer_sizes_
    assert np.array_equal(a.weights_, b.weights_)


def test_several_builds_keep_the_best_on_validation(rng):
    X, X_val = rng.uniform(-1, 1, size=(150, 3)), rng.uniform(-1, 1, size=(75, 3))
    y, y_val = smooth_function(X), smooth_function(X_val)

    def build(n_init):
        model = NeurEcoRegressor(random_state=3, n_init=n_init, final_learning=False)
        return model.fit(X, y, X_val=X_val, y_val=y_val)

    def criterion(model):  # the one the build compares networks by (AIC on validation)
        n = len(X_val)  # under min_priced_values: a weight costs 2 n / min_priced_values
        config = BuildConfig()
        price = config.weight_penalty * n / max(n, config.min_priced_values)
        mse = np.mean((model.predict(X_val) - y_val) ** 2)
        return n * np.log(mse) + price * model.n_weights_

    one, three = build(1), build(3)
    assert {entry["build"] for entry in three.history_} == {0, 1, 2}

    # the first build is the single build, so the best of three cannot score worse
    assert timeless(e for e in three.history_ if e["build"] == 0) == timeless(one.history_)
    assert criterion(three) <= criterion(one) + 1e-9
    assert np.array_equal(build(3).get_weights(), three.get_weights())


def test_parallel_builds_replay_what_one_after_the_other_gives(rng, tmp_path, capsys):
    # parallel builds run on one thread each: with large products on one thread here too,
    # the builds run one after the other must give the very same bits
    previous = set_large_product_threads(1)
    try:
        _compare_parallel_and_serial_builds(rng, tmp_path, capsys)
    finally:
        set_large_product_threads(previous)


def _compare_parallel_and_serial_builds(rng, tmp_path, capsys):
    X = rng.uniform(-1, 1, size=(200, 3))
    y = smooth_function(X)

    def build(n_jobs):
        path = tmp_path / f"checkpoint-{n_jobs}.nrc"
        model = NeurEcoRegressor(
            random_state=5, n_init=3, n_jobs=n_jobs, verbose=1, checkpoint_address=path
        ).fit(X, y)
        timeless_lines = re.sub(r"time=\S+|built in \S+ s", "", capsys.readouterr().err)
        lines = timeless_lines.splitlines()[1:-1]  # the candidates: not the header, the summary
        stored = [NeurEcoRegressor.load(path, model_number=k) for k in range(len(lines))]
        with pytest.raises(ValueError, match="model_number"):  # and no more
            NeurEcoRegressor.load(path, model_number=len(lines))
        return model, lines, [m.get_weights() for m in stored], NeurEcoRegressor.load(path)

    serial, serial_lines, serial_stored, serial_best = build(1)
    for n_jobs in (2, 3):
        model, lines, stored, best = build(n_jobs)
        assert np.array_equal(model.weights_, serial.weights_)
        assert timeless(model.history_) == timeless(serial.history_)
        assert [e["build"] for e in model.history_][:-1] == sorted(
            e["build"] for e in model.history_[:-1]
        )
        assert lines == serial_lines and len(lines) == len(model.history_)
        assert all(np.array_equal(a, b) for a, b in zip(stored, serial_stored, strict=True))
        assert np.array_equal(best.weights_, serial_best.weights_)


def test_parallel_builds_warn_at_the_caller():
    X = np.random.default_rng(0).uniform(-1, 1, size=(100, 3))
    model = NeurEcoRegressor(
        random_state=0, links_maximum_number=2, disconnect_inputs_if_possible=False, n_init=2
    )
    with pytest.warns(UserWarning, match="links_maximum_number=2 cannot be reached") as record:
        model.set_params(n_jobs=2).fit(X, smooth_function(X))
    assert len(record) == 2 and {r.filename for r in record} == {__file__}


def test_sample_weight_is_honoured(rng):
    X = rng.uniform(-1, 1, size=(400, 2))
    y = np.sin(2 * X[:, 0]) + X[:, 1]
    corrupted = rng.random(len(X)) < 0.3
    y_bad = np.where(corrupted, y + 3.0, y)
    weights = np.where(corrupted, 0.0, 1.0)
    model = NeurEcoRegressor(random_state=0).fit(X, y_bad, sample_weight=weights)
    unweighted = NeurEcoRegressor(random_state=0).fit(X, y_bad)
    assert rmse(model.predict(X), y) < 1e-2
    assert rmse(unweighted.predict(X), y) > 0.5


def test_explicit_validation_data(smooth_data, rng):
    X, y = smooth_data
    X_val = rng.uniform(-1, 1, size=(100, 3))
    y_val = smooth_function(X_val)
    model = NeurEcoRegressor(random_state=0, final_learning=False)
    model.fit(X, y, X_val=X_val, y_val=y_val)
    assert rmse(model.predict(X_val), y_val) < 1e-2
    # the validation error recorded for the chosen network is its error on X_val
    actual = rmse(model.predict(X_val), y_val) / model.output_scale_[0]
    assert any(np.isclose(e["valid_rmse"], actual, rtol=1e-9) for e in model.history_)
    assert model.history_[-1]["step"] != "final"
    refit = NeurEcoRegressor(random_state=0).fit(X, y, X_val=X_val, y_val=y_val)
    assert refit.history_[-1]["step"] == "final"  # final learning on training + validation


def test_history_and_verbose(smooth_data, capsys):
    X, y = smooth_data
    model = NeurEcoRegressor(random_state=0, verbose=1).fit(X, y)
    err = capsys.readouterr().err.strip().splitlines()
    # a header saying the units, a line per candidate, a summary in the targets' units
    assert len(err) == len(model.history_) + 2 and len(model.history_) >= 3
    assert "normalised units" in err[0]
    summary = f"chose {list(model.layer_sizes_)}: {model.n_weights_} weights, validation RMSE"
    assert err[-1].startswith(summary) and "in the targets' units" in err[-1]
    assert model.history_[0]["step"] == "linear" and model.history_[-1]["step"] == "final"
    for entry in model.history_:
        assert {"layer_sizes", "n_weights", "train_rmse", "valid_rmse", "seconds"} <= set(entry)
    assert NeurEcoRegressor(random_state=0).fit(X, y) is not None
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("seed", range(12))
def test_links_maximum_number_is_respected_and_used(smooth_data, seed):
    X, y = smooth_data
    model = NeurEcoRegressor(random_state=seed, links_maximum_number=20).fit(X, y)
    assert model.n_weights_ <= 20
    # grown past the limit and pruned back: stopping growth at the limit left a (3, 2, 1)
    # network of 9 weights with an RMSE of 0.17; pruning only the best-scoring network
    # over the limit broke it on seeds 4, 6 and 10 (RMSE 0.17)
    X_test = np.random.default_rng(5).uniform(-1, 1, size=(500, 3))
    assert rmse(model.predict(X_test), smooth_function(X_test)) < 2e-2
    assert model.n_weights_ > 12


def test_unreachable_links_maximum_number_warns():
    X = np.random.default_rng(0).uniform(-1, 1, size=(100, 3))
    model = NeurEcoRegressor(
        random_state=0, links_maximum_number=2, disconnect_inputs_if_possible=False
    )
    with pytest.warns(UserWarning, match="links_maximum_number=2 cannot be reached") as record:
        model.fit(X, smooth_function(X))
    assert record[0].filename == __file__  # it points at the caller's fit
    assert model.layer_sizes_ == (3, 1) and model.n_weights_ == 4  # every input kept


def test_checkpoint_best_so_far_respects_the_link_limit(tmp_path):
    from sklearn_neureco._architecture import Candidate
    from sklearn_neureco._engine import CheckpointWriter
    from sklearn_neureco._network import Network, dense_masks
    from sklearn_neureco._state import state_of

    normalisation = {
        "input_shift": np.zeros(3),
        "input_scale": np.ones(3),
        "output_shift": np.zeros(1),
        "output_scale": np.ones(1),
    }
    template = state_of(
        "NeurEcoRegressor", None, [], normalisation, beta_reg=0.0, n_features_in=3, n_outputs=1
    )
    params = NeurEcoRegressor()._file_params()
    writer = CheckpointWriter(tmp_path / "build.ednn", template, params, max_links=10)
    for sizes, valid, step in [((3, 1), 0.5, "linear"), ((3, 4, 1), 0.1, "layer1")]:
        net = Network(sizes, dense_masks(sizes))
        record = {"step": step, "valid_rmse": valid, "n_weights": net.n_weights}
        writer(Candidate(net, np.zeros(net.n_weights), 0.0, 0.0, valid**2), record)
    # the 4-neuron network validates better but has 21 weights: the linear one is the best
    # model so far, and the one a plain load of the checkpoint gives
    assert writer.best == 0
    assert NeurEcoRegressor.load(tmp_path / "build.ednn").layer_sizes_ == (3, 1)


@pytest.mark.parametrize("final_learning", [True, False])
def test_final_learning_option(smooth_data, final_learning):
    X, y = smooth_data
    model = NeurEcoRegressor(random_state=0, final_learning=final_learning).fit(X, y)
    assert (model.history_[-1]["step"] == "final") == final_learning


def test_constant_input_column_is_safe(rng):
    X = np.c_[rng.uniform(-1, 1, size=(100, 2)), np.full(100, 5.0)]
    y = X[:, 0] ** 2 + X[:, 1]
    model = NeurEcoRegressor(random_state=0).fit(X, y)
    assert np.all(np.isfinite(model.input_scale_)) and np.all(model.input_scale_ > 0)
    assert rmse(model.predict(X), y) < 1e-2
    assert np.all(np.isfinite(model.jacobian(X)))


def test_tiny_data_sets_fit(rng):
    for n in (1, 2, 3, 5):
        X = rng.normal(size=(n, 2))
        y = X[:, 0] * 2
        if n < 4:  # no validation row can be held out: it says so
            with pytest.warns(UserWarning, match="no validation rows"):
                model = NeurEcoRegressor(random_state=0).fit(X, y)
        else:
            model = NeurEcoRegressor(random_state=0).fit(X, y)
        pred = model.predict(X)
        assert pred.shape == (n,) and np.all(np.isfinite(pred))


def test_validation_split_is_spread_and_keeps_extremes():
    from sklearn_neureco._rows import split_validation

    x = np.linspace(0.0, 1.0, 300)[:, None]
    train, valid = split_validation(x, 33.33, np.random.default_rng(0))
    assert len(valid) == 100 and len(np.intersect1d(train, valid)) == 0
    assert {0, 299} <= set(train)  # the extremes stay in training
    # spread, not clumped: no two held-out points are neighbours on the line (a random
    # third of 300 points would have about 33 such pairs)
    assert np.diff(valid).min() >= 2
    rng = np.random.default_rng(1)
    X = rng.uniform(size=(2000, 2))
    _, valid = split_validation(X, 25.0, np.random.default_rng(2))
    # every quarter of the square holds about a quarter of the validation points
    quadrant = (X[valid, 0] > 0.5) * 2 + (X[valid, 1] > 0.5)
    counts = np.bincount(quadrant, minlength=4)
    assert counts.min() >= 0.9 * counts.max()
    again = split_validation(X, 25.0, np.random.default_rng(2))[1]
    assert np.array_equal(valid, again)


def test_validation_split_may_hold_out_extremes_when_asked():
    # the compressor's split: its validation error stands for fresh rows, edges included
    from sklearn_neureco._rows import split_validation

    x = np.linspace(0.0, 1.0, 300)[:, None]
    held = set()
    for seed in range(12):
        train, valid = split_validation(x, 33.33, np.random.default_rng(seed), keep_extremes=False)
        assert len(valid) == 100 and len(np.intersect1d(train, valid)) == 0
        assert np.diff(valid).min() >= 2  # spread as before
        held |= {0, 299} & set(valid)
        kept = split_validation(x, 33.33, np.random.default_rng(seed))[1]
        assert not {0, 299} & set(kept)
    assert held == {0, 299}


def test_a_build_says_when_its_model_is_not_worth_much():
    rng = np.random.default_rng(0)
    # targets the inputs do not explain: the model is a constant, and says so
    X, noise = rng.normal(size=(200, 3)), rng.normal(size=200)
    with pytest.warns(UserWarning, match="no input was kept|no better than predicting"):
        NeurEcoRegressor(random_state=0).fit(X, noise)
    # a smooth function on plenty of rows: nothing to say
    X = rng.uniform(-1, 1, size=(300, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        NeurEcoRegressor(random_state=0).fit(X, smooth_function(X))


def test_more_weights_than_training_values_warns():
    X = np.random.default_rng(1).uniform(-1, 1, size=(15, 2))
    y = smooth_function(X)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = NeurEcoRegressor(random_state=0, final_learning=False).fit(X, y)
    n_train = 15 - round(15 * 33.33 / 100)
    warned = any("training values" in str(w.message) for w in caught)
    assert warned == (model.n_weights_ > n_train)


def test_a_growing_candidate_that_cannot_pay_for_its_weights_gives_up():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(300, 3))
    y = smooth_function(X).reshape(-1, 1)
    builder = Builder(
        X,
        y,
        np.ones(300),
        np.arange(200),
        np.arange(200, 300),
        initial_beta_reg=1e-9,
        disconnect_inputs_if_possible=True,
        links_maximum_number=0,
        rng=np.random.default_rng(0),
    )
    linear = builder._fit_linear(np.ones(3, dtype=bool))
    network, w = deepen(linear.network, linear.w, 8)
    w = builder.place_neurons(network, w, 1, slice(0, 8))

    def fit(must_beat):
        cand = builder.fit_candidate(network, w, 1e-9, "layer1", init_beta=0.0, must_beat=must_beat)
        return cand, builder.history[-1]["n_iter"]

    free, free_iter = fit(None)
    sure, _ = fit(np.inf)  # a score it always beats: never gives up
    hopeless, hopeless_iter = fit(-np.inf)  # one it never beats: gives up
    np.testing.assert_array_equal(sure.w, free.w)
    assert BuildConfig().give_up_steps <= hopeless_iter < free_iter
    assert hopeless.valid_error > free.valid_error


def test_build_config_sets_every_levenberg_marquardt_stop(monkeypatch):
    # lm_window / lm_ftol reach each LM run of a build: candidates, pruning and the final
    # training; a finer rule trains longer and gives another model
    from sklearn_neureco import _optimize

    seen = []
    original = _optimize.levenberg_marquardt

    def spy(problem, w0, **kwargs):
        seen.append((kwargs.get("window"), kwargs.get("ftol")))
        return original(problem, w0, **kwargs)

    monkeypatch.setattr(_optimize, "levenberg_marquardt", spy)
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (300, 3))
    y = smooth_function(X)

    def fit(config):
        seen.clear()
        model = NeurEcoRegressor(random_state=0, build_config=config).fit(X, y)
        return model, list(seen)

    default, default_stops = fit(None)
    finer, finer_stops = fit(BuildConfig(lm_window=20, lm_ftol=1e-3))
    assert set(default_stops) == {(10, 1e-2)}
    assert set(finer_stops) == {(20, 1e-3)}
    assert default.history_[-1]["step"] == finer.history_[-1]["step"] == "final"
    n_iter = [sum(r["n_iter"] for r in m.history_) for m in (default, finer)]
    assert n_iter[1] > n_iter[0]
    assert not np.array_equal(default.predict(X), finer.predict(X))
