"""
Sensitivity analysis with the input Jacobian, and the physics' own derivative
=============================================================================

:meth:`~sklearn_neureco.NeurEcoRegressor.jacobian` gives, for every sample, the exact
derivative of each output with respect to each input, of the raw outputs in the raw
units of the inputs. Multiplied by each input's spread it ranks the inputs by influence.

These are exact derivatives of the **model**, not of the process that made the data. The
bundled energy data come from a known heat balance
(:func:`~sklearn_neureco.datasets.daily_heating_energy`), so here the two can be compared:
they agree where the data say something about the slope, and part where they do not.
"""

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import expit

from sklearn_neureco import NeurEcoRegressor
from sklearn_neureco.datasets import (
    ENERGY_CONSUMPTION_INPUTS,
    daily_heating_energy,
    load_energy_consumption,
)

X, y = load_energy_consumption()
model = NeurEcoRegressor(random_state=0).fit(X, y)
J = model.jacobian(X)[:, 0, :]  # (n_samples, n_inputs): dE/dx_j

influence = np.abs(J).mean(axis=0) * X.std(axis=0)  # kWh per standard deviation
order = np.argsort(influence)
for j in order[::-1]:
    print(f"{ENERGY_CONSUMPTION_INPUTS[j]:>7}: {influence[j]:6.2f} kWh/day per std")

# %%
# The physical model's derivative
# -------------------------------
# The heat balance gives ``E = 0.024 * 200 * softplus((H (T_set - T_out) - G) / 200)``, so
# ``dE/dT_out = -0.024 H sigmoid(balance / 200)``: minus the heat-loss coefficient while
# the building is heated, and zero once the free gains cover the losses (heating off).
t_out, t_set, u_wall, a_win, ach = X.T
h = 150.0 * u_wall + 1.4 * a_win + 1200.0 * ach * 300.0 / 3600.0
balance = h * (t_set - t_out) - (400.0 + 30.0 * a_win)
physical = -0.024 * h * expit(balance / 200.0)
energy = daily_heating_energy(X)

heated = energy > 5.0  # kWh/day: the heating clearly on
for name, rows in (("heating on (E > 5 kWh)", heated), ("heating nearly off", ~heated)):
    gap = np.sqrt(np.mean((J[rows, 0] - physical[rows]) ** 2))
    print(f"{name:>24}: {rows.sum():4d} rows, RMSE of dE/dT_out {gap:.3f} kWh/day/K")

# %%
# Influence of each input, and the model's dE/dT_out against the physics'
# -------------------------------------------------------------------------
# Where the building is heated, the model's derivative follows the physics' closely. Where
# heating is (nearly) off, there are few rows (36 of 1,000 here) and the energy bends from
# a steep slope to zero within a few degrees: the network, a smooth function fitted to the
# squared error over all rows, has little there to fit its slope to, and overshoots it
# around the bend. A derivative of a fitted model is only as good as the data around the
# point where it is taken.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
ax1.barh([ENERGY_CONSUMPTION_INPUTS[j] for j in order], influence[order])
ax1.set_xlabel("mean |dE/dx| x std(x) [kWh/day]")
points = ax2.scatter(physical, J[:, 0], s=5, c=energy, cmap="viridis")
lims = [min(physical.min(), J[:, 0].min()), max(physical.max(), J[:, 0].max())]
ax2.plot(lims, lims, "k--", lw=1, label="model = physics")
ax2.set_xlabel("physical dE/dT_out [kWh/day/K]")
ax2.set_ylabel("model's dE/dT_out [kWh/day/K]")
ax2.legend(loc="upper left")
fig.colorbar(points, ax=ax2, label="physical E [kWh/day]")
fig.tight_layout()
plt.show()
