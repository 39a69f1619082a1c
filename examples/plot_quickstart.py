"""
Quick start: a compact network built from the data
==================================================

Fit :class:`~sklearn_neureco.NeurEcoRegressor` on the bundled energy-consumption data,
look at the network it chose, and compare it with scikit-learn's ``MLPRegressor``.
Nothing is tuned.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_neureco import NeurEcoRegressor
from sklearn_neureco.datasets import daily_heating_energy, load_energy_consumption

X, y = load_energy_consumption("train")
X_test, _ = load_energy_consumption("test")
y_true = daily_heating_energy(X_test)  # the noise-free physical model

start = time.perf_counter()
model = NeurEcoRegressor(random_state=0).fit(X, y)
seconds = time.perf_counter() - start
mlp = make_pipeline(StandardScaler(), MLPRegressor(solver="lbfgs", max_iter=2000, random_state=0))
mlp.fit(X, y)


def rmse(pred):
    return np.sqrt(np.mean((pred - y_true) ** 2))


n_mlp = sum(c.size for c in mlp[-1].coefs_) + sum(b.size for b in mlp[-1].intercepts_)
print(f"NeurEco: layers {model.layer_sizes_}, {model.n_weights_} weights, built in {seconds:.2f} s")
print(f"  test RMSE {rmse(model.predict(X_test)):.3f} kWh")
print(f"MLPRegressor: {n_mlp} weights, test RMSE {rmse(mlp.predict(X_test)):.3f} kWh")

# %%
# The build record: every candidate network with its errors
# ---------------------------------------------------------
for entry in model.history_:
    print(
        f"{entry['step']:<7} {str(entry['layer_sizes']):<12} {entry['n_weights']:>4} weights"
        f"  valid RMSE {entry['valid_rmse']:.2e}"
    )

# %%
# Predictions against the physical model
# --------------------------------------
fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.scatter(y_true, model.predict(X_test), s=6)
ax.plot([0, y_true.max()], [0, y_true.max()], color="k", lw=0.8)
ax.set_xlabel("physical model E [kWh/day]")
ax.set_ylabel("NeurEco prediction [kWh/day]")
fig.tight_layout()
plt.show()
