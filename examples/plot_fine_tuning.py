"""
Fine-tuning the weights with a custom loss
==========================================

The building was renovated: the new measurements differ from what the model learnt.
Instead of rebuilding, fine-tune the existing network's weights on the few new points
with a loss of our own (here a relative error, robust to the scale of the energy), using
:meth:`~sklearn_neureco.NeurEcoRegressor.gradient` for the exact gradient with respect to
the weights, then keep the new weights with ``set_weights`` and ``save``.
"""

import copy
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import minimize

from sklearn_neureco import NeurEcoRegressor
from sklearn_neureco.datasets import daily_heating_energy, load_energy_consumption

X, y = load_energy_consumption()
model = NeurEcoRegressor(random_state=0).fit(X, y)

# After renovation, losses are 20 % lower and 1 kWh/day of new gains: a handful of points.
rng = np.random.default_rng(1)


def renovated(X):
    """The renovated building's measured energy."""
    E = np.maximum(0.8 * daily_heating_energy(X) - 1.0, 0.05)
    return E * (1 + 0.01 * rng.standard_normal(len(X)))


X_test = load_energy_consumption("test")[0]
X_new, X_held = X_test[:60], X_test[60:]  # tune on 60 points, check on the other 440
y_new, y_held = renovated(X_new), renovated(X_held)
eps = 1.0  # kWh: below this, relative errors are not meaningful


tuned = copy.deepcopy(model)  # the working copy whose weights the optimiser moves


def loss_and_gradient(w):
    """Mean squared relative error and its exact gradient in the weights."""
    tuned.set_weights(w)
    scale = np.abs(y_new) + eps
    r = (tuned.predict(X_new) - y_new) / scale
    pw, _ = tuned.gradient(None, X_new, r / scale / len(r))  # d(mean(r^2)/2)/dw
    return 0.5 * np.mean(r**2), pw.ravel()


w0 = model.get_weights().ravel()
before = loss_and_gradient(w0)[0]
result = minimize(loss_and_gradient, w0, jac=True, method="L-BFGS-B", options={"maxiter": 200})
print(f"relative loss: {before:.4f} before, {result.fun:.6f} after {result.nit} iterations")

tuned.set_weights(result.x)
path = tuned.save(Path(tempfile.mkdtemp()) / "renovated.ednn")
print(f"fine-tuned model saved as {path.name}")


def rmse(m, X, y):
    return np.sqrt(np.mean((m.predict(X) - y) ** 2))


# %%
# Does it hold on points it was not tuned on?
# -------------------------------------------
# 60 points could be fitted and nothing learnt: the 440 other renovated points judge it.
for name, X_, y_ in (("tuned on (60)", X_new, y_new), ("held out (440)", X_held, y_held)):
    print(
        f"{name:>15}: RMSE {rmse(model, X_, y_):.2f} kWh/day before, "
        f"{rmse(tuned, X_, y_):.2f} after"
    )

# %%
# Before and after, on the held-out measurements
# ----------------------------------------------
fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.scatter(y_held, model.predict(X_held), s=8, label="before fine-tuning")
ax.scatter(y_held, tuned.predict(X_held), s=8, label="after")
ax.plot([0, y_held.max()], [0, y_held.max()], color="k", lw=0.8)
ax.set_xlabel("measured E after renovation, held out [kWh/day]")
ax.set_ylabel("model [kWh/day]")
ax.legend()
fig.tight_layout()
plt.show()
