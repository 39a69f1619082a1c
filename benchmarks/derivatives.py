"""Cost of the derivative API, from one row to 10^6, against the same network in JAX and
PyTorch.

Run ``python benchmarks/derivatives.py [--max-rows N] [--repeat R] [--threads T] [--rst
FILE] [--block-bytes B]``. For each network it prints the best-of-R wall time of
``predict``, ``forward_derivative`` (weights and inputs perturbed together) and
``gradient``, their ratios to ``predict`` (targets: at most 2.5 and 3 from 10^5 rows up),
and the peak memory each call allocates (numpy allocations seen by tracemalloc), which
should grow linearly with the rows. Where JAX or PyTorch is installed, a second table
(``--rst`` writes it for the documentation) times the same fitted network, normalisation
included, written with ``jax.jit`` and with ``torch.func`` (CPU, float64, on the same
``--threads`` cores), one row (the best of ``--repeat`` runs of ``--one-row-calls``
calls) and 10^3 rows up; the ratios are theirs over ours. Targets (issue 17): within 1.5
times ``jax.jit`` at 10^5 rows, faster than ``torch.func`` at every size, and a one-row
call under 50 us.

OpenBLAS settings: on some machines OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set and slow
numpy; the script prints the BLAS kernel in use so runs can be compared.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
from dataclasses import replace
from functools import partial

import numpy as np
from rst_table import write_table
from threadpoolctl import threadpool_info, threadpool_limits

from sklearn_neureco import NeurEcoRegressor, _network
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


def _reference_pieces(model):
    """What a hand-written copy of the fitted model needs: per layer, its incoming blocks
    ``(source, offset, size, mask shape, active flat indices)`` and bias offset, and the
    normalisation constants."""
    net = model.network_
    layers = [
        (
            layer.index,
            [(b.source, b.offset, b.index.size, b.mask.shape, b.index) for b in layer.blocks],
            layer.bias_offset,
            layer.size,
        )
        for layer in net.layers
    ]
    state = model.state_
    return layers, (state.input_shift, state.input_scale, state.output_shift, state.output_scale)


def jax_calls(model):
    """``predict``, ``forward_derivative`` and ``gradient`` of the fitted model written in
    JAX (flat weights in and out, raw inputs and outputs, normalisation included), each
    ``jax.jit``-compiled, and the function that turns a numpy array into the
    library's own; None without JAX."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    layers, (in_shift, in_scale, out_shift, out_scale) = _reference_pieces(model)
    last = layers[-1][0]

    def f(w, x):
        h = [(x - in_shift) / in_scale]
        for l, blocks, bias, size in layers:
            z = w[bias : bias + size]
            for s, off, k, shape, index in blocks:
                dense = jnp.zeros(shape[0] * shape[1]).at[index].set(w[off : off + k])
                z = z + h[s] @ dense.reshape(shape).T
            h.append(z if l == last else jnp.tanh(z))
        return h[-1] * out_scale + out_shift

    predict = jax.jit(f)
    forward = jax.jit(lambda w, dw, x, dx: jax.jvp(f, (w, x), (dw, dx))[1])

    @jax.jit
    def gradient(w, x, py):
        _, pull = jax.vjp(f, w, x)
        return pull(py)

    def block(fn):  # jax dispatches asynchronously: time until the result exists
        return lambda *args: jax.block_until_ready(fn(*args))

    calls = {"pred": block(predict), "fwd": block(forward), "grad": block(gradient)}
    return calls, jnp.asarray


def torch_calls(model):
    """The same with ``torch.func`` (not compiled); None without PyTorch."""
    try:
        import torch
        from torch.func import jvp, vjp
    except ImportError:
        return None
    layers, constants = _reference_pieces(model)
    in_shift, in_scale, out_shift, out_scale = (torch.tensor(c) for c in constants)
    last = layers[-1][0]
    layers = [
        (l, [(s, off, k, shape, torch.tensor(index)) for s, off, k, shape, index in blocks], b, n)
        for l, blocks, b, n in layers
    ]

    def f(w, x):
        h = [(x - in_shift) / in_scale]
        for l, blocks, bias, size in layers:
            z = w[bias : bias + size]
            for s, off, k, shape, index in blocks:
                dense = torch.zeros(shape[0] * shape[1], dtype=w.dtype)
                dense = dense.index_put((index,), w[off : off + k])
                z = z + h[s] @ dense.reshape(shape).T
            h.append(z if l == last else torch.tanh(z))
        return h[-1] * out_scale + out_shift

    def predict(w, x):
        with torch.no_grad():
            return f(w, x)

    def forward(w, dw, x, dx):
        return jvp(f, (w, x), (dw, dx))[1]

    def gradient(w, x, py):
        return vjp(f, w, x)[1](py)

    return {"pred": predict, "fwd": forward, "grad": gradient}, torch.from_numpy


def one_row_time(fn, calls: int, repeat: int) -> float:
    """Seconds per call: the best of ``repeat`` runs of ``calls`` calls each (after a
    warm-up call); on a shared machine the slow runs are other programs' doing."""
    fn()
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return float(best)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-rows", type=int, default=10**6)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one-row-calls", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1, help="cores for every library")
    parser.add_argument("--rst", help="also write the peer table here (reStructuredText)")
    parser.add_argument(
        "--block-bytes",
        type=int,
        help="our row blocks' activation budget (default: the library's BLOCK_BYTES); "
        "a large value gives 4,096-row blocks whatever the network",
    )
    args = parser.parse_args()
    if args.block_bytes is not None:
        _network.BLOCK_BYTES = args.block_bytes
    # before JAX is imported: XLA reads its thread settings once
    os.environ.setdefault(
        "XLA_FLAGS",
        f"--xla_cpu_multi_thread_eigen={'true' if args.threads > 1 else 'false'} "
        f"intra_op_parallelism_threads={args.threads}",
    )
    threadpool_limits(args.threads)
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        pass
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
    peer_rows = []
    for name, model in models.items():
        peers = {"jax.jit": jax_calls(model), "torch.func": torch_calls(model)}
        peers = {lib: calls for lib, calls in peers.items() if calls is not None}
        n_rows = 1
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
            # the peers get the same values: flat weights, outputs as (n, n_outputs)
            args_of = {
                "pred": (w.ravel(), X),
                "fwd": (w.ravel(), dw.ravel(), X, dx),
                "grad": (w.ravel(), X, py.reshape(n_rows, -1)),
            }

            def timed(fns, single=n_rows == 1, a=args_of, convert=None):
                if convert is not None:
                    a = {k: tuple(convert(v) for v in values) for k, values in a.items()}
                if single:
                    return {
                        k: one_row_time(partial(fn, *a[k]), args.one_row_calls, args.repeat)
                        for k, fn in fns.items()
                    }
                return {k: best_time(partial(fn, *a[k]), args.repeat) for k, fn in fns.items()}

            ours = timed({k: (lambda *_, fn=fn: fn()) for k, fn in calls.items()})
            if n_rows > 1:
                mem = {k: peak_memory(fn) / 2**20 for k, fn in calls.items()}
                print(
                    f"{name:<18}{model.n_weights_:>8}{n_rows:>9}{ours['pred']:>11.4f}"
                    f"{ours['fwd']:>12.4f}{ours['grad']:>11.4f}"
                    f"{ours['fwd'] / ours['pred']:>9.2f}{ours['grad'] / ours['pred']:>10.2f}"
                    f"{mem['pred']:>9.1f}/{mem['fwd']:.1f}/{mem['grad']:.1f}"
                )
            peer_rows.append((name, n_rows, "ours", ours, ours))
            for lib, (fns, convert) in peers.items():
                peer_rows.append((name, n_rows, lib, timed(fns, convert=convert), ours))
            n_rows = 1000 if n_rows == 1 else n_rows * 10
    print(
        "\nThe same calls on the same network (flat weights, raw inputs and outputs,"
        " normalisation included;\nforward_derivative perturbs weights and inputs, gradient"
        " returns both), on --threads cores;\none row: the best of --repeat runs of"
        " --one-row-calls calls."
        " Ratio: theirs / ours (over 1: ours is faster)."
    )
    if not any(lib != "ours" for _, _, lib, _, _ in peer_rows):
        print("(neither JAX nor PyTorch is installed: `pip install jax jaxlib torch==2.13.0`)")
    head = f"{'network':<18}{'rows':>9}  {'library':<11}"
    head += f"{'predict':>11}{'fwd_deriv':>11}{'gradient':>11}"
    print(head + f"{'ratios':>22}")
    print("-" * (len(head) + 22))
    table = []
    for name, n_rows, lib, t, ours in peer_rows:
        unit, scale = ("us", 1e6) if n_rows == 1 else ("ms", 1e3)
        digits = 1 if n_rows == 1 else 2
        cells = [f"{t[k] * scale:.{digits}f} {unit}" for k in ("pred", "fwd", "grad")]
        ratios = [""] * 3 if lib == "ours" else [f"{t[k] / ours[k]:.2f}" for k in t]
        print(f"{name:<18}{n_rows:>9}  {lib:<11}{''.join(f'{c:>11}' for c in cells)}  ", end="")
        print(" ".join(f"{r:>6}" for r in ratios))
        table.append([name.split(" (")[0], f"{n_rows:,}", lib, *cells, "/".join(ratios)])
    if args.rst:
        write_table(
            args.rst,
            f"Wall time of one call on {args.threads} core{'s' if args.threads > 1 else ''};"
            " ratios: theirs over ours for"
            " predict / forward_derivative / gradient (over 1: ours is faster).",
            ["network", "rows", "library", "predict", "fwd_deriv", "gradient", "ratios"],
            [[c if c != "//" else "" for c in row] for row in table],
        )


if __name__ == "__main__":
    main()
