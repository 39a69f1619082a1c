"""Pictures of a fitted model, in scikit-learn's ``Display`` convention.

Each display computes what it shows when made (``from_estimator``) and draws with
``plot``, which imports matplotlib only then (the ``plot`` extra):

* :class:`BuildDisplay`: training and validation error against the number of weights
  for every candidate of the build, the growth and pruning paths, the chosen network;
* :class:`SensitivityDisplay`: how much each output depends on each input over a data
  set, from the exact input Jacobian;
* :class:`NetworkDisplay`: the layers, neurons and the links that survived pruning.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

_GROWTH_STEPS = ("linear", "resume", "layer1", "layer2", "layer3")


def _searches(records: list[dict]) -> list[list[dict]]:
    """A build's records split into its searches: each starts at a linear (or resumed)
    network; a build searches again on the inputs its first search kept (see
    ``_architecture.Builder.run``)."""
    searches: list[list[dict]] = []
    for record in records:
        if record["step"] in ("linear", "resume") or not searches:
            searches.append([])
        searches[-1].append(record)
    return searches


def check_matplotlib_support(caller: str) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"{caller} needs matplotlib: pip install 'sklearn-neureco[plot]'"
        ) from error


def _axes(ax):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    return ax


class BuildDisplay:
    """The build of a model: every candidate's training and validation error against its
    number of weights, the growth and pruning paths, and the chosen network.

    Make it with :meth:`from_estimator`. Errors are the build record's RMSEs
    (``history_``: normalised units, or for a classifier the square root of the
    log-loss).

    Attributes
    ----------
    records : list of dict
        The build record drawn (the estimator's ``history_``).
    chosen : dict
        The record of the chosen network (its final training, if it had one).
    ax_, figure_ : matplotlib Axes and Figure
        Where :meth:`plot` drew.
    train_points_, valid_points_ : matplotlib PathCollection
        One point per candidate.
    growth_lines_, pruning_lines_ : list of matplotlib Line2D
        One growth path per search, and the pruning path of each search (its kept
        trials). A build searches once, or twice when pruning disconnected a third of its
        inputs (the second search runs on the inputs left).
    chosen_point_ : matplotlib PathCollection
        The chosen network.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_neureco import BuildDisplay, NeurEcoRegressor
    >>> X = np.random.default_rng(0).uniform(-1, 1, (200, 2))
    >>> model = NeurEcoRegressor(random_state=0).fit(X, np.sin(3 * X[:, 0]) * X[:, 1])
    >>> display = BuildDisplay.from_estimator(model)
    >>> len(display.growth_lines_)  # one build, one search
    1
    """

    def __init__(self, records: list[dict], chosen: dict):
        self.records = records
        self.chosen = chosen

    @classmethod
    def from_estimator(cls, estimator, *, ax=None) -> BuildDisplay:
        """Draw the build of a fitted estimator of the family."""
        check_is_fitted(estimator)
        records = [dict(r) for r in estimator.history_]
        final = [r for r in records if r["step"] == "final"]
        if final:
            chosen = final[-1]
        else:  # the last record of the chosen size
            same = [r for r in records if r["n_weights"] == estimator.network_.n_weights]
            chosen = same[-1] if same else records[-1]
        return cls(records, chosen).plot(ax=ax)

    def plot(self, *, ax=None) -> BuildDisplay:
        check_matplotlib_support(f"{type(self).__name__}.plot")
        ax = _axes(ax)
        searched = [r for r in self.records if r["step"] != "final"]
        weights = np.array([r["n_weights"] for r in searched])
        self.train_points_ = ax.scatter(
            weights,
            [r["train_rmse"] for r in searched],
            marker="o",
            facecolors="none",
            edgecolors="C0",
            label="training",
        )
        self.valid_points_ = ax.scatter(
            weights,
            [r["valid_rmse"] for r in searched],
            marker="o",
            color="C1",
            label="validation",
        )
        self.growth_lines_, self.pruning_lines_ = [], []
        for build in sorted({r.get("build", 0) for r in searched}):
            for mine in _searches([r for r in searched if r.get("build", 0) == build]):
                self._plot_search(ax, mine)
        self.chosen_point_ = ax.scatter(
            [self.chosen["n_weights"]],
            [self.chosen["valid_rmse"]],
            marker="*",
            s=200,
            color="C3",
            zorder=3,
            label=f"chosen ({self.chosen['n_weights']} weights)",
        )
        ax.set(xscale="log", yscale="log", xlabel="weights", ylabel="RMSE (normalised)")
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self

    def _plot_search(self, ax, mine: list[dict]) -> None:
        """The growth path and the kept pruning trials of one search."""
        grown = [r for r in mine if r["step"] in _GROWTH_STEPS]
        kept = [r for r in mine if r["step"] == "prune" and r.get("kept")]
        (line,) = ax.plot(
            [r["n_weights"] for r in grown],
            [r["valid_rmse"] for r in grown],
            color="C1",
            alpha=0.5,
            lw=1,
            label="growth" if not self.growth_lines_ else None,
        )
        self.growth_lines_.append(line)
        if kept:
            (line,) = ax.plot(
                [r["n_weights"] for r in kept],
                [r["valid_rmse"] for r in kept],
                color="C2",
                lw=1.5,
                label="pruning" if not self.pruning_lines_ else None,
            )
            self.pruning_lines_.append(line)


class SensitivityDisplay:
    """How much each output depends on each input over a data set, from the exact input
    Jacobian.

    The sensitivity of output ``k`` to input ``j`` on row ``i`` is
    ``|d y_k / d x_j| * std(x_j) / std(y_k)``: the change of the output, in its own
    standard deviations, for a change of one standard deviation of the input (for a
    classifier, ``y`` is the class probabilities and is not divided by its spread).
    Each bar is its mean over the rows, and its whisker the 10th to 90th percentile.
    Inputs the network does not use are marked as disconnected.

    Attributes
    ----------
    sensitivity : ndarray of shape (n_outputs, n_features)
        Mean over the rows.
    spread : ndarray of shape (2, n_outputs, n_features)
        10th and 90th percentiles over the rows.
    connected : ndarray of bool, shape (n_features,)
    feature_names, output_names : list of str
    bars_ : list of matplotlib BarContainer
        One per output drawn, one bar per input.
    ax_, figure_ : matplotlib Axes and Figure

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_neureco import NeurEcoRegressor, SensitivityDisplay
    >>> X = np.random.default_rng(0).uniform(-1, 1, (200, 3))
    >>> model = NeurEcoRegressor(random_state=0).fit(X, np.sin(3 * X[:, 0]) * X[:, 1])
    >>> display = SensitivityDisplay.from_estimator(model, X)
    >>> display.sensitivity.shape  # (outputs, inputs)
    (1, 3)
    """

    def __init__(self, sensitivity, spread, connected, feature_names, output_names):
        self.sensitivity = sensitivity
        self.spread = spread
        self.connected = connected
        self.feature_names = feature_names
        self.output_names = output_names

    @classmethod
    def from_estimator(cls, estimator, X, *, outputs=None, ax=None) -> SensitivityDisplay:
        """Compute the sensitivities of a fitted estimator over ``X`` and draw them.

        ``outputs``: the indices of the outputs to draw (default: all).
        """
        check_is_fitted(estimator)
        J = estimator.jacobian(X)  # validates X
        x_std = np.asarray(X, dtype=np.float64).std(axis=0)
        classifier = hasattr(estimator, "classes_")
        if classifier:
            y_std = np.ones(J.shape[1])
            output_names = [f"P({c})" for c in estimator.classes_]
        else:
            y = np.asarray(estimator.predict(X)).reshape(J.shape[0], -1)
            y_std = y.std(axis=0)
            y_std = np.where(y_std > 0, y_std, 1.0)
            output_names = [f"output {k}" for k in range(J.shape[1])]
        S = np.abs(J) * x_std[None, None, :] / y_std[None, :, None]
        names = getattr(estimator, "feature_names_in_", None)
        feature_names = (
            [str(n) for n in names] if names is not None else [f"x{j}" for j in range(J.shape[2])]
        )
        display = cls(
            S.mean(axis=0),
            np.percentile(S, [10, 90], axis=0),
            estimator.connected_inputs_.copy(),
            feature_names,
            output_names,
        )
        return display.plot(outputs=outputs, ax=ax)

    def plot(self, *, outputs=None, ax=None) -> SensitivityDisplay:
        check_matplotlib_support(f"{type(self).__name__}.plot")
        ax = _axes(ax)
        outputs = range(self.sensitivity.shape[0]) if outputs is None else list(outputs)
        outputs = list(outputs)
        n_features = self.sensitivity.shape[1]
        height = 0.8 / len(outputs)
        positions = np.arange(n_features)
        self.bars_ = []
        for i, k in enumerate(outputs):
            mean = self.sensitivity[k]
            low, high = mean - self.spread[0, k], self.spread[1, k] - mean
            bars = ax.barh(
                positions + (i - (len(outputs) - 1) / 2) * height,
                mean,
                height=height,
                xerr=np.vstack([np.maximum(low, 0), np.maximum(high, 0)]),
                capsize=2,
                label=self.output_names[k],
            )
            self.bars_.append(bars)
        labels = [
            name if used else f"{name} (disconnected)"
            for name, used in zip(self.feature_names, self.connected, strict=True)
        ]
        ax.set_yticks(positions, labels)
        for tick, used in zip(ax.get_yticklabels(), self.connected, strict=True):
            if not used:
                tick.set_color("grey")
        ax.invert_yaxis()
        ax.set_xlabel("|dy/dx| x std(x) / std(y), mean over rows (10-90 % whiskers)")
        if len(outputs) > 1:
            ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self


class NetworkDisplay:
    """The network: its layers, neurons and the links that survived pruning.

    Layers are columns, from the inputs (left) to the outputs (right); a link is a line
    whose width grows with the weight's magnitude (blue positive, red negative); links
    that skip layers are curved. Disconnected inputs are grey.

    Attributes
    ----------
    layer_sizes : tuple of int
    links : list of tuple
        ``(source layer, source unit, target layer, target unit, weight)`` per link.
    connected : ndarray of bool, shape (n_features,)
    feature_names : list of str or None
        The inputs' names, written beside them (when the model was fitted on a frame).
    links_ : list of matplotlib artists
        One per link drawn.
    neurons_ : list of matplotlib PathCollection
        One per layer.
    ax_, figure_ : matplotlib Axes and Figure

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_neureco import NetworkDisplay, NeurEcoRegressor
    >>> X = np.random.default_rng(0).uniform(-1, 1, (200, 2))
    >>> model = NeurEcoRegressor(random_state=0).fit(X, np.sin(3 * X[:, 0]) * X[:, 1])
    >>> display = NetworkDisplay.from_estimator(model)
    >>> len(display.links_) == sum(int(m.sum()) for m in model.link_masks_.values())
    True
    """

    def __init__(self, layer_sizes, links, connected, feature_names=None):
        self.layer_sizes = tuple(layer_sizes)
        self.links = links
        self.connected = connected
        self.feature_names = feature_names

    @classmethod
    def from_estimator(cls, estimator, *, ax=None) -> NetworkDisplay:
        check_is_fitted(estimator)
        network = estimator.network_
        W, _ = network.unpack(estimator.state_.weights)
        links = []
        for l, s, mask, _, _ in network.blocks():
            for target, source in zip(*np.nonzero(mask), strict=True):
                links.append((s, int(source), l, int(target), float(W[l, s][target, source])))
        names = getattr(estimator, "feature_names_in_", None)
        names = None if names is None else [str(n) for n in names]
        return cls(network.layer_sizes, links, network.connected_inputs(), names).plot(ax=ax)

    def _position(self, layer: int, unit: int) -> tuple[float, float]:
        size = self.layer_sizes[layer]
        return float(layer), (size - 1) / 2 - unit

    def plot(self, *, ax=None) -> NetworkDisplay:
        check_matplotlib_support(f"{type(self).__name__}.plot")
        from matplotlib.patches import FancyArrowPatch

        ax = _axes(ax)
        largest = max((abs(w) for *_, w in self.links), default=1.0) or 1.0
        self.links_ = []
        for s, i, l, j, w in self.links:
            start, end = self._position(s, i), self._position(l, j)
            curve = 0.0 if l - s == 1 else 0.25
            patch = FancyArrowPatch(
                start,
                end,
                arrowstyle="-",
                connectionstyle=f"arc3,rad={curve}",
                lw=0.3 + 2.5 * abs(w) / largest,
                color="C0" if w >= 0 else "C3",
                alpha=0.6,
            )
            ax.add_patch(patch)
            self.links_.append(patch)
        self.neurons_ = []
        for layer, size in enumerate(self.layer_sizes):
            xy = np.array([self._position(layer, u) for u in range(size)])
            colors = ["k"] * size
            if layer == 0:
                colors = ["k" if used else "0.7" for used in self.connected]
            self.neurons_.append(ax.scatter(xy[:, 0], xy[:, 1], s=60, c=colors, zorder=3))
            if layer == 0 and self.feature_names is not None:
                for (x, y), name, color in zip(xy, self.feature_names, colors, strict=True):
                    ax.annotate(
                        name,
                        (x, y),
                        xytext=(-8, 0),
                        textcoords="offset points",
                        ha="right",
                        va="center",
                        color=color,
                    )
        ax.set_xticks(
            range(len(self.layer_sizes)),
            ["inputs", *[f"hidden {k}" for k in range(1, len(self.layer_sizes) - 1)], "outputs"],
        )
        ax.set_yticks([])
        ax.set_title(f"{len(self.links)} links, layers {list(self.layer_sizes)}")
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        ax.autoscale_view()
        self.ax_, self.figure_ = ax, ax.figure
        return self
