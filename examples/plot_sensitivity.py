"""
Sensitivity analysis with the input Jacobian
============================================

:meth:`~sklearn_neureco.NeurEcoRegressor.jacobian` gives, for every sample, the exact
derivative of each output with respect to each input, of the raw outputs in the raw
units of the inputs. Multiplied by each input's spread it ranks the inputs by influence,
and its value along one input shows how that influence changes.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_neureco import NeurEcoRegressor
from sklearn_neureco.datasets import ENERGY_CONSUMPTION_INPUTS, load_energy_consumption

X, y = load_energy_consumption()
model = NeurEcoRegressor(random_state=0).fit(X, y)
J = model.jacobian(X)[:, 0, :]  # (n_samples, n_inputs): dE/dx_j

influence = np.abs(J).mean(axis=0) * X.std(axis=0)  # kWh per standard deviation
order = np.argsort(influence)
for j in order[::-1]:
    print(f"{ENERGY_CONSUMPTION_INPUTS[j]:>7}: {influence[j]:6.2f} kWh/day per std")

# %%
# Influence of each input, and dE/dT_out along T_out
# --------------------------------------------------
# The heat balance makes dE/dT_out proportional to the building's heat-loss coefficient:
# the better insulated the walls (low U_wall), the less the outdoor temperature matters,
# and its effect fades where the free gains nearly cover the losses.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.8))
ax1.barh([ENERGY_CONSUMPTION_INPUTS[j] for j in order], influence[order])
ax1.set_xlabel("mean |dE/dx| x std(x) [kWh/day]")
ax2.scatter(X[:, 0], J[:, 0], s=4, c=X[:, 2], cmap="viridis")
ax2.set_xlabel("T_out [degC]")
ax2.set_ylabel("dE/dT_out [kWh/day/K]")
ax2.set_title("colour: U_wall", fontsize=9)
fig.tight_layout()
plt.show()
