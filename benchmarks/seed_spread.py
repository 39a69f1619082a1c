"""How much a default build depends on its seed (issue 17).

Run ``python benchmarks/seed_spread.py [--seeds 0-7] [--rows 1500] [--n-init 1]
[--n-jobs 1] [--config name=value,...] [--rst FILE]``. Friedman #1 without noise (10
inputs, 5 of them inert), ``--rows`` training points and 5,000 test points, as a new user
would try it: ``NeurEcoRegressor`` with default parameters (or ``--config``'s
:class:`~sklearn_neureco.BuildConfig` constants) and each random state of ``--seeds``.
Printed per seed: test RMSE, weights, inputs kept and build seconds; then the smallest,
median and largest RMSE and time, and the spread (largest over smallest). Kriging
(``accuracy.kriging``, deterministic) is fitted once on the same rows, as the bar.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from accuracy import kriging
from build_settings import add_config_argument, describe
from rst_table import write_table
from sklearn.datasets import make_friedman1
from sklearn.exceptions import ConvergenceWarning

from sklearn_neureco import NeurEcoRegressor


def seed_list(text: str) -> list[int]:
    """``"0-7"`` or ``"0,3,5"`` as a list of ints."""
    if "-" in text:
        first, last = (int(part) for part in text.split("-"))
        return list(range(first, last + 1))
    return [int(part) for part in text.split(",")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-7", help='random states, "0-7" or "0,3,5"')
    parser.add_argument("--rows", type=int, default=1500, help="training rows")
    parser.add_argument("--n-init", type=int, default=1)
    parser.add_argument("--n-jobs", type=int, default=1, help="processes for the n_init builds")
    add_config_argument(parser)
    parser.add_argument("--rst", help="also write the summary as an RST table to this file")
    args = parser.parse_args()
    X, y = make_friedman1(args.rows + 5000, noise=0.0, random_state=0)
    X, y, X_test, y_test = X[: args.rows], y[: args.rows], X[args.rows :], y[args.rows :]

    def rmse(model):
        return float(np.sqrt(np.mean((model.predict(X_test) - y_test) ** 2)))

    print(
        f"Friedman #1, {args.rows} training rows, no noise; "
        f"n_init={args.n_init}, n_jobs={args.n_jobs}"
        + ("" if args.config is None else f"; {describe(args.config)}")
    )
    print(f"{'seed':>5}{'test RMSE':>12}{'weights':>9}{'inputs':>8}{'seconds':>9}")
    errors, times = [], []
    for seed in seed_list(args.seeds):
        start = time.perf_counter()
        model = NeurEcoRegressor(
            n_init=args.n_init, n_jobs=args.n_jobs, random_state=seed, build_config=args.config
        )
        model.fit(X, y)
        times.append(time.perf_counter() - start)
        errors.append(rmse(model))
        inputs = int(model.connected_inputs_.sum())
        print(f"{seed:>5}{errors[-1]:>12.3e}{model.n_weights_:>9}{inputs:>8}{times[-1]:>9.2f}")
    start = time.perf_counter()
    with warnings.catch_warnings():  # length scales of the inert inputs at their bound
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp = kriging(X.shape[1], 0).fit(X, y)
    gp_rmse, gp_time = rmse(gp), time.perf_counter() - start
    label = (
        "NeurEco" if args.n_init == 1 else f"NeurEco, n_init={args.n_init}, n_jobs={args.n_jobs}"
    )
    if args.config is not None:  # so that a table written with --rst says what it built
        label += f" with {describe(args.config)}"
    rows = [
        [
            label,
            f"{min(errors):.2e} / {np.median(errors):.2e} / {max(errors):.2e}",
            f"{max(errors) / min(errors):.1f}",
            f"{min(times):.1f} / {np.median(times):.1f} / {max(times):.1f}",
        ],
        ["Kriging", f"{gp_rmse:.2e}", "", f"{gp_time:.1f}"],
    ]
    header = [
        "model",
        "test RMSE: least / median / most",
        "spread",
        "seconds: least / median / most",
    ]
    print()
    first = max(28, len(label) + 2)
    for row in [header, *rows]:
        print(f"{row[0]:<{first}}{row[1]:<36}{row[2]:<8}{row[3]}")
    print(f"median RMSE / kriging's: {np.median(errors) / gp_rmse:.2f}")
    if args.rst:
        title = f"Friedman #1, {args.rows} noise-free training rows, random states {args.seeds}"
        write_table(args.rst, title, header, rows)


if __name__ == "__main__":
    main()
