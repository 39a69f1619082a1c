"""Log-loss, error rate, size and build time of NeurEcoClassifier against scikit-learn's
classifiers.

Run ``python benchmarks/classification.py [--seeds 0,1,2,3] [--only wine,borehole]``.
Everything runs in one process, on the same splits:

* scikit-learn's own data sets: breast cancer, wine and digits (70 % training, stratified);
* classes cut by a smooth boundary, the surrogate-modelling case: the borehole,
  OTL-circuit and wing-weight functions of ``benchmarks/accuracy.py`` thresholded at their
  median, 1,000 training and 5,000 test points drawn uniformly in their domains, no noise.

Peers: ``LogisticRegression``, ``MLPClassifier`` with the lbfgs and adam solvers
(``max_iter=1000``), both in a ``StandardScaler`` pipeline, and
``HistGradientBoostingClassifier``. Every estimator is fitted once per ``--seeds`` value
(its ``random_state``); the issue's targets are judged on the medians: log-loss at most the
best peer's, on smooth boundaries an error rate at most half the best peer's, weights at
most a tenth of the MLP's.
"""

from __future__ import annotations

import argparse

import numpy as np
from accuracy import (
    BOREHOLE,
    OTL,
    WING,
    borehole,
    otl_circuit,
    timed_fit,
    uniform,
    wing_weight,
)
from rst_table import write_table
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_neureco import NeurEcoClassifier


def table_cases():
    cases = {}
    for name, loader in (
        ("breast cancer", load_breast_cancer),
        ("wine", load_wine),
        ("digits", load_digits),
    ):
        X, y = loader(return_X_y=True)
        X, X_test, y, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
        cases[name] = (X, y, X_test, y_test)
    return cases


def boundary_cases(n_train=1000, n_test=5000):
    rng = np.random.default_rng(0)
    cases = {}
    for name, f, bounds in (
        ("borehole > median", borehole, BOREHOLE),
        ("otl_circuit > median", otl_circuit, OTL),
        ("wing_weight > median", wing_weight, WING),
    ):
        X = uniform(rng, n_train + n_test, bounds)
        value = f(X)
        y = (value > np.median(value[:n_train])).astype(int)
        cases[name] = (X[:n_train], y[:n_train], X[n_train:], y[n_train:])
    return cases


PEERS = {
    "LogReg": lambda seed: make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)),
    "MLP-lbfgs": lambda seed: make_pipeline(
        StandardScaler(), MLPClassifier(solver="lbfgs", max_iter=1000, random_state=seed)
    ),
    "MLP-adam": lambda seed: make_pipeline(
        StandardScaler(), MLPClassifier(solver="adam", max_iter=1000, random_state=seed)
    ),
    "HistGB": lambda seed: HistGradientBoostingClassifier(random_state=seed),
}


def n_weights(model):
    if isinstance(model, NeurEcoClassifier):
        return model.n_weights_
    if isinstance(model, Pipeline) and isinstance(model[-1], MLPClassifier):
        net = model[-1]
        return sum(c.size for c in net.coefs_) + sum(b.size for b in net.intercepts_)
    return None


def run_case(name, X, y, X_test, y_test, seeds):
    makers = {"NeurEco": lambda seed: NeurEcoClassifier(random_state=seed), **PEERS}
    medians = {}
    for label, make in makers.items():
        fits = []
        for seed in seeds:
            model = make(seed)
            seconds = timed_fit(model, X, y)
            loss = log_loss(y_test, model.predict_proba(X_test), labels=np.unique(y))
            error = float(np.mean(model.predict(X_test) != y_test))
            weights = n_weights(model)
            fits.append((loss, error, seconds, np.nan if weights is None else weights))
            shown = "-" if weights is None else weights
            print(
                f"  {name:<22}{label:<11}{seed:>5}{loss:>10.4f}{error:>9.4f}{shown:>9}"
                f"{seconds:>9.2f}",
                flush=True,
            )
        loss, error, seconds, size = np.median(fits, axis=0)
        medians[label] = (loss, error, None if np.isnan(size) else float(size), seconds)
    return medians


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0", help="comma-separated random_state values")
    parser.add_argument("--only", default="", help="comma-separated beginnings of case names")
    parser.add_argument("--rst", default="", help="also write the table of medians there")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    prefixes = tuple(p for p in args.only.split(",") if p)
    print(
        f"  {'case':<22}{'model':<11}{'seed':>5}{'log-loss':>10}{'error':>9}{'weights':>9}"
        f"{'seconds':>9}"
    )
    verdicts = []
    table = []  # (case, {estimator: medians}) for --rst
    for smooth, cases in ((False, table_cases()), (True, boundary_cases())):
        for name, (X, y, X_test, y_test) in cases.items():
            if prefixes and not name.startswith(prefixes):
                continue
            medians = run_case(name, X, y, X_test, y_test, seeds)
            table.append((name, dict(medians)))
            ours = medians.pop("NeurEco")
            best_loss = min(m[0] for m in medians.values())
            best_error = min(m[1] for m in medians.values())
            mlp = medians["MLP-lbfgs"][2]
            checks = [
                (f"log-loss {ours[0]:.4f} vs best peer {best_loss:.4f}", ours[0] <= best_loss),
                (f"weights ratio to MLP {ours[2] / mlp:.3f} (target <= 0.1)", ours[2] <= 0.1 * mlp),
            ]
            if smooth:
                checks.append(
                    (
                        f"error {ours[1]:.4f} vs best peer {best_error:.4f} (target <= half)",
                        ours[1] <= 0.5 * best_error,
                    )
                )
            verdicts.append((name, checks, ours[3]))
    if args.rst:
        write_rst(args.rst, table, seeds)
    print(f"\nTargets (medians over random_state {args.seeds}):")
    for name, checks, seconds in verdicts:
        parts = [f"{text}: {'met' if ok else 'NOT MET'}" for text, ok in checks]
        print(f"  {name:<22}" + "; ".join(parts) + f"; build {seconds:.2f} s")


def write_rst(path, table, seeds) -> None:
    """The medians as a reStructuredText table (the documentation's Benchmarks page)."""
    names = list(table[0][1]) if table else []
    header = ["case", *names]
    lines = []
    for case, medians in table:
        cells = [case]
        for name in names:
            loss, error, weights, seconds = medians[name]
            size = "" if weights is None else f" / {weights:.0f} w"
            cells.append(f"{loss:.3g} / {error:.3g}{size} / {seconds:.2g} s")
        lines.append(cells)
    caption = (
        f"Medians over random_state {', '.join(map(str, seeds))}: test log-loss / error rate "
        "/ weights / build seconds."
    )
    write_table(path, caption, header, lines)


if __name__ == "__main__":
    main()
