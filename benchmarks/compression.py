"""NeurEcoCompressor against PCA, KernelPCA and an MLP autoencoder.

Run ``python benchmarks/compression.py [--seeds 0,1] [--only front,heat] [--n-init 1]
[--ratio 1] [--needed] [--rst FILE]`` (``--ratio``: ``compress_decompress_size_ratio``).

Data (training and test sets drawn independently, ``--seeds`` the estimators' and the
draws' random states):

* scikit-learn's swiss roll and S-curve (3 columns on 2-D manifolds), 1,000 rows;
* a travelling front ``tanh((x - c) / w)`` sampled at 64 points of ``x`` in [0, 1],
  driven by its position ``c`` and width ``w`` (2 parameters), 1,000 snapshots;
* a heat-equation solution on [0, 1] with fixed ends, sampled at 64 points, from a bump
  of height ``a`` at position ``p``, after a diffusivity-time ``kt`` (3 parameters), 1,000
  snapshots;
* scikit-learn's digits (64 columns, real data), 1,200 training and 597 test rows.

The error is the relative reconstruction error on the test rows,
``||X - X_hat||_F / ||X - mean||_F`` (the compressor's ``compress_tolerance`` norm).
For each case: the coefficients NeurEco chose for its tolerance and its test error; the
coefficients PCA needs to reach that tolerance on the test rows; and, at NeurEco's number
of coefficients, the test errors of PCA, ``KernelPCA(kernel="rbf",
fit_inverse_transform=True)`` and ``MLPRegressor`` trained as an autoencoder with a
bottleneck of that width (hidden layers (32, k, 32), tanh, lbfgs). With ``--needed``, also
the coefficients KernelPCA and the MLP autoencoder need to reach the tolerance on the
test rows, the fewest of NeurEco's ``k``, ``2k``, ``4k``, ... and the data's number of
columns ``d`` (``>d``: none of them). Medians over seeds.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from rst_table import write_table
from sklearn.datasets import load_digits, make_s_curve, make_swiss_roll
from sklearn.decomposition import PCA, KernelPCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_neureco import NeurEcoCompressor

GRID = np.linspace(0.0, 1.0, 64)


def front(n, rng):
    c, w = rng.uniform(0.2, 0.8, n), rng.uniform(0.03, 0.1, n)
    return np.tanh((GRID[None, :] - c[:, None]) / w[:, None])


def heat(n, rng):
    """u(x, t) on [0, 1] with u = 0 at both ends, from a bump of height a at p: its sine
    modes decay as exp(-(k pi)^2 kt). Parameters: a, p and the diffusivity-time kt."""
    return heat_fields(*heat_parameters(n, rng))


def heat_parameters(n, rng):
    """``(a, p, kt)`` of ``n`` heat-equation solutions (:func:`heat`)."""
    return rng.uniform(0.5, 1.5, n), rng.uniform(0.3, 0.7, n), rng.uniform(0.0005, 0.01, n)


def heat_fields(a, p, kt):
    """The 64 values on ``GRID`` of the heat-equation solutions of parameters ``a``,
    ``p``, ``kt`` (:func:`heat`)."""
    fine = np.linspace(0.0, 1.0, 401)
    k = np.arange(1, 41)
    sines = np.sin(np.pi * np.outer(k, fine))  # (modes, fine points)
    bumps = np.exp(-(((fine[None, :] - p[:, None]) / 0.05) ** 2))
    coefficients = 2 * np.trapezoid(bumps[:, None, :] * sines[None], fine, axis=2)
    decay = np.exp(-((k * np.pi) ** 2)[None, :] * kt[:, None])
    return a[:, None] * (coefficients * decay) @ np.sin(np.pi * np.outer(k, GRID))


def cases(seed):
    """name -> (X_train, X_test, tolerance)."""
    rng = np.random.default_rng(seed)
    out = {
        "swiss roll": (
            make_swiss_roll(1000, random_state=seed)[0],
            make_swiss_roll(1000, random_state=seed + 100)[0],
            0.01,
        ),
        "S-curve": (
            make_s_curve(1000, random_state=seed)[0],
            make_s_curve(1000, random_state=seed + 100)[0],
            0.01,
        ),
        "front (2 params)": (front(1000, rng), front(1000, rng), 0.01),
        "heat (3 params)": (heat(1000, rng), heat(1000, rng), 0.01),
    }
    X = load_digits().data
    order = rng.permutation(len(X))
    out["digits"] = (X[order[:1200]], X[order[1200:]], 0.3)
    return out


def relative(recon, X, reference):
    return float(np.linalg.norm(recon - X) / np.linalg.norm(X - reference.mean(axis=0)))


def pca_needed(X, X_test, tolerance):
    pca = PCA().fit(X)
    coefficients = pca.transform(X_test)
    for k in range(1, X.shape[1] + 1):
        recon = coefficients[:, :k] @ pca.components_[:k] + pca.mean_
        if relative(recon, X_test, X) <= tolerance:
            return k
    return X.shape[1]


def kernel_pca_error(X, X_test, k, seed):
    scaler = StandardScaler().fit(X)
    Z, Z_test = scaler.transform(X), scaler.transform(X_test)
    kpca = KernelPCA(k, kernel="rbf", fit_inverse_transform=True, random_state=seed).fit(Z)
    recon = scaler.inverse_transform(kpca.inverse_transform(kpca.transform(Z_test)))
    return relative(recon, X_test, X)


def autoencoder_error(X, X_test, k, seed):
    scaler = StandardScaler().fit(X)
    mlp = MLPRegressor(
        hidden_layer_sizes=(32, k, 32),
        activation="tanh",
        solver="lbfgs",
        max_iter=2000,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        auto = make_pipeline(StandardScaler(), mlp).fit(X, scaler.transform(X))
    return relative(scaler.inverse_transform(auto.predict(X_test)), X_test, X)


def needed(error, X, X_test, tolerance, k, seed) -> str:
    """The fewest of ``k, 2k, 4k, ...`` and ``d`` coefficients with which ``error`` meets
    ``tolerance`` on the test rows, or ``">d"``."""
    d = X.shape[1]
    ladder = sorted({min(k * 2**i, d) for i in range(d.bit_length() + 1)})
    for size in ladder:
        if error(X, X_test, size, seed) <= tolerance:
            return str(size)
    return f">{d}"


def run(name, X, X_test, tolerance, seed, n_init=1, ratio=1.0, peers_needed=False):
    row = {}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = NeurEcoCompressor(
            random_state=seed,
            compress_tolerance=tolerance,
            n_init=n_init,
            compress_decompress_size_ratio=ratio,
        )
        model.fit(X)
    row["seconds"] = time.perf_counter() - start
    k = model.n_components_
    row["k"] = k
    row["NeurEco"] = relative(model.inverse_transform(model.transform(X_test)), X_test, X)
    row["weights"] = model.encoder_.n_weights_ + model.decoder_.n_weights_
    row["PCA k"] = pca_needed(X, X_test, tolerance)
    pca = PCA(k).fit(X)
    row["PCA"] = relative(pca.inverse_transform(pca.transform(X_test)), X_test, X)
    row["KernelPCA"] = kernel_pca_error(X, X_test, k, seed)
    row["MLP autoencoder"] = autoencoder_error(X, X_test, k, seed)
    peers = ""
    if peers_needed:
        row["KernelPCA k"] = needed(kernel_pca_error, X, X_test, tolerance, k, seed)
        row["MLP k"] = needed(autoencoder_error, X, X_test, tolerance, k, seed)
        peers = f"; KernelPCA needs {row['KernelPCA k']}, MLP {row['MLP k']}"
    print(
        f"  {name:<18}{seed:>5}  k={k:<3} NeurEco {row['NeurEco']:.4f} ({row['weights']} w, "
        f"{row['seconds']:.1f} s)  PCA needs {row['PCA k']}; at k: PCA {row['PCA']:.4f} "
        f"KernelPCA {row['KernelPCA']:.4f} MLP {row['MLP autoencoder']:.4f}{peers}",
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--only", default="", help="comma-separated beginnings of names")
    parser.add_argument("--rst", default="", help="also write the table of medians there")
    parser.add_argument("--n-init", type=int, default=1, help="NeurEcoCompressor's n_init")
    parser.add_argument(
        "--ratio", type=float, default=1.0, help="compress_decompress_size_ratio (decoder/encoder)"
    )
    parser.add_argument(
        "--needed",
        action="store_true",
        help="also the coefficients KernelPCA and the MLP autoencoder need for the tolerance",
    )
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    prefixes = tuple(p for p in args.only.split(",") if p)
    results: dict[str, list[dict]] = {}
    for seed in seeds:
        for name, (X, X_test, tolerance) in cases(seed).items():
            if prefixes and not name.startswith(prefixes):
                continue
            row = run(name, X, X_test, tolerance, seed, args.n_init, args.ratio, args.needed)
            results.setdefault(name, []).append(row)
    header = [
        "case",
        "tolerance",
        "NeurEco k / test error / weights / s",
        "PCA k for it",
        "PCA at k",
        "KernelPCA at k",
        "MLP autoencoder at k",
    ] + (["KernelPCA k for it", "MLP k for it"] if args.needed else [])
    lines = []
    tolerances = {name: t for name, (_, _, t) in cases(seeds[0]).items()}
    for name, rows in results.items():

        def med(key, rows=rows):
            return float(np.median([r[key] for r in rows]))

        ks = "/".join(str(r["k"]) for r in rows)
        lines.append(
            [
                name,
                f"{tolerances[name]:g}",
                f"{ks} / {med('NeurEco'):.4f} / {med('weights'):.0f} / {med('seconds'):.1f}",
                "/".join(str(r["PCA k"]) for r in rows),
                f"{med('PCA'):.4f}",
                f"{med('KernelPCA'):.4f}",
                f"{med('MLP autoencoder'):.4f}",
            ]
            + (
                ["/".join(r[key] for r in rows) for key in ("KernelPCA k", "MLP k")]
                if args.needed
                else []
            )
        )
    print(
        f"\nMedians over random states {seeds} (k per seed), n_init={args.n_init}, "
        f"compress_decompress_size_ratio={args.ratio:g}:"
    )
    for line in [header, *lines]:
        print("  " + " | ".join(line))
    if args.rst:
        caption = (
            f"Medians over random states {', '.join(map(str, seeds))} (``k`` per state), "
            f"NeurEco with ``n_init={args.n_init}``"
            + ("" if args.ratio == 1 else f", ``compress_decompress_size_ratio={args.ratio:g}``")
            + "; relative test reconstruction errors."
        )
        write_table(args.rst, caption, header, lines)


if __name__ == "__main__":
    main()
