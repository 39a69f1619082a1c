"""
Inverse design: find inputs that reach a target output
======================================================

A fitted model is a differentiable function of its inputs, so ``scipy.optimize`` can
search the inputs that give a wanted output, with the exact gradient from
:meth:`~sklearn_neureco.NeurEcoRegressor.gradient` as the Jacobian.

Here: for a building with a given climate and set point, which wall insulation
(``U_wall``) and ventilation rate (``ach``) keep the daily heating energy at 25 kWh,
staying as close as possible to a nominal design?
"""

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import minimize

from sklearn_neureco import NeurEcoRegressor
from sklearn_neureco.datasets import (
    ENERGY_CONSUMPTION_BOUNDS,
    daily_heating_energy,
    load_energy_consumption,
)

X, y = load_energy_consumption()
model = NeurEcoRegressor(random_state=0).fit(X, y)

fixed = {"T_out": 0.0, "T_set": 21.0, "A_win": 20.0}
nominal = np.array([1.0, 1.0])  # U_wall, ach
target = 25.0
bounds = [ENERGY_CONSUMPTION_BOUNDS[2], ENERGY_CONSUMPTION_BOUNDS[4]]


def full_input(z):
    return np.array([[fixed["T_out"], fixed["T_set"], z[0], fixed["A_win"], z[1]]])


def objective(z):
    """Squared miss of the target, plus a small pull towards the nominal design."""
    x = full_input(z)
    miss = model.predict(x)[0] - target
    _, px = model.gradient(None, x, np.array([miss]))  # d(miss^2/2)/dx = miss * dy/dx
    pull = 1e-2 * (z - nominal)
    value = 0.5 * miss**2 + 0.5e-2 * np.sum((z - nominal) ** 2)
    return value, px[0, [2, 4]] + pull


path = [nominal.copy()]
result = minimize(
    objective, nominal, jac=True, method="L-BFGS-B", bounds=bounds, callback=path.append
)
u_wall, ach = result.x
print(f"U_wall = {u_wall:.3f} W/m2K, ach = {ach:.3f} 1/h")
print(
    f"model: {model.predict(full_input(result.x))[0]:.2f} kWh, "
    f"physical model: {daily_heating_energy(full_input(result.x))[0]:.2f} kWh "
    f"(target {target} kWh)"
)

# %%
# The search on the model's map of the energy
# -------------------------------------------
u = np.linspace(*bounds[0], 80)
a = np.linspace(*bounds[1], 80)
U, A = np.meshgrid(u, a)
grid = np.column_stack(
    [
        np.full(U.size, fixed["T_out"]),
        np.full(U.size, fixed["T_set"]),
        U.ravel(),
        np.full(U.size, fixed["A_win"]),
        A.ravel(),
    ]
)
E = model.predict(grid).reshape(U.shape)
fig, ax = plt.subplots(figsize=(5.5, 4.5))
contours = ax.contourf(U, A, E, levels=20)
ax.contour(U, A, E, levels=[target], colors="w")
path = np.array(path)
ax.plot(path[:, 0], path[:, 1], "r.-", label="L-BFGS-B path")
ax.set_xlabel("U_wall [W/m2K]")
ax.set_ylabel("ach [1/h]")
ax.legend(loc="upper right")
fig.colorbar(contours, label="E [kWh/day]")
fig.tight_layout()
plt.show()
