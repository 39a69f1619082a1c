"""A whole field as a regression's outputs: NeurEcoRegressor from the 3 parameters of a
heat-equation solution to its 64 values, against MLPRegressor and kriging.

Run ``python benchmarks/fields.py [--seeds 0,1] [--rows 1000] [--no-kriging]
[--plain-lbfgs] [--rst FILE]``.

The fields are ``benchmarks/compression.py``'s heat-equation solutions (a bump of height
``a`` at ``p`` after a diffusivity-time ``kt``, sampled at 64 points); the inputs are
``(a, p, kt)`` as drawn, with default parameters throughout, as a new user would. Each
random state draws its own ``--rows`` training fields and 2,000 test fields. The error is
the relative test error ``||F_hat - F||_F / ||F - mean||_F`` (the norm of
``NeurEcoCompressor``'s ``compress_tolerance``, the mean being the training fields').

Peers: ``MLPRegressor`` (lbfgs and adam, inputs and outputs standardised) and kriging
(``GaussianProcessRegressor``, anisotropic RBF and a white-noise term, one kernel for the
64 outputs). A network of this shape has over 2,000 weights, so NeurEco trains it with
L-BFGS; ``--plain-lbfgs`` adds a NeurEco row whose L-BFGS moves every weight
(``_optimize.SEPARABLE_LBFGS = False``) instead of solving the output layer exactly at
each step.
"""

from __future__ import annotations

import argparse

import numpy as np
from accuracy import kriging, mlp, n_weights, timed_fit
from compression import heat_fields, heat_parameters, relative
from rst_table import write_table

from sklearn_neureco import NeurEcoRegressor, _optimize


def fields(n, rng):
    a, p, kt = heat_parameters(n, rng)
    return np.column_stack([a, p, kt]), heat_fields(a, p, kt)


class PlainLbfgs(NeurEcoRegressor):
    """The default build, its L-BFGS moving every weight (the engine before the output
    layer was solved at each step)."""

    def fit(self, X, y, **kwargs):
        saved, _optimize.SEPARABLE_LBFGS = _optimize.SEPARABLE_LBFGS, False
        try:
            return super().fit(X, y, **kwargs)
        finally:
            _optimize.SEPARABLE_LBFGS = saved


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--rows", type=int, default=1000, help="training fields")
    parser.add_argument("--no-kriging", action="store_true")
    parser.add_argument("--plain-lbfgs", action="store_true", help="add the plain L-BFGS row")
    parser.add_argument("--rst", default="", help="also write the table of medians there")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    makers = {"NeurEco": lambda seed: NeurEcoRegressor(random_state=seed)}
    if args.plain_lbfgs:
        makers["NeurEco, plain L-BFGS"] = lambda seed: PlainLbfgs(random_state=seed)
    makers["MLP-lbfgs"] = lambda seed: mlp("lbfgs", seed)
    makers["MLP-adam"] = lambda seed: mlp("adam", seed)
    if not args.no_kriging:
        makers["Kriging"] = lambda seed: kriging(3, seed)
    results = {label: [] for label in makers}
    print(f"  {'model':<24}{'seed':>5}{'test error':>12}{'weights':>9}{'seconds':>9}")
    for seed in seeds:
        rng = np.random.default_rng(seed)
        X, F = fields(args.rows, rng)
        X_test, F_test = fields(2000, rng)
        for label, make in makers.items():
            model = make(seed)
            seconds = timed_fit(model, X, F)
            error = relative(model.predict(X_test), F_test, F)
            weights = n_weights(model)
            results[label].append((error, weights, seconds))
            shown = "-" if weights is None else weights
            print(f"  {label:<24}{seed:>5}{error:>12.4f}{shown:>9}{seconds:>9.1f}", flush=True)
    header = ["model", "test error: median (worst)", "weights", "seconds"]
    rows = []
    for label, runs in results.items():
        errors, weights, seconds = zip(*runs, strict=True)
        shown = "-" if weights[0] is None else f"{np.median(weights):.0f}"
        error = f"{np.median(errors):.4f} ({max(errors):.4f})"
        rows.append([label, error, shown, f"{np.median(seconds):.1f}"])
    print(f"\nMedians over random states {seeds}, {args.rows} training fields:")
    for row in rows:
        print("  " + " | ".join(row))
    if args.rst:
        caption = (
            f"Heat-equation fields (64 values from 3 parameters), {args.rows} training "
            f"fields, random states {args.seeds}"
        )
        write_table(args.rst, caption, header, rows)


if __name__ == "__main__":
    main()
