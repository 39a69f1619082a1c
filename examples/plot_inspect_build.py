"""
What the build did: the search, the inputs' sensitivities and the network
=========================================================================

Three displays show a fitted model, in scikit-learn's ``Display`` convention
(``from_estimator``, then ``plot`` on any axes):

* :class:`~sklearn_neureco.BuildDisplay`: every candidate network of the build, its
  training and validation error against its number of weights, the growth path, the
  pruning path and the chosen network;
* :class:`~sklearn_neureco.SensitivityDisplay`: how much the output depends on each input
  over the data, from the exact input Jacobian, in standard deviations of the output per
  standard deviation of the input, with the spread over the rows;
* :class:`~sklearn_neureco.NetworkDisplay`: the layers, the neurons and the links that
  survived pruning (wider for larger weights, blue positive, red negative).

The data are the bundled energy-consumption set (a building's daily heating energy from
seven inputs), with two inputs of pure noise added: the build disconnects them.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_neureco import BuildDisplay, NetworkDisplay, NeurEcoRegressor, SensitivityDisplay
from sklearn_neureco.datasets import load_energy_consumption

X, y = load_energy_consumption(as_frame=True)
rng = np.random.default_rng(0)
X = X.assign(noise_1=rng.normal(size=len(X)), noise_2=rng.uniform(size=len(X)))
model = NeurEcoRegressor(random_state=0).fit(X, y)
print(f"network {model.layer_sizes_}, {model.n_weights_} weights")
print("inputs kept:", list(X.columns[model.connected_inputs_]))

# %%
# The build
# ---------
# Each hidden-layer size tried is a point; the path joins the candidates as the build grew
# them, and the pruning path the links removed while the criterion allowed it.
BuildDisplay.from_estimator(model)
plt.tight_layout()
plt.show()

# %%
# The inputs' sensitivities
# -------------------------
SensitivityDisplay.from_estimator(model, X)
plt.tight_layout()
plt.show()

# %%
# The network
# -----------
NetworkDisplay.from_estimator(model)
plt.show()

# %%
# The displays draw on given axes too
# -----------------------------------
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
BuildDisplay.from_estimator(model, ax=axes[0])
NetworkDisplay.from_estimator(model, ax=axes[1])
fig.tight_layout()
plt.show()
