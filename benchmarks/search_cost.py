"""What the architecture search costs next to training the network it finds.

Run ``python benchmarks/search_cost.py [--seeds 4,5] [--starts 3]``. On the smooth
functions of ``benchmarks/accuracy.py`` (1,000 training points, no noise), each seed's
build is timed; then the network it chose is trained again from random weights
(LeCun-normal links, zero biases; ``--starts`` draws) with the estimator's own training of
a fixed structure (``fit(..., init_model=, freeze_structure=True)``: the same split, beta
path, early stopping and final learning). Printed: the build's time and test RMSE, the
median time and test RMSE of the random starts, and the ratios of the medians.

This measures issue 5's aim that the search "costs little more than training the final
network" (a time ratio near 1), and what warm-starting from the smaller networks buys in
accuracy (an RMSE ratio above 1). A random start needs the architecture, which only the
search finds, so the comparison is the search's overhead, not an alternative to it.
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
from accuracy import smooth_cases

from sklearn_neureco import NeurEcoRegressor

CASES = ("friedman1", "friedman2", "friedman3", "borehole", "otl_circuit", "wing_weight")


def rmse(model, X, y) -> float:
    return float(np.sqrt(np.mean((model.predict(X) - y) ** 2)))


def random_start(model: NeurEcoRegressor, rng: np.random.Generator) -> NeurEcoRegressor:
    """A copy of ``model`` with LeCun-normal link weights and zero biases."""
    network = model.network_
    W, b = network.unpack(np.zeros(network.n_weights))
    for (layer, source), block in W.items():
        fan_in = sum(W[key].shape[1] for key in W if key[0] == layer)
        W[layer, source] = rng.normal(size=block.shape) / np.sqrt(fan_in)
    start = copy.deepcopy(model)
    start.set_weights(network.pack(W, b))
    return start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="4,5", help="random_state values of the builds")
    parser.add_argument("--starts", type=int, default=3, help="random starts per build")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    cases = smooth_cases()
    print(
        f"  {'case':<13}{'seed':>5}{'weights':>9}{'build s':>9}{'RMSE':>11}"
        f"{'random s':>10}{'RMSE':>11}{'time ratio':>12}{'RMSE ratio':>12}"
    )
    for name in CASES:
        X, y, X_test, y_test = cases[name]
        for seed in seeds:
            started = time.perf_counter()
            model = NeurEcoRegressor(random_state=seed).fit(X, y)
            build_s = time.perf_counter() - started
            build_rmse = rmse(model, X_test, y_test)
            rng = np.random.default_rng(seed)
            runs = []
            for _ in range(args.starts):
                start = random_start(model, rng)
                started = time.perf_counter()
                again = NeurEcoRegressor(random_state=seed).fit(
                    X, y, init_model=start, freeze_structure=True
                )
                runs.append((time.perf_counter() - started, rmse(again, X_test, y_test)))
            random_s, random_rmse = np.median(runs, axis=0)
            print(
                f"  {name:<13}{seed:>5}{model.n_weights_:>9}{build_s:>9.2f}{build_rmse:>11.3e}"
                f"{random_s:>10.2f}{random_rmse:>11.3e}{build_s / random_s:>12.1f}"
                f"{random_rmse / build_rmse:>12.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
