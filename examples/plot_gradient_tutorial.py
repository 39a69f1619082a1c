"""
Compute gradients: the reference product's tutorial
===================================================

This is NeurEco Tabular's "compute gradients" tutorial, run with sklearn-neureco. It
builds a model on the energy-consumption data (``x_train.csv`` and ``y_train.csv``,
``;``-separated), loads it back, computes forward and backward derivatives, and saves new
weights. What differs from the reference's script: the import line
(``from sklearn_neureco import Tabular``); the files live in a scratch folder instead of
the working one; the random perturbations come from a seeded generator; and the
tutorial's test of a ``save_status`` it never assigned is fixed. At the end, the forward
derivative is checked against finite differences.
"""

import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from sklearn_neureco import Tabular
from sklearn_neureco.datasets import data_path

folder = Path(tempfile.mkdtemp())  # the tutorial's working folder
for name in ("x_train.csv", "y_train.csv"):
    shutil.copy(data_path() / name, folder / name)
rng = np.random.default_rng(0)

# %%
# Load the data and build a model
# -------------------------------
print("Loading the training data".center(60, "*"))
x_train = np.genfromtxt(folder / "x_train.csv", delimiter=";", skip_header=True)
y_train = np.genfromtxt(folder / "y_train.csv", delimiter=";", skip_header=True)
y_train = np.reshape(y_train, (-1, 1))

print("Creating the NeurEco builder".center(60, "*"))
builder = Tabular.Regressor()
builder.build(
    input_data=x_train,
    output_data=y_train,
    # the rest of these parameters are optional
    write_model_to=folder / "EnergyConsumptionModel/EnergyConsumption.ednn",
    checkpoint_address=folder / "EnergyConsumptionModel/EnergyConsumption.checkpoint",
    valid_percentage=33.33,
    inputs_shifting="min_centered",
    inputs_scaling="max_centered",
)
print("Deleting the NeurEco builder".center(60, "*"))
status = builder.delete()

# %%
# Load the model and get its weights
# ----------------------------------
model = Tabular.Regressor()
status = model.load(folder / "EnergyConsumptionModel/EnergyConsumption")
weights = model.get_weights()
print("Weights shape: ", weights.shape)

# %%
# Forward derivative with static inputs: dy/dw . dw
# --------------------------------------------------
d_weights = 1e-2 * rng.random(weights.shape)
dy_dw = model.forward_derivative(w=weights, dw=d_weights, x=x_train, dx=None)
print("The first 10 values of dy_dw are: ", dy_dw[:10].ravel())

# %%
# Backward derivative (gradient)
# ------------------------------
d_ytrain = rng.random(y_train.shape)
dw_dy, dx_dy = model.gradient(w=weights, x=x_train, py=d_ytrain)
print("The first 3 elements of dx_dy are:", dx_dy[:3, :])
print("The first 3 elements of dw_dy are:", dw_dy[:3, :].ravel())

# %%
# Keep new weights
# ----------------
new_weights = weights + d_weights
model.set_weights(new_weights)
save_status = model.save(folder / "EnergyConsumptionModel/EnergyConsumption_NewWeights")
if save_status == 0:
    print("New model saved successfully !!!")
else:
    print("Unable to save the new model.")

# %%
# The derivatives are exact
# -------------------------
# Not part of the reference's tutorial: ``(y(w + h dw) - y(w - h dw)) / 2h`` against the
# forward derivative, on every training row (``forward_derivative`` and ``gradient`` leave
# the weights at the ``w`` they were given, as in the reference).
h = 1e-4
model.set_weights(weights + h * d_weights)
plus = model.evaluate(x_train)
model.set_weights(weights - h * d_weights)
minus = model.evaluate(x_train)
finite_difference = (plus - minus) / (2 * h)
worst = np.max(np.abs(finite_difference - dy_dw)) / np.max(np.abs(dy_dw))
print(f"largest difference, relative to the largest derivative: {worst:.1e}")

fig, ax = plt.subplots(figsize=(4.5, 4.2))
ax.scatter(finite_difference, dy_dw, s=6)
ax.plot(ax.get_xlim(), ax.get_xlim(), "k--", lw=0.8)
ax.set_xlabel("finite difference of evaluate [kWh/day]")
ax.set_ylabel("forward_derivative [kWh/day]")
ax.set_title("dy/dw . dw on the 1,000 training rows")
fig.tight_layout()
plt.show()
status = model.delete()
