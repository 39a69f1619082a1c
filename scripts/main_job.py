"""The main job: build a model on the bundled data set, use its derivatives, save it.

Run ``make demo`` (or ``python scripts/main_job.py [output folder]``). It prints the
chosen network's size and accuracy against a linear model and scikit-learn's MLP, checks
one derivative against finite differences, and writes the model to
``build/energy_consumption.ednn`` (reload it with ``NeurEcoRegressor.load``).
"""

import copy
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LinearRegression

from sklearn_neureco import NeurEcoRegressor
from sklearn_neureco.datasets import (
    ENERGY_CONSUMPTION_INPUTS,
    daily_heating_energy,
    load_energy_consumption,
)


def rmse(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)))


def main(out_dir: Path) -> None:
    X, y = load_energy_consumption("train")
    X_test, y_test = load_energy_consumption("test")
    print(
        f"data: {X.shape[0]} training rows, {X_test.shape[0]} test rows, "
        f"inputs {', '.join(ENERGY_CONSUMPTION_INPUTS)}; output E [kWh/day]"
    )

    start = time.perf_counter()
    model = NeurEcoRegressor(random_state=0, verbose=1).fit(X, y)
    seconds = time.perf_counter() - start
    linear = LinearRegression().fit(X, y)
    print(f"\nbuilt in {seconds:.2f} s: layers {model.layer_sizes_}, {model.n_weights_} weights")
    truth = daily_heating_energy(X_test)
    print(
        f"test RMSE {rmse(model.predict(X_test), y_test):.4f} kWh against the measurements "
        f"(1 % noise), {rmse(model.predict(X_test), truth):.4f} kWh against the physical "
        f"model (linear model: {rmse(linear.predict(X_test), truth):.4f}; "
        f"target std: {y_test.std():.2f})"
    )

    # Derivatives: sensitivity of E to each input, and the gradient to the weights.
    J = model.jacobian(X_test)[:, 0, :]
    print("\nmean |dE/dx| over the test set:")
    for name, value in zip(ENERGY_CONSUMPTION_INPUTS, np.abs(J).mean(axis=0), strict=True):
        print(f"  {name:>7}: {value:10.4f}")
    w = model.get_weights()
    dw = 1e-2 * np.random.default_rng(0).random(w.shape)
    dy = model.forward_derivative(w, dw, X_test)
    pw, px = model.gradient(w, X_test, np.ones(len(X_test)))
    h = 1e-6
    shifted = copy.deepcopy(model)
    shifted.set_weights(w + h * dw)
    plus = shifted.predict(X_test)
    shifted.set_weights(w - h * dw)
    fd = (plus - shifted.predict(X_test)) / (2 * h)
    print(
        f"\nforward_derivative vs finite differences: max |difference| "
        f"{np.max(np.abs(dy - fd)):.2e} (|dy| up to {np.max(np.abs(dy)):.2e})"
    )
    print(
        f"dot-product test: <py, J dw> = {dy.sum():.10e}, <J^T py, dw> = "
        f"{float(np.sum(pw * dw)):.10e}"
    )
    print(f"gradient shapes: pw {pw.shape}, px {px.shape}")

    path = model.save(out_dir / "energy_consumption.ednn")
    again = NeurEcoRegressor.load(path)
    if not np.array_equal(again.predict(X_test), model.predict(X_test)):
        raise RuntimeError(f"{path} did not reload identically")
    print(f"\nmodel saved to {path} ({path.stat().st_size} bytes) and reloaded identically")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("build"))
