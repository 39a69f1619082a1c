"""Build time, peak memory and accuracy of NeurEcoRegressor as the rows grow (10^3 to 10^6).

Run ``python benchmarks/scaling.py [--rows 1000,10000,100000,1000000] [--seeds 0,1]
[--peers mlp,hgb] [--rst table.rst] [--plot figure.png]``.

The borehole function (8 inputs, no noise) with default parameters, as a new user would
build it; test error on 20,000 fresh points as nRMSE (RMSE / standard deviation of the
test targets). Each fit runs in its own fresh process, so that its peak resident memory
(data included) is its own. Peers: ``MLPRegressor`` (adam, early stopping) in a
``StandardScaler`` pipeline with standardised targets, and
``HistGradientBoostingRegressor``. The last lines give the growth rate of NeurEco's build
time: the slope of log(time) against log(rows) between consecutive sizes.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import time

import numpy as np
from accuracy import BOREHOLE, borehole, uniform
from fresh_process import in_fresh_process
from rst_table import write_table


def make(name: str, seed: int):
    if name == "NeurEco":
        from sklearn_neureco import NeurEcoRegressor

        return NeurEcoRegressor(random_state=seed)
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "MLP-adam":
        from sklearn.neural_network import MLPRegressor

        mlp = MLPRegressor(early_stopping=True, max_iter=1000, random_state=seed)
        return TransformedTargetRegressor(
            make_pipeline(StandardScaler(), mlp), transformer=StandardScaler()
        )
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(random_state=seed)


def one_fit(name: str, n_rows: int, seed: int, queue) -> None:
    """In a fresh process: draw the data, fit, and report (nRMSE, seconds, peak MiB, size)."""
    rng = np.random.default_rng(1000 + seed)
    X = uniform(rng, n_rows, BOREHOLE)
    y = borehole(X)
    X_test = uniform(rng, 20000, BOREHOLE)
    y_test = borehole(X_test)
    model = make(name, seed)
    start = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - start
    nrmse = float(np.sqrt(np.mean((model.predict(X_test) - y_test) ** 2)) / y_test.std())
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = str(model.layer_sizes_) if name == "NeurEco" else ""
    queue.put((nrmse, seconds, peak_mib, size))


def measure(name: str, n_rows: int, seed: int):
    return in_fresh_process(one_fit, name, n_rows, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000,10000,100000,1000000")
    parser.add_argument("--seeds", default="0,1", help="comma-separated random states")
    parser.add_argument("--peers", default="mlp,hgb", help="mlp, hgb, or none")
    parser.add_argument("--rst", default="", help="also write the table there (reST)")
    parser.add_argument("--plot", default="", help="also draw time and error against rows")
    args = parser.parse_args()
    rows = [int(r) for r in args.rows.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    names = ["NeurEco"]
    names += [n for key, n in (("mlp", "MLP-adam"), ("hgb", "HistGB")) if key in args.peers]
    print(f"borehole, seeds {seeds}: nRMSE / seconds / peak MiB (medians over seeds)")
    print(f"{'rows':>8} | " + " | ".join(f"{n:^30}" for n in names) + " | NeurEco networks")
    times = {}
    medians = {name: [] for name in names}  # per rows: (nRMSE, seconds, MiB)
    cells_by_rows = []
    for n_rows in rows:
        cells, sizes = [], []
        for name in names:
            runs = [measure(name, n_rows, seed) for seed in seeds]
            nrmse, seconds, peak = (float(np.median([r[i] for r in runs])) for i in range(3))
            medians[name].append((nrmse, seconds, peak))
            spread = f"{min(r[0] for r in runs):.1e}-{max(r[0] for r in runs):.1e}"
            cells.append(f"{nrmse:.2e} ({spread}) / {seconds:6.1f} / {peak:5.0f}")
            if name == "NeurEco":
                times[n_rows] = seconds
                sizes = [r[3] for r in runs]
        print(f"{n_rows:>8} | " + " | ".join(f"{c:^30}" for c in cells) + " | " + " ".join(sizes))
        cells_by_rows.append((n_rows, sizes))
    if args.rst:
        write_rst(args.rst, names, medians, cells_by_rows, seeds)
    if args.plot:
        draw(args.plot, names, medians, rows)
    print("NeurEco build time growth, d log(time) / d log(rows):")
    for a, b in itertools.pairwise(rows):
        slope = np.log(times[b] / times[a]) / np.log(b / a)
        print(f"  {a} -> {b} rows: {slope:.2f}")


def write_rst(path, names, medians, cells_by_rows, seeds) -> None:
    header = ["rows", *[f"{n}: nRMSE / s / MiB" for n in names], "NeurEco networks"]
    lines = []
    for k, (n_rows, sizes) in enumerate(cells_by_rows):
        cells = [f"{n_rows:,}"]
        for name in names:
            nrmse, seconds, peak = medians[name][k]
            cells.append(f"{nrmse:.2e} / {seconds:.2g} / {peak:.0f}")
        cells.append(", ".join(sizes))
        lines.append(cells)
    caption = (
        f"Borehole, medians over random_state {', '.join(map(str, seeds))}: test nRMSE / "
        "build seconds / peak MiB of the process."
    )
    write_table(path, caption, header, lines)


def draw(path, names, medians, rows) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
    for name in names:
        nrmse, seconds, _ = zip(*medians[name], strict=True)
        ax1.loglog(rows, seconds, "o-", label=name)
        ax2.loglog(rows, nrmse, "o-", label=name)
    ax1.set(xlabel="rows", ylabel="build seconds")
    ax2.set(xlabel="rows", ylabel="test nRMSE")
    ax1.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)


if __name__ == "__main__":
    main()
