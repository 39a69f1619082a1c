"""The displays draw what the model holds: points, paths, bars and links counted."""

import numpy as np
import pytest

from sklearn_neureco import (
    BuildDisplay,
    NetworkDisplay,
    NeurEcoClassifier,
    NeurEcoRegressor,
    SensitivityDisplay,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(200, 4))
    y = np.c_[np.sin(2 * X[:, 0]) * X[:, 1], X[:, 1] ** 2]  # inputs 2 and 3 do not matter
    return NeurEcoRegressor(random_state=0, n_init=2).fit(X, y), X


def test_build_display_shows_every_candidate_and_the_paths(model):
    model, _ = model
    display = BuildDisplay.from_estimator(model)
    searched = [r for r in model.history_ if r["step"] != "final"]
    assert len(display.train_points_.get_offsets()) == len(searched)
    assert len(display.valid_points_.get_offsets()) == len(searched)
    np.testing.assert_array_equal(
        display.valid_points_.get_offsets()[:, 1], [r["valid_rmse"] for r in searched]
    )
    # n_init=2: one growth path per search, each build searching once or twice
    searches = [r["build"] for r in model.history_ if r["step"] == "linear"]
    assert set(searches) == {0, 1}
    assert len(display.growth_lines_) == len(searches)
    kept = [r for r in searched if r["step"] == "prune" and r.get("kept")]
    assert sum(len(line.get_xdata()) for line in display.pruning_lines_) == len(kept)
    (chosen,) = display.chosen_point_.get_offsets()
    assert chosen[0] == model.n_weights_
    assert display.ax_.get_xscale() == "log"


def test_build_display_draws_each_search_of_a_build_apart():
    # 2 of 6 inputs matter: the build searches again on them, and the second growth
    # path starts at its own linear network, not at the end of the first
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, size=(400, 6))
    model = NeurEcoRegressor(random_state=0).fit(X, np.sin(2 * X[:, 0]) * X[:, 1] + X[:, 1] ** 2)
    display = BuildDisplay.from_estimator(model)
    linear = [r for r in model.history_ if r["step"] == "linear"]
    assert len(display.growth_lines_) == len(linear) == 2
    for line, start in zip(display.growth_lines_, linear, strict=True):
        assert line.get_xdata()[0] == start["n_weights"]
        assert line.get_ydata()[0] == start["valid_rmse"]


def test_sensitivity_display_follows_the_jacobian(model):
    model, X = model
    display = SensitivityDisplay.from_estimator(model, X)
    assert len(display.bars_) == 2 and all(len(b.patches) == 4 for b in display.bars_)
    # output 0 = sin(2 x0) x1: it does not depend on inputs 2, 3; output 1 only on x1
    assert np.all(display.sensitivity[:, ~model.connected_inputs_] == 0)
    assert display.sensitivity[0, 0] > 0.1 and display.sensitivity[1, 1] > 0.5
    assert display.sensitivity[1, 0] < 0.05 * display.sensitivity[1, 1]
    widths = [p.get_width() for p in display.bars_[0].patches]
    np.testing.assert_allclose(widths, display.sensitivity[0])
    labels = [t.get_text() for t in display.ax_.get_yticklabels()]
    assert sum("disconnected" in t for t in labels) == (~model.connected_inputs_).sum()
    one = SensitivityDisplay.from_estimator(model, X, outputs=[1])
    assert len(one.bars_) == 1


def test_sensitivity_of_a_classifier_uses_its_probabilities():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(300, 3))
    y = np.where(X[:, 0] + X[:, 1] ** 2 > 0.3, "a", "b")
    model = NeurEcoClassifier(random_state=0).fit(X, y)
    display = SensitivityDisplay.from_estimator(model, X)
    assert display.output_names == ["P(a)", "P(b)"]
    np.testing.assert_allclose(display.sensitivity[0], display.sensitivity[1])


def test_network_display_draws_the_surviving_links(model):
    model, _ = model
    display = NetworkDisplay.from_estimator(model)
    n_links = sum(int(mask.sum()) for mask in model.link_masks_.values())
    assert len(display.links_) == len(display.links) == n_links
    assert [len(n.get_offsets()) for n in display.neurons_] == list(model.layer_sizes_)
    assert str(n_links) in display.ax_.get_title()
    grey = display.neurons_[0].get_facecolors()[~model.connected_inputs_]
    assert np.allclose(grey[:, :3], 0.7)


def test_displays_draw_on_given_axes(model):
    model, X = model
    fig, axes = plt.subplots(1, 3)
    for display, ax in zip(
        [
            BuildDisplay.from_estimator(model, ax=axes[0]),
            SensitivityDisplay.from_estimator(model, X, ax=axes[1]),
            NetworkDisplay.from_estimator(model, ax=axes[2]),
        ],
        axes,
        strict=True,
    ):
        assert display.ax_ is ax and display.figure_ is fig


def test_unfitted_model_is_refused():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        BuildDisplay.from_estimator(NeurEcoRegressor())
