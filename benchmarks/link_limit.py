"""What growing past ``links_maximum_number`` and pruning back buys.

Run ``python benchmarks/link_limit.py [--seeds 0,1,2] [--limits 30,60,120]
[--grow-over-limit F]``. On four smooth functions of ``benchmarks/accuracy.py`` (1,000
training points, no noise), each limit is built twice per seed: as the estimator does it
(growth up to ``BuildConfig.grow_over_limit`` times the limit, then pruning down to it;
another factor with ``--grow-over-limit``), and with growth stopped at the limit
(``BuildConfig(grow_over_limit=1)``, what the build did before). Printed: the median test
RMSE over the seeds of each, their ratio, and the median number of weights.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from accuracy import smooth_cases

from sklearn_neureco import BuildConfig, NeurEcoRegressor

CASES = ("friedman1", "borehole", "otl_circuit", "wing_weight")


def fit(X, y, X_test, y_test, limit, seed, grow_over_limit):
    model = NeurEcoRegressor(
        random_state=seed,
        links_maximum_number=limit,
        build_config=BuildConfig(grow_over_limit=grow_over_limit),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a limit may be unreachable
        model.fit(X, y)
    return float(np.sqrt(np.mean((model.predict(X_test) - y_test) ** 2))), model.n_weights_


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--limits", default="30,60,120")
    parser.add_argument("--grow-over-limit", type=float, default=BuildConfig().grow_over_limit)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    limits = [int(s) for s in args.limits.split(",")]
    cases = smooth_cases()
    print(
        f"  {'case':<13}{'limit':>6}{'stop at limit':>15}{'weights':>9}"
        f"{'grow, prune':>13}{'weights':>9}{'RMSE ratio':>12}"
    )
    for limit in limits:
        for name in CASES:
            X, y, X_test, y_test = cases[name]
            runs = {
                label: [fit(X, y, X_test, y_test, limit, seed, factor) for seed in seeds]
                for label, factor in (("stop", 1.0), ("grow", args.grow_over_limit))
            }
            stop_rmse, stop_p = np.median(runs["stop"], axis=0)
            grow_rmse, grow_p = np.median(runs["grow"], axis=0)
            print(
                f"  {name:<13}{limit:>6}{stop_rmse:>15.3e}{stop_p:>9.0f}"
                f"{grow_rmse:>13.3e}{grow_p:>9.0f}{stop_rmse / grow_rmse:>12.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
