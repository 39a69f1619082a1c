"""Cost of the derivative API relative to predict, from 10^3 to 10^6 samples.

Run ``python benchmarks/derivatives.py [--max-rows N] [--repeat R]``. For each network it
prints the best-of-R wall time of ``predict``, ``forward_derivative`` (weights and inputs
perturbed together) and ``gradient``, their ratios to ``predict`` (targets: at most 2.5
and 3 from 10^5 rows up), and the peak memory each call allocates (numpy allocations seen
by tracemalloc), which should grow linearly with the rows. Where PyTorch or JAX is
installed, it times the same network's forward, JVP and VJP there too (CPU, float64).

OpenBLAS settings: on some machines OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set and slow
numpy; the script prints the BLAS kernel in use so runs can be compared.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from dataclasses import replace
from functools import partial

import numpy as np
from threadpoolctl import threadpool_info

from sklearn_neureco import NeurEcoRegressor
from sklearn_neureco._network import Network, dense_masks
from sklearn_neureco.datasets import load_energy_consumption


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_memory(fn) -> int:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def energy_model() -> NeurEcoRegressor:
    X, y = load_energy_consumption()
    return NeurEcoRegressor(random_state=0).fit(X, y)


def wide_model(rng) -> NeurEcoRegressor:
    """A fitted estimator given a larger random network (10-32-16-3 with direct links)."""
    X = rng.normal(size=(50, 10))
    model = NeurEcoRegressor(random_state=0).fit(X, X[:, :3])
    sizes = (10, 32, 16, 3)
    network = Network(sizes, dense_masks(sizes))
    weights = rng.normal(size=network.n_weights) / 4
    model.state_ = replace(model.state_, network=network, weights=weights)
    return model


def torch_timings(model, X, dw, dx, py, repeat):
    try:
        import torch
        from torch.func import jvp, vjp
    except ImportError:
        return None
    torch.set_num_threads(2)
    net = model.network_
    W, b = net.unpack(model.weights_)
    Wt = {k: torch.tensor(v) for k, v in W.items()}
    bt = {k: torch.tensor(v) for k, v in b.items()}
    last = net.n_layers

    def f(x):
        h = [x]
        for l in range(1, last + 1):
            z = bt[l] + sum(h[s] @ Wt[l, s].T for (tl, s) in Wt if tl == l)
            h.append(z if l == last else torch.tanh(z))
        return h[-1]

    xt, dxt, pyt = torch.tensor(X), torch.tensor(dx), torch.tensor(py.reshape(len(X), -1))
    with torch.no_grad():
        t_pred = best_time(lambda: f(xt), repeat)
        t_jvp = best_time(lambda: jvp(f, (xt,), (dxt,)), repeat)
        t_vjp = best_time(lambda: vjp(f, xt)[1](pyt), repeat)
    return t_pred, t_jvp, t_vjp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-rows", type=int, default=10**6)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    blas = [(i["internal_api"], i.get("architecture"), i["num_threads"]) for i in threadpool_info()]
    print(f"BLAS: {blas}")
    rng = np.random.default_rng(0)
    models = {"energy (fitted)": energy_model(), "wide 10-32-16-3": wide_model(rng)}
    header = (
        f"{'network':<18}{'weights':>8}{'rows':>9}{'predict s':>11}{'fwd_deriv s':>12}"
        f"{'gradient s':>11}{'fwd/pred':>9}{'grad/pred':>10}{'peak MB pred/fwd/grad':>24}"
    )
    print(header)
    print("-" * len(header))
    extra = []
    for name, model in models.items():
        n_rows = 1000
        while n_rows <= args.max_rows:
            X = rng.normal(size=(n_rows, model.n_features_in_)) * model.input_scale_
            X += model.input_shift_
            w = model.get_weights()
            dw = rng.normal(size=w.shape)
            dx = rng.normal(size=X.shape)
            py = rng.normal(size=(n_rows,) + model.predict(X[:1]).shape[1:])
            calls = {
                "pred": partial(model.predict, X),
                "fwd": partial(model.forward_derivative, w, dw, X, dx),
                "grad": partial(model.gradient, w, X, py),
            }
            times = {k: best_time(fn, args.repeat) for k, fn in calls.items()}
            mem = {k: peak_memory(fn) / 2**20 for k, fn in calls.items()}
            print(
                f"{name:<18}{model.n_weights_:>8}{n_rows:>9}{times['pred']:>11.4f}"
                f"{times['fwd']:>12.4f}{times['grad']:>11.4f}"
                f"{times['fwd'] / times['pred']:>9.2f}{times['grad'] / times['pred']:>10.2f}"
                f"{mem['pred']:>9.1f}/{mem['fwd']:.1f}/{mem['grad']:.1f}"
            )
            if n_rows == 10**5:
                t = torch_timings(model, X, dw, dx, py, args.repeat)
                if t is not None:
                    extra.append((name, n_rows, "torch", t, times))
            n_rows *= 10
    if extra:
        print("\nPyTorch on the same network (forward, JVP in inputs, VJP to inputs):")
        for name, n_rows, lib, (tp, tj, tv), ours in extra:
            print(
                f"{name:<18}{n_rows:>9} {lib}: predict {tp:.4f}s jvp {tj:.4f}s vjp {tv:.4f}s"
                f" | ours: {ours['pred']:.4f}s {ours['fwd']:.4f}s {ours['grad']:.4f}s"
            )
    else:
        print("\n(PyTorch not installed: no comparison; `pip install torch==2.13.0` adds it)")


if __name__ == "__main__":
    main()
