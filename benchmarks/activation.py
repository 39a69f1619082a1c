"""What the hidden layers' tanh costs: numpy's ``np.tanh`` against a form built on
``np.exp``, alone and inside the passes.

Run ``python benchmarks/activation.py [--rounds 6]`` (on one core: ``taskset -c 1``).
First the two functions on arrays of 3 to 10^5 values; then ``predict``,
``forward_derivative`` and ``gradient`` of the two networks of
``benchmarks/derivatives.py`` on one row (``predict`` only: below 64 rows the passes take
``np.tanh`` whatever the form, so that line shows the noise), 10^3 and 10^5 rows, and one
training step's loss and normal equations (Friedman #1, 1,500 rows), with each tanh in
turn, alternated in one process for ``--rounds`` rounds (best time kept): a machine whose
speed drifts during the run affects both alike. Ratios over 1: ``np.tanh`` is faster.

The exp form, ``tanh|z| = (1 - e) / (1 + e)`` with ``e = exp(-2|z|)`` and the sign restored
(within one epsilon of ``np.tanh``), is the network's where numpy's float64 tanh is
libm's, one value at a time (an AVX2 machine); where numpy vectorises it (AVX-512)
``np.tanh`` is. The first line printed says which this machine uses.
"""

from __future__ import annotations

import argparse
from functools import partial

import numpy as np
from derivatives import best_time, energy_model, wide_model
from sklearn.datasets import make_friedman1

from sklearn_neureco import _network
from sklearn_neureco._optimize import TrainingProblem

NETWORK_TANH = _network.TANH.apply
FORMS = (_network._exp_tanh, _network._numpy_tanh)


def refill_and_apply(apply, work: np.ndarray, z: np.ndarray) -> None:
    np.copyto(work, z)  # in place: each call starts from the same values
    apply(work)


def calls(rng) -> dict:
    """``{label: call}``: the passes whose hidden layers apply ``TANH.apply``."""
    jobs = {}
    for name, model in (("energy", energy_model()), ("10-32-16-3", wide_model(rng))):
        state = model.state_
        for rows in (1, 1_000, 100_000):
            X = rng.normal(size=(rows, model.n_features_in_)) * state.input_scale
            X += state.input_shift
            w = model.get_weights()
            dw, dx = rng.normal(size=w.shape), rng.normal(size=X.shape)
            py = rng.normal(size=(rows, model.n_outputs_))
            py = py[:, 0] if state.output_1d else py
            label = f"{name}, {rows:,} row{'s' if rows > 1 else ''}:"
            jobs[f"{label} predict"] = lambda m=model, X=X: m.predict(X)
            if rows == 1:
                continue
            jobs[f"{label} forward_derivative"] = lambda m=model, w=w, dw=dw, X=X, dx=dx: (
                m.forward_derivative(w, dw, X, dx)
            )
            jobs[f"{label} gradient"] = lambda m=model, w=w, X=X, py=py: m.gradient(w, X, py)
    X, y = make_friedman1(1500, noise=0.0, random_state=0)
    x = (X - X.mean(axis=0)) / X.std(axis=0)
    y = ((y - y.mean()) / y.std())[:, None]
    for sizes in ((10, 16, 1), (10, 32, 1), (10, 16, 8, 1)):
        network = _network.Network(sizes, _network.dense_masks(sizes))
        w = rng.normal(size=network.n_weights) / 3
        problem = TrainingProblem(network, x, y, np.full(len(x), 1 / len(x)), beta=1e-9)
        label = f"{'-'.join(map(str, sizes))} training, 1,500 rows:"
        jobs[f"{label} loss"] = lambda p=problem, w=w: p.loss(w)
        jobs[f"{label} normal equations"] = lambda p=problem, w=w: p.normal_equations(w)
    return jobs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    chosen = "np.tanh" if NETWORK_TANH is _network._numpy_tanh else "the exp form"
    print(f"The network's tanh on this machine: {chosen}\n")
    print(f"{'values':>10}{'exp form':>12}{'np.tanh':>12}{'ratio':>8}")
    for size in (3, 300, 3_000, 30_000, 100_000):
        z = rng.normal(size=size) * 2
        work = np.empty_like(z)
        costs = []
        for apply in FORMS:
            costs.append(best_time(partial(refill_and_apply, apply, work, z), 2000))
        print(
            f"{size:10,d}{costs[0] * 1e6:10.1f}us{costs[1] * 1e6:10.1f}us{costs[0] / costs[1]:8.2f}"
        )
    jobs = calls(rng)
    best = {label: [np.inf, np.inf] for label in jobs}
    try:
        for _ in range(args.rounds):
            for i, apply in enumerate(FORMS):
                object.__setattr__(_network.TANH, "apply", apply)  # a frozen dataclass
                for label, job in jobs.items():
                    repeat = 200 if ", 1 row:" in label else 3  # µs calls: more samples
                    best[label][i] = min(best[label][i], best_time(job, repeat))
    finally:
        object.__setattr__(_network.TANH, "apply", NETWORK_TANH)
    print(f"\n{'call':58}{'exp form':>10}{'np.tanh':>10}{'ratio':>7}")
    for label, (exp_form, numpy) in best.items():
        print(f"{label:58}{exp_form * 1e6:8.1f}us{numpy * 1e6:8.1f}us{exp_form / numpy:7.2f}")


if __name__ == "__main__":
    main()
